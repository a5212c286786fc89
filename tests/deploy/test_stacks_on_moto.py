"""The four stacks of deploy/cloudformation/ deployed by deploy.sh, with the AWS CLI, on moto's CloudFormation on
loopback, then the platform run against what they made: the host's environment file from the stacks' SSM
parameters and secret, Sparkify from the stack's lake bucket, an NYC-taxi month through the stack's Glue job and
EMR Serverless application with its partitions in the stack's catalog, and a container task on the stack's
cluster, subnets, security group and log group.

moto creates what it models and skips the rest (tests/deploy/stacks.py): each stack's skipped resources must be
known gaps; the ones the platform uses at run time are created from the template's own properties, as
CloudFormation would have. Not verified here: IAM (moto does not enforce it), the host's user data (nothing boots),
the schedules firing, ECS services running, Spark reading s3:// (the Glue and EMR runs read a local copy).
"""

import json
import os
import secrets as random
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.deploy import stacks

REPO = Path(__file__).resolve().parents[2]
AWS_CLI = REPO / ".tools" / "awscli" / "bin" / "aws"
DEPLOY_SH = stacks.TEMPLATES / "deploy.sh"
STACKS = ("data", "compute", "host", "ecs-service")
REGION = "us-east-1"


class Deployed:
    """The deployed stacks: each one's parsed template, resolver (its parameters and physical ids), outputs, what
    moto skipped and what the test created instead; `client` reaches the moto server."""

    def __init__(self, project: str, endpoint: str, environ: dict[str, str]):
        self.project, self.endpoint, self.environ = project, endpoint, environ
        self.session = self  # create_skipped asks it for clients
        self.templates, self.resolvers, self.outputs, self.missing, self.created, self.status = ({} for _ in range(6))
        self._aws = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )

    def client(self, service: str):
        return self._aws.client(service, endpoint_url=self.endpoint)


@pytest.fixture(scope="module")
def deployed(s3_endpoint, tmp_path_factory):
    project = f"dp{random.token_hex(4)}"  # the moto server lives for the session: names of this module's own
    environ = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    assert AWS_CLI.exists(), "the AWS CLI's tool virtualenv is missing: make .tools/awscli/.installed"
    with stacks.outputs_after_change_sets():
        done = subprocess.run(
            ["bash", str(DEPLOY_SH)],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                **environ,
                "AWS_CLI": str(AWS_CLI),
                "PROJECT_NAME": project,
                "STACKS": " ".join(STACKS),
                "DATA_PARAMETERS": f"CatalogDatabaseName={project}_lake",
                "COMPUTE_PARAMETERS": "GitHubRepository=example/data-platform",
                "PLATFORM_IMAGE_TAG": "v1.2.3",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    world = Deployed(project, s3_endpoint, environ)
    cloudformation = world.client("cloudformation")
    for stack in STACKS:
        name = f"{project}-{stack}"
        [description] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in description["Parameters"]}
        template = stacks.load(stacks.TEMPLATES / f"{stack}.yaml")
        resolver = stacks.Resolver(template, {**parameters, "AWS::StackName": name})
        physical = stacks.created_by_moto(name)
        resolver.physical.update(physical)
        world.templates[stack], world.resolvers[stack] = template, resolver
        world.outputs[stack] = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        world.missing[stack] = stacks.not_created(template, resolver, physical)
        world.status[stack] = description["StackStatus"]
    return world


@pytest.fixture(scope="module")
def completed(deployed):
    """What moto skipped and the platform uses at run time, created from the templates' properties; the EMR
    application's id written where CloudFormation would have resolved it (moto leaves `${EmrApplication}`)."""
    for stack in ("data", "compute"):
        deployed.created[stack] = stacks.create_skipped(
            deployed.session, deployed.templates[stack], deployed.resolvers[stack], deployed.missing[stack]
        )
    application = deployed.created["compute"]["EmrApplication"]
    deployed.client("ssm").put_parameter(
        Name=f"/{deployed.project}/env/NYC_TAXI_EMR_APPLICATION_ID", Value=application, Type="String", Overwrite=True
    )
    return deployed


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_is_created_and_what_moto_skips_is_a_known_gap(deployed, stack):
    assert deployed.status[stack] == "CREATE_COMPLETE"
    stacks.check_known_gaps(stack, deployed.missing[stack])
    # Every output whose resources exist is there: the next stack and the platform read them by name.
    template, resolver = deployed.templates[stack], deployed.resolvers[stack]
    skipped = set(deployed.missing[stack])
    expected = {
        key
        for key, output in template.get("Outputs", {}).items()
        if ("Condition" not in output or resolver.condition(output["Condition"]))
        and not skipped & set(json.dumps(output["Value"]).replace('"', " ").replace("${", " ").replace("}", " ").split())
    }
    assert expected <= set(deployed.outputs[stack]), expected - set(deployed.outputs[stack])


def test_the_stacks_hand_each_other_their_outputs(deployed):
    data, compute, host = (deployed.resolvers[s].parameters for s in ("data", "compute", "host"))
    assert compute["LakeBucket"] == deployed.outputs["data"]["LakeBucket"]
    assert compute["SparkBucket"] == deployed.outputs["data"]["SparkBucket"]
    assert host["PipelineInstanceProfile"] == deployed.outputs["compute"]["PipelineInstanceProfile"]
    assert host["PlatformImageRepository"] == deployed.outputs["compute"]["PlatformImageRepository"]
    assert host["PlatformImageTag"] == "v1.2.3"
    image = deployed.client("ssm").get_parameter(Name=f"/{deployed.project}/host/platform-image")["Parameter"]
    assert image["Value"] == f"{deployed.outputs['compute']['PlatformImageRepository']}:v1.2.3"
    [instance] = [
        i
        for r in deployed.client("ec2").describe_instances(InstanceIds=[deployed.outputs["host"]["InstanceId"]])[
            "Reservations"
        ]
        for i in r["Instances"]
    ]
    # moto ignores the launch template's subnet and instance profile: tests/deploy/test_host_template.py checks them.
    assert instance["ImageId"] == host["AmiId"]


def test_a_type_moto_does_not_create_and_no_gap_names_fails_the_check(deployed, tmp_path):
    template = (stacks.TEMPLATES / "data.yaml").read_text()
    copy = tmp_path / "data.yaml"
    copy.write_text(
        template.replace(
            "\nResources:\n",
            "\nResources:\n  QueryWorkgroup:\n    Type: AWS::Athena::WorkGroup\n    Properties:\n      Name: lake\n",
            1,
        )
    )
    name = f"{deployed.project}-copy"
    cloudformation = deployed.client("cloudformation")
    stacks.create_stack(cloudformation, name, copy, {"ProjectName": f"{deployed.project}c"})
    parsed = stacks.load(copy)
    resolver = stacks.Resolver(parsed, {"ProjectName": f"{deployed.project}c", "AWS::StackName": name})
    missing = stacks.not_created(parsed, resolver, stacks.created_by_moto(name))

    assert stacks.unexpected_gaps(missing) == {"QueryWorkgroup": "AWS::Athena::WorkGroup"}
    with pytest.raises(AssertionError, match=r"did not create \{'QueryWorkgroup': 'AWS::Athena::WorkGroup'\}"):
        stacks.check_known_gaps(name, missing)


def env_file(world: Deployed, tmp_path: Path) -> dict[str, str]:
    """The host's boot step, `python -m pipeline env-file`, over the stacks' parameters and secret."""
    out = tmp_path / "env"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "env-file",
            "--ssm-path",
            f"/{world.project}/env/",
            "--secret",
            f"{world.project}/env",
            "--output",
            str(out),
        ],
        cwd=REPO,
        env={**os.environ, **world.environ},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    script = f"set -a; . {out}; python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    exported = json.loads(subprocess.run(["env", "-i", "bash", "-c", script], capture_output=True, text=True).stdout)
    return {k: v for k, v in exported.items() if k not in {"PWD", "SHLVL", "_"}}


def test_the_hosts_environment_file_holds_what_the_stacks_made(completed, tmp_path):
    env = env_file(completed, tmp_path)
    data, compute = completed.outputs["data"], completed.outputs["compute"]
    assert env["SPARKIFY_DATA_URI"] == data["SparkifyDataUri"] == f"s3://{data['LakeBucket']}/sparkify"
    assert env["NYC_TAXI_DATA_URI"] == data["NycTaxiDataUri"]
    assert env["NYC_TAXI_SPARK_SCRIPT_URI"] == f"s3://{data['SparkBucket']}/jobs/month_job.py"
    assert env["NYC_TAXI_GLUE_DATABASE"] == f"{completed.project}_lake"
    assert env["NYC_TAXI_GLUE_JOB"] == compute["GlueJobName"] == completed.created["compute"]["GlueJob"]
    assert env["NYC_TAXI_EMR_APPLICATION_ID"] == completed.created["compute"]["EmrApplication"]
    assert env["TASKS_ECS_CLUSTER"] == compute["TasksCluster"]
    assert env["TASKS_ECS_SUBNETS"] == compute["PublicSubnets"]
    assert env["TASKS_ECS_LOG_GROUP"] == compute["TasksLogGroup"]
    assert env["DAGSTER_COMPUTE_LOGS_BUCKET"] == data["LakeBucket"]
    assert env["REDSHIFT_COPY_ROLE_ARN"] == compute["RedshiftCopyRoleArn"]
    assert len(env["DAGSTER_PG_PASSWORD"]) > 0  # the secret's generated value; the template holds none

    # Every value is a valid setting: the code location builds from this environment.
    from pipeline.code_location import build_pipelines, definitions_of
    from pipeline.lib.settings import Settings

    settings, pipelines = build_pipelines(Settings.from_env({**env, "WAREHOUSE": "duckdb"}))
    keys = {key.to_user_string() for key in definitions_of(settings, pipelines).resolve_all_asset_keys()}
    assert {"staging/staging_events", "raw/weather", "staging/green_trips", "tasks/top_songs"} <= keys
