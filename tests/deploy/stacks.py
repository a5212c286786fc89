"""The CloudFormation stacks of deploy/cloudformation/ on moto's CloudFormation (a server on loopback): create a stack,
wait for CREATE_COMPLETE, and find what moto did not create.

moto skips the resource types it does not model, and the stack still completes. `not_created` lists every resource
of the template that has no physical resource in the stack (conditions evaluated), and `unexpected_gaps` those whose
type is not in KNOWN_GAPS, so a new type moto cannot create fails the test by name instead of passing unnoticed.
What moto skips is checked on the parsed template instead (tests/deploy/test_stack_templates.py), and the few the
platform needs at run time are created through moto's service APIs from the template's own properties
(`create_skipped`), as the service would.
"""

import contextlib
import json
import re
import time
from collections.abc import Mapping
from pathlib import Path

from cfnlint.decode import cfn_yaml

TEMPLATES = Path(__file__).resolve().parents[2] / "deploy" / "cloudformation"

# Types moto's CloudFormation (5.2) accepts without creating anything, and what covers them here instead.
KNOWN_GAPS = {
    "AWS::Glue::Database": "created from its DatabaseInput by create_skipped; properties checked on the template",
    "AWS::Glue::Table": "created from its TableInput by create_skipped; columns checked against the pipeline's",
    "AWS::Glue::Job": "created from its properties by create_skipped; role and script checked on the template",
    "AWS::EMRServerless::Application": "created by create_skipped; release and auto-stop checked on the template",
    "AWS::SecretsManager::Secret": "created by create_skipped (a generated value); no value in the template",
    "AWS::S3::BucketPolicy": "the TLS-only statement checked on the template",
    "AWS::Scheduler::Schedule": "crons, time zone and target checked on the template",
    "AWS::IAM::OIDCProvider": "GitHub's issuer and audience checked on the template",
    "AWS::ServiceDiscovery::HttpNamespace": "the services' Service Connect name checked on the template",
    "AWS::CloudFormation::WaitConditionHandle": "an empty handle: it only orders the load balancer's listener",
}
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}


def load(template: Path) -> dict:
    """The template as plain dicts and lists, the short forms (!Ref, !Sub) in their long form."""
    return json.loads(json.dumps(cfn_yaml.load(str(template))))


@contextlib.contextmanager
def outputs_after_change_sets():
    """moto (5.2) creates a stack's resources from an executed change set, which is how `aws cloudformation deploy`
    creates a stack, but leaves its outputs empty (they are read from the empty template the stack was made with).
    This completes the double, in this process's moto server: after an execution, the outputs are read from the
    template the change set applied, as CloudFormation does."""
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def execute_then_read_outputs(self, change_set_name, stack_name=None):
        execute(self, change_set_name, stack_name)
        for stack in self.stacks.values():
            if stack.status.endswith("_COMPLETE") and stack.template:
                stack._parse_template()
                stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_then_read_outputs
    try:
        yield
    finally:
        CloudFormationBackend.execute_change_set = execute


class Resolver:
    """Intrinsic functions over one stack: parameters (given, else defaults), conditions, and the physical ids of
    what the stack created. Enough for the templates here; an unknown function fails by name."""

    def __init__(self, template: dict, parameters: Mapping[str, str], created: Mapping[str, object] = ()):
        self.template = template
        self.created = dict(created)  # moto's models: their physical ids and attributes
        defaults = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
        self.parameters = {**{k: str(v) for k, v in defaults.items() if v is not None}, **parameters}
        self.physical = {k: str(getattr(v, "physical_resource_id", None) or k) for k, v in self.created.items()}
        self.stack_name = self.parameters.get("AWS::StackName", "stack")

    def condition(self, name: str) -> bool:
        return bool(self(self.template["Conditions"][name]))

    def __call__(self, node):
        if isinstance(node, list):
            return [v for v in (self(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, arg)] = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))
                return re.sub(
                    r"\$\{([^}!]+)\}", lambda m: str(names.get(m[1]) if m[1] in names else self.ref(m[1])), text
                )
            if key == "Fn::Join":
                return arg[0].join(str(v) for v in self(arg[1]))
            if key == "Fn::Select":
                return self(arg[1])[int(self(arg[0]))]
            if key == "Fn::Split":
                return self(arg[1]).split(arg[0])
            if key == "Fn::If":
                return self(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self(arg[0]) == self(arg[1])
            if key == "Fn::Not":
                return not self(arg[0])
            if key == "Fn::And":
                return all(self(a) for a in arg)
            if key == "Fn::Or":
                return any(self(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAZs":
                return ["us-east-1a", "us-east-1b", "us-east-1c"]
            if key == "Fn::GetAtt":
                logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.created[logical].get_cfn_attribute(attribute)
            if key == "Fn::Base64":
                return self(arg)
            if key.startswith("Fn::"):
                raise NotImplementedError(f"{key} is not resolved by tests/deploy/stacks.py")
        return {k: v for k, v in ((k, self(v)) for k, v in node.items()) if v is not _NO_VALUE}

    def ref(self, name: str):
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name == "AWS::StackName":
            return self.stack_name
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical.get(name, name)


_NO_VALUE = object()


def expected_resources(template: dict, resolver: Resolver) -> dict[str, str]:
    """{logical id: type} of the resources the template creates with these parameters."""
    return {
        logical: resource["Type"]
        for logical, resource in template["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


def create_stack(cloudformation, stack_name: str, template: Path, parameters: Mapping[str, str]) -> dict[str, str]:
    """Create the stack, wait for CREATE_COMPLETE, return its outputs. A failure raises with the stack's events."""
    body = template.read_text()
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    deadline = time.monotonic() + 120
    while True:
        [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in events]
        raise AssertionError(f"{stack_name}: {stack['StackStatus']}: {reasons}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def moto_resources(stack_name: str, region: str = "us-east-1") -> dict:
    """{logical id: moto's model} of what moto created for the stack. Read from the moto server's own state (it
    runs in this process): DescribeStackResources leaves out the logical id of some types it does create (security
    group ingress rules, RDS subnet groups), so the API cannot tell a skipped resource from those."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    backend = cloudformation_backends[DEFAULT_ACCOUNT_ID][region]
    [stack] = [s for s in backend.stacks.values() if s.name == stack_name]
    return {
        logical: resource
        for logical, resource in stack.resource_map._parsed_resources.items()
        if resource is not None and not logical.startswith("AWS::")
    }


def not_created(template: dict, resolver: Resolver, created: Mapping[str, str]) -> dict[str, str]:
    """{logical id: type} of what the template creates and moto did not."""
    return {k: t for k, t in expected_resources(template, resolver).items() if k not in created}


def unexpected_gaps(missing: Mapping[str, str]) -> dict[str, str]:
    return {logical: kind for logical, kind in missing.items() if kind not in KNOWN_GAPS}


def check_known_gaps(stack_name: str, missing: Mapping[str, str]) -> None:
    """Fails, naming each, when moto left out a resource whose type is not a known gap."""
    unexpected = unexpected_gaps(missing)
    assert not unexpected, (
        f"{stack_name}: moto's CloudFormation did not create {unexpected}: a type it does not model. Check what "
        "the resource does on the parsed template and add the type to KNOWN_GAPS in tests/deploy/stacks.py, with how."
    )


def create_skipped(session, template: dict, resolver: Resolver, missing: Mapping[str, str]) -> dict[str, str]:
    """Create, through the service APIs, the skipped resources the platform uses at run time, from the template's
    own properties; returns {logical id: physical id} (a name, an ARN or an application id)."""
    created: dict[str, str] = {}
    order = [
        "AWS::Glue::Database",
        "AWS::Glue::Table",
        "AWS::Glue::Job",
        "AWS::EMRServerless::Application",
        "AWS::SecretsManager::Secret",
    ]
    for kind in order:
        for logical in [k for k, t in missing.items() if t == kind]:
            properties = resolver(template["Resources"][logical].get("Properties", {}))
            created[logical] = _create(session, kind, properties)
            resolver.physical[logical] = created[logical]
    return created


def _create(session, kind: str, p: dict) -> str:
    if kind == "AWS::Glue::Database":
        session.client("glue").create_database(DatabaseInput=p["DatabaseInput"])
        return p["DatabaseInput"]["Name"]
    if kind == "AWS::Glue::Table":
        session.client("glue").create_table(DatabaseName=p["DatabaseName"], TableInput=p["TableInput"])
        return p["TableInput"]["Name"]
    if kind == "AWS::Glue::Job":
        names = {"Name", "Role", "Command", "DefaultArguments", "GlueVersion", "WorkerType", "Timeout", "MaxRetries"}
        arguments = {k: v for k, v in p.items() if k in names}
        for number in ("Timeout", "MaxRetries"):  # a template's numbers may be strings (parameters)
            if number in arguments:
                arguments[number] = int(arguments[number])
        if "NumberOfWorkers" in p:
            arguments["NumberOfWorkers"] = int(p["NumberOfWorkers"])
        if "ExecutionProperty" in p:
            arguments["ExecutionProperty"] = {"MaxConcurrentRuns": int(p["ExecutionProperty"]["MaxConcurrentRuns"])}
        session.client("glue").create_job(**arguments)
        return p["Name"]
    if kind == "AWS::EMRServerless::Application":
        # moto accepts the engine upper-cased only (the service and the template take "Spark").
        arguments = {"name": p["Name"], "releaseLabel": p["ReleaseLabel"], "type": p["Type"].upper()}
        return session.client("emr-serverless").create_application(**arguments)["applicationId"]
    if kind == "AWS::SecretsManager::Secret":
        generate = p.get("GenerateSecretString")
        value = p.get("SecretString")
        if generate:
            values = json.loads(generate.get("SecretStringTemplate", "{}"))
            values[generate["GenerateStringKey"]] = "generated-by-the-test-double"
            value = json.dumps(values)
        return session.client("secretsmanager").create_secret(Name=p["Name"], SecretString=value or "{}")["ARN"]
    raise NotImplementedError(kind)
