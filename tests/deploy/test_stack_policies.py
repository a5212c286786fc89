"""The CloudFormation stacks against deploy/iam and the platform's layout, on the parsed templates: every policy in
compute.yaml is deploy/iam's JSON file statement for statement (its Fn::Sub variables read as the file's
placeholders), and what moto's CloudFormation silently skips (bucket policies, Glue, EMR Serverless, the secret,
the OIDC provider) is checked here, since a stack test on moto cannot see it.
"""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from cfnlint.decode import decode

from pipeline.defs.nyc_taxi import layout

REPO = Path(__file__).resolve().parents[2]
STACKS = REPO / "deploy" / "cloudformation"
IAM = REPO / "deploy" / "iam"

# The one table: a Fn::Sub variable of compute.yaml (a parameter, a resource's Ref, a pseudo-parameter, or a name
# a variable map binds) -> the placeholder deploy/iam's files use for the same value (filled in with envsubst).
PLACEHOLDERS = {
    "AWS::AccountId": "ACCOUNT_ID",
    "AWS::Region": "AWS_REGION",
    "ProjectName": "PROJECT_NAME",
    "LakeBucket": "LAKE_BUCKET",
    "LakePrefix": "LAKE_PREFIX",
    "ApiDataBucket": "API_DATA_BUCKET",
    "ApiDataPrefix": "API_DATA_PREFIX",
    "ComputeLogsBucket": "COMPUTE_LOGS_BUCKET",
    "ComputeLogsPrefix": "COMPUTE_LOGS_PREFIX",
    "ManifestBucket": "MANIFEST_BUCKET",
    "ManifestPrefix": "MANIFEST_PREFIX",
    "TaxiBucket": "TAXI_BUCKET",
    "TaxiPrefix": "TAXI_PREFIX",
    "TasksDataBucket": "TASKS_DATA_BUCKET",
    "TasksDataPrefix": "TASKS_DATA_PREFIX",
    "SparkBucket": "SPARK_BUCKET",
    "CatalogDatabase": "CATALOG_DATABASE",
    "PipelineRole": "PIPELINE_ROLE_NAME",
    "RedshiftCopyRole": "COPY_ROLE_NAME",
    "SparkJobRole": "SPARK_JOB_ROLE_NAME",
    "GlueJob": "GLUE_JOB_NAME",
    "EmrApplication": "EMR_APPLICATION_ID",
    "TasksCluster": "TASKS_CLUSTER",
    "TasksLogGroup": "TASKS_LOG_GROUP",
    "TasksRolePrefix": "TASKS_ROLE_PREFIX",
    "TasksExecutionRole": "TASKS_EXECUTION_ROLE_NAME",
    "TasksSecretsPath": "TASKS_SECRETS_PATH",
}
# What a variable map binds each name to, the same in every statement: the stack keeps every store in the lake
# bucket, under the prefixes of the data stack's URIs.
BINDINGS = {
    "LakePrefix": "sparkify",
    "ApiDataBucket": {"Ref": "LakeBucket"},
    "ApiDataPrefix": "api_data",
    "ComputeLogsBucket": {"Ref": "LakeBucket"},
    "ComputeLogsPrefix": "dagster/compute-logs",
    "ManifestBucket": {"Ref": "LakeBucket"},
    "ManifestPrefix": "redshift-manifests",
    "TaxiBucket": {"Ref": "LakeBucket"},
    "TaxiPrefix": "nyc",
    "TasksDataBucket": {"Ref": "LakeBucket"},
    "TasksDataPrefix": "tasks",
    "TasksRolePrefix": {"Fn::Sub": "${ProjectName}-task-"},
    "TasksSecretsPath": "tasks",
}
# deploy/iam's file -> where compute.yaml holds the same document (resource, then the path to it).
DOCUMENTS = {
    "pipeline-policy.json": ("PipelinePolicy", "PolicyDocument"),
    "nyc-taxi-pipeline-policy.json": ("NycTaxiPipelinePolicy", "PolicyDocument"),
    "tasks-pipeline-policy.json": ("TasksPipelinePolicy", "PolicyDocument"),
    "redshift-copy-role-policy.json": ("RedshiftCopyRole", "Policies", 0, "PolicyDocument"),
    "redshift-copy-trust-policy.json": ("RedshiftCopyRole", "AssumeRolePolicyDocument"),
    "nyc-taxi-spark-job-policy.json": ("SparkJobRole", "Policies", 0, "PolicyDocument"),
    "nyc-taxi-spark-job-trust-policy.json": ("SparkJobRole", "AssumeRolePolicyDocument"),
    "tasks-execution-role-policy.json": ("TasksExecutionRole", "Policies", 0, "PolicyDocument"),
    "tasks-ecs-trust-policy.json": ("TasksExecutionRole", "AssumeRolePolicyDocument"),
    "tasks-role-boundary-policy.json": ("TasksRoleBoundary", "PolicyDocument"),
}
# Files the stack does not hold: the Snowflake integration's role trusts a principal Snowflake makes first.
NOT_IN_THE_STACK = {"snowflake-storage-integration-policy.json"}
# Documents only the stack has: the host's trust, CI/CD's roles (no manual path needs them).
STACK_ONLY = {
    ("PipelineRole", "AssumeRolePolicyDocument"),
    ("DeployRole", "AssumeRolePolicyDocument"),
    ("DeployRole", "Policies", 0, "PolicyDocument"),
    ("CloudFormationRole", "AssumeRolePolicyDocument"),
    ("CloudFormationRole", "Policies", 0, "PolicyDocument"),
}
# layout.py's logical types as the Glue catalog's (Hive) types.
GLUE_TYPES = {"integer": "int", "bigint": "bigint", "double": "double", "text": "string", "timestamp": "timestamp"}


def template(name: str) -> dict:
    parsed, problems = decode(str(STACKS / name))
    assert not problems, problems
    return json.loads(json.dumps(parsed))  # cfn-lint's nodes as plain dicts, lists and strings


@pytest.fixture(scope="module")
def compute() -> dict:
    return template("compute.yaml")


@pytest.fixture(scope="module")
def data() -> dict:
    return template("data.yaml")


def _at(resources: dict, where: tuple):
    node = resources[where[0]]["Properties"]
    for step in where[1:]:
        node = node[step]
    return node


def _substituted(text: str) -> str:
    def placeholder(found: re.Match) -> str:
        assert found[1] in PLACEHOLDERS, f"${{{found[1]}}} has no placeholder in PLACEHOLDERS"
        return "${" + PLACEHOLDERS[found[1]] + "}"

    return re.sub(r"\$\{([^!}][^}]*)\}", placeholder, text)


def placeholder_form(node):
    """A policy of the template as deploy/iam writes it: each Fn::Sub a string with the files' placeholders."""
    if isinstance(node, list):
        return [placeholder_form(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::Sub"}:
        value = node["Fn::Sub"]
        if isinstance(value, list):
            value, variables = value
            for name, bound in variables.items():
                assert BINDINGS.get(name) == bound, f"{name} is bound to {bound!r}, not {BINDINGS.get(name)!r}"
        return _substituted(value)
    intrinsic = [key for key in node if key == "Ref" or key.startswith("Fn::")]
    assert not intrinsic, f"a policy says {node}: write it as a Fn::Sub the files' placeholders can stand for"
    return {key: placeholder_form(value) for key, value in node.items()}


def test_every_policy_of_the_stack_is_a_deploy_iam_file_or_stack_only(compute):
    found = set()
    for name, resource in compute["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            found.add((name, "AssumeRolePolicyDocument"))
            found |= {(name, "Policies", i, "PolicyDocument") for i in range(len(properties.get("Policies", [])))}
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found.add((name, "PolicyDocument"))
    assert found == set(DOCUMENTS.values()) | STACK_ONLY
    assert {path.name for path in IAM.glob("*.json")} == set(DOCUMENTS) | NOT_IN_THE_STACK


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_stacks_policy_is_the_deploy_iam_file(compute, name):
    expected = json.loads((IAM / name).read_text())
    stack = placeholder_form(_at(compute["Resources"], DOCUMENTS[name]))
    assert stack["Version"] == expected["Version"]
    assert [s.get("Sid") for s in stack["Statement"]] == [s.get("Sid") for s in expected["Statement"]]
    for ours, theirs in zip(stack["Statement"], expected["Statement"], strict=True):
        assert ours == theirs, ours["Sid"]


def test_the_placeholders_are_envsubst_variables():
    for path in IAM.glob("*.json"):
        for found in re.findall(r"\$\{?([A-Za-z_]\w*)", path.read_text()):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", found) and found in set(PLACEHOLDERS.values()) | {
                "SNOWFLAKE_ROLE_NAME"
            }, (path.name, found)


def _parameters(stack: dict) -> dict[str, object]:
    """The stack's SSM parameters: VARIABLE -> its value as the template writes it."""
    found = {}
    for resource in stack["Resources"].values():
        if resource["Type"] == "AWS::SSM::Parameter":
            name = resource["Properties"]["Name"]["Fn::Sub"]
            assert name.startswith("/${ProjectName}/env/") and resource["Properties"]["Type"] == "String"
            found[name.removeprefix("/${ProjectName}/env/")] = resource["Properties"]["Value"]
    return found


def test_the_policies_prefixes_are_the_data_stacks_uris(data):
    values = _parameters(data)
    uris = {
        "LakePrefix": "SPARKIFY_DATA_URI",
        "ApiDataPrefix": "API_DATA_URI",
        "TaxiPrefix": "NYC_TAXI_DATA_URI",
        "TasksDataPrefix": "TASKS_DATA_URI",
        "ManifestPrefix": "REDSHIFT_MANIFEST_PREFIX",
    }
    for binding, variable in uris.items():
        assert values[variable] == {"Fn::Sub": f"s3://${{LakeBucket}}/{BINDINGS[binding]}"}, variable
    assert values["DAGSTER_COMPUTE_LOGS_BUCKET"] == {"Ref": "LakeBucket"}
    assert values["DAGSTER_COMPUTE_LOGS_PREFIX"] == BINDINGS["ComputeLogsPrefix"]


def test_each_stack_writes_the_variables_it_knows(data, compute):
    assert set(_parameters(data)) == {
        "SPARKIFY_DATA_URI",
        "API_DATA_URI",
        "NYC_TAXI_DATA_URI",
        "TASKS_DATA_URI",
        "DAGSTER_COMPUTE_LOGS_BUCKET",
        "DAGSTER_COMPUTE_LOGS_PREFIX",
        "REDSHIFT_MANIFEST_PREFIX",
        "NYC_TAXI_SPARK_SCRIPT_URI",
        "NYC_TAXI_GLUE_DATABASE",
    }
    assert set(_parameters(compute)) == {
        "NYC_TAXI_GLUE_JOB",
        "NYC_TAXI_EMR_APPLICATION_ID",
        "NYC_TAXI_EMR_EXECUTION_ROLE_ARN",
        "TASKS_ECS_CLUSTER",
        "TASKS_ECS_SUBNETS",
        "TASKS_ECS_SECURITY_GROUPS",
        "TASKS_ECS_ASSIGN_PUBLIC_IP",
        "TASKS_ECS_EXECUTION_ROLE_ARN",
        "TASKS_ECS_LOG_GROUP",
        "TASKS_IMAGE_REPOSITORY",
        "TASKS_ROLE_PREFIX",
        "REDSHIFT_COPY_ROLE_ARN",
    }
    assert _parameters(compute)["TASKS_ROLE_PREFIX"] == BINDINGS["TasksRolePrefix"]
    assert _parameters(compute)["TASKS_ECS_ASSIGN_PUBLIC_IP"] == "ENABLED"  # public subnets, no NAT


# What moto skips, checked on the template.


def test_both_buckets_refuse_requests_without_tls(data):
    policies = {
        resource["Properties"]["Bucket"]["Ref"]: resource["Properties"]["PolicyDocument"]
        for resource in data["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
    }
    assert set(policies) == {"LakeBucket", "SparkBucket"}
    for bucket, document in policies.items():
        [statement] = document["Statement"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert statement["Resource"] == [
            {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{{bucket}}}"},
            {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{{bucket}}}/*"},
        ]


def test_the_glue_job_runs_the_pipelines_script_as_the_spark_job_role(data, compute):
    job = compute["Resources"]["GlueJob"]["Properties"]
    assert job["Role"] == {"Fn::GetAtt": ["SparkJobRole", "Arn"]}
    script = job["Command"]["ScriptLocation"]
    assert (
        script == _parameters(data)["NYC_TAXI_SPARK_SCRIPT_URI"] == {"Fn::Sub": "s3://${SparkBucket}/jobs/month_job.py"}
    )
    assert job["Command"]["Name"] == "glueetl" and job["Command"]["PythonVersion"] == "3"
    assert compute["Parameters"]["GlueVersion"]["AllowedValues"] == ["4.0", "5.0"]
    assert job["DefaultArguments"]["--additional-python-modules"] == {"Ref": "GluePythonModules"}
    assert compute["Parameters"]["GluePythonModules"]["Default"].startswith("dagster-pipes==")
    # The name the platform reads is the job's name (moto creates no job, so the stack does not Ref it).
    assert job["Name"] == _parameters(compute)["NYC_TAXI_GLUE_JOB"] == compute["Outputs"]["GlueJobName"]["Value"]


def test_the_emr_serverless_application_runs_spark_and_stops_when_idle(compute):
    application = compute["Resources"]["EmrApplication"]["Properties"]
    assert application["Type"] == "Spark" and application["ReleaseLabel"] == {"Ref": "EmrReleaseLabel"}
    assert compute["Parameters"]["EmrReleaseLabel"]["Default"].startswith("emr-7.")
    assert application["AutoStopConfiguration"]["Enabled"] is True
    logs = application["MonitoringConfiguration"]["CloudWatchLoggingConfiguration"]
    assert logs["LogGroupName"] == {"Ref": "EmrLogGroup"}
    assert compute["Outputs"]["EmrApplicationId"]["Value"] == {"Ref": "EmrApplication"}


@pytest.mark.parametrize(
    ("table", "folder", "columns"),
    [
        ("GreenTripsTable", layout.trips_folder, layout.TRIP_COLUMNS),
        ("FareByZoneTable", layout.fare_by_zone_folder, layout.FARE_BY_ZONE_COLUMNS),
    ],
)
def test_the_catalog_tables_are_the_layouts_parquet_layers(data, table, folder, columns):
    properties = data["Resources"][table]["Properties"]
    assert properties["DatabaseName"] == {"Ref": "CatalogDatabase"}
    described = properties["TableInput"]
    month_folder = folder(dt.date(2020, 1, 1))
    assert month_folder.endswith("2020-01/")  # a month's partition is <location>YYYY-MM/
    layer = month_folder.removesuffix("2020-01/")
    storage = described["StorageDescriptor"]
    assert storage["Location"] == {"Fn::Sub": f"s3://${{LakeBucket}}/{BINDINGS['TaxiPrefix']}/{layer}"}
    assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert described["Parameters"]["classification"] == "parquet"
    assert [(key["Name"], key["Type"]) for key in described["PartitionKeys"]] == [("month", "string")]
    expected = [(name, GLUE_TYPES[logical]) for name, logical in columns if name != "month"]
    assert [(column["Name"], column["Type"]) for column in storage["Columns"]] == expected


def test_the_secret_holds_no_value_in_the_template(data, compute):
    secrets = [r["Properties"] for r in data["Resources"].values() if r["Type"] == "AWS::SecretsManager::Secret"]
    [secret] = secrets
    assert "SecretString" not in secret
    generated = secret["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {}
    assert generated["GenerateStringKey"] == "DAGSTER_PG_PASSWORD"
    assert secret["Name"] == {"Fn::Sub": "${ProjectName}/env"}
    assert data["Outputs"]["SecretArn"]["Value"] == {"Ref": "EnvSecret"}
    # The host's role reads exactly that secret (its ARN ends in a dash and six random characters).
    [read] = [
        s
        for s in compute["Resources"]["PipelinePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Sid"] == "ReadTheEnvSecret"
    ]
    assert read["Resource"]["Fn::Sub"].endswith(":secret:" + secret["Name"]["Fn::Sub"] + "-??????")


def test_only_the_repositorys_main_branch_and_environment_may_deploy(compute):
    provider = compute["Resources"]["GitHubOidcProvider"]
    assert provider["Condition"] == "CreateGitHubOidcProvider"
    assert compute["Conditions"]["CreateGitHubOidcProvider"] == {"Fn::Equals": [{"Ref": "GitHubOidcProviderArn"}, ""]}
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    [trust] = compute["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {
            "token.actions.githubusercontent.com:sub": [
                {"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/main"},
                {"Fn::Sub": "repo:${GitHubRepository}:environment:${GitHubEnvironment}"},
            ]
        },
    }
    statements = compute["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["UpdateTheProjectsStacks"]["Resource"]["Fn::Sub"].endswith(":stack/${ProjectName}-*/*")
    assert by_sid["PassTheCloudFormationRoleOnly"]["Resource"] == {"Fn::GetAtt": ["CloudFormationRole", "Arn"]}
    passes = [s for s in statements if "iam:PassRole" in s["Action"]]
    assert passes == [by_sid["PassTheCloudFormationRoleOnly"]]
