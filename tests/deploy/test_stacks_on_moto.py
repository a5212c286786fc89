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
        created = stacks.moto_resources(name)
        resolver = stacks.Resolver(template, {**parameters, "AWS::StackName": name}, created)
        world.templates[stack], world.resolvers[stack] = template, resolver
        world.outputs[stack] = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        world.missing[stack] = stacks.not_created(template, resolver, created)
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
        and not skipped
        & set(json.dumps(output["Value"]).replace('"', " ").replace("${", " ").replace("}", " ").split())
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
    missing = stacks.not_created(parsed, resolver, stacks.moto_resources(name))

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


@pytest.fixture
def stack_env(completed, tmp_path, pipeline_env, monkeypatch):
    """This process set up as the host would be: the environment file's variables, the AWS endpoint (moto); a
    warehouse file, an instance and DuckDB's extensions of the test's own (pipeline_env)."""
    env = env_file(completed, tmp_path)
    local = {"WAREHOUSE": "duckdb", **pipeline_env}
    for name, value in {**env, **completed.environ, **local}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = boto3.session.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)  # every client the platform makes comes from it
    return {**env, **local, "session": session}


def test_sparkify_loads_its_days_from_the_stacks_lake_bucket(stack_env, completed, sample_lake):
    import duckdb

    from tests.conftest import upload_tree
    from tests.platform import materialize

    bucket = completed.outputs["data"]["LakeBucket"]
    upload_tree(completed.client("s3"), sample_lake.root, bucket, "sparkify")

    runs = materialize("sparkify")

    assert runs and all(outcome.ok for _, outcome in runs), [outcome.errors for _, outcome in runs]
    with duckdb.connect(stack_env["DUCKDB_PATH"], read_only=True) as warehouse:
        [(events,)] = warehouse.execute("select count(*) from staging.staging_events").fetchall()
        [(songplays,)] = warehouse.execute("select count(*) from analytics.songplays").fetchall()
    assert events == sample_lake.events and songplays > 0


def _run_month_job(arguments: list[str], extra_env: dict) -> int:
    """Plays the Spark job on the S3 lake the local Spark cannot read: tests/nyc_taxi/duckdb_job.py, the same
    Pipes exchange, run with the arguments (Glue) or driver environment (EMR Serverless) moto recorded."""
    finished = subprocess.run(
        [sys.executable, "-m", "tests.nyc_taxi.duckdb_job", *arguments],
        cwd=REPO,
        env={**os.environ, **extra_env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(finished.stdout[-3000:], finished.stderr[-3000:], file=sys.stderr)
    return finished.returncode


def test_a_taxi_month_runs_through_the_stacks_glue_job_and_emr_application_into_its_catalog(
    stack_env, completed, tmp_path, monkeypatch
):
    import shlex

    import dagster as dg

    from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
    from tests.conftest import upload_tree
    from tests.nyc_taxi.test_spark_engine import GOLD, STAGING, run_steps

    data, compute, session = completed.outputs["data"], completed.outputs["compute"], stack_env["session"]
    generate_months(tmp_path / "nyc", TaxiSpec(months=1, trips_per_month=300))
    upload_tree(completed.client("s3"), tmp_path / "nyc", data["LakeBucket"], "nyc")
    jobs = []

    def glue_started(parsed, **_):
        glue = completed.client("glue")
        run = glue.get_job_run(JobName=stack_env["NYC_TAXI_GLUE_JOB"], RunId=parsed["JobRunId"])["JobRun"]
        arguments = [part for name, value in run["Arguments"].items() for part in (name, value)]
        jobs.append(("glue", run["JobName"], _run_month_job(arguments, {})))

    def emr_started(parsed, **_):
        run = completed.client("emr-serverless").get_job_run(
            applicationId=parsed["applicationId"], jobRunId=parsed["jobRunId"]
        )["jobRun"]
        submit = run["jobDriver"]["sparkSubmit"]
        prefix = "spark.emr-serverless.driverEnv."
        words = shlex.split(submit.get("sparkSubmitParameters", ""))
        driver_env = dict(w.removeprefix(prefix).split("=", 1) for w in words if w.startswith(prefix))
        jobs.append(
            ("emr", (run["applicationId"], run["executionRole"], submit["entryPoint"]), _run_month_job([], driver_env))
        )

    session.events.register("after-call.glue.StartJobRun", glue_started)
    session.events.register("after-call.emr-serverless.StartJobRun", emr_started)
    # moto answers the engine upper-cased as created; the service answers "Spark", which dagster-aws expects.
    session.events.register(
        "after-call.emr-serverless.GetApplication",
        lambda parsed, **_: parsed["application"].update(type=parsed["application"]["type"].capitalize()),
    )

    staged = run_steps("glue", monkeypatch, "2020-01-01", "2020-01-01", assets=[STAGING])
    aggregated = run_steps("emr-serverless", monkeypatch, "2020-01-01", "2020-01-01", assets=[GOLD])

    for result in (staged, aggregated):
        assert result.success, [str(e) for e in result.all_events if e.is_failure]
    script = f"s3://{data['SparkBucket']}/jobs/month_job.py"
    assert jobs == [
        ("glue", compute["GlueJobName"], 0),
        ("emr", (completed.created["compute"]["EmrApplication"], compute["SparkJobRoleArn"], script), 0),
    ]
    # The Glue job moto holds is the template's: it runs the script the pipeline uploads, as the job role.
    job = completed.client("glue").get_job(JobName=compute["GlueJobName"])["Job"]
    assert job["Command"]["ScriptLocation"] == script and job["Role"] == compute["SparkJobRoleArn"]
    # Both layers' month is a partition of the stack's tables, at its folder in the stack's lake.
    glue, database = completed.client("glue"), data["CatalogDatabase"]
    for table, layer in (("green_trips", "staging"), ("fare_by_zone", "gold")):
        [partition] = glue.get_partitions(DatabaseName=database, TableName=table)["Partitions"]
        assert partition["Values"] == ["2020-01"]
        assert partition["StorageDescriptor"]["Location"] == f"s3://{data['LakeBucket']}/nyc/{layer}/nyc/2020-01/"
    [event] = [e for e in aggregated.get_asset_materialization_events() if e.asset_key == dg.AssetKey(GOLD.path)]
    assert event.materialization.metadata["glue_partition"].value == f"{database}.fare_by_zone/month=2020-01"


def test_a_container_task_runs_on_the_stacks_cluster_subnets_and_log_group(stack_env, completed, tmp_path, monkeypatch):
    from tests.tasks.test_ecs_runs import POLICY, PROBE, TASK, Agent, materialize

    compute = completed.outputs["compute"]
    completed.client("ssm").put_parameter(
        Name="/tasks/probe/token", Value="from-ssm", Type="SecureString", Overwrite=True
    )
    probe = tmp_path / "tasks" / "probe"
    probe.mkdir(parents=True)
    (probe / "defs.yaml").write_text(TASK)
    (probe / "probe.py").write_text(PROBE)
    (probe / "iam_policy.json").write_text(POLICY)
    agent = Agent({"registry.example.com/probe:1": probe}, tmp_path / "containers")
    session = stack_env["session"]
    session.events.register("after-call.ecs.RunTask", agent.started)
    session.events.register("after-call.ecs.DescribeTasks", agent.described)
    # The template enables DNS host names on the VPC (moto ignores the property; a task's ENI needs it there).
    assert completed.templates["compute"]["Resources"]["Vpc"]["Properties"]["EnableDnsHostnames"] is True
    completed.client("ec2").modify_vpc_attribute(VpcId=compute["VpcId"], EnableDnsHostnames={"Value": True})
    monkeypatch.setenv("TASKS_ENGINE", "ecs")  # the environment file keeps the laptop's default, local
    monkeypatch.setenv("TASKS_ECS_POLL_SECONDS", "1")

    try:
        result = materialize(probe)
    finally:
        agent.join()

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    ecs = completed.client("ecs")
    [arn] = ecs.list_tasks(cluster=compute["TasksCluster"], desiredStatus="STOPPED")["taskArns"]
    [task] = ecs.describe_tasks(cluster=compute["TasksCluster"], tasks=[arn])["tasks"]
    definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    assert definition["executionRoleArn"] == compute["TasksExecutionRoleArn"]
    assert definition["taskRoleArn"].endswith(f":role/{compute['TasksRolePrefix']}probe")
    [container] = definition["containerDefinitions"]
    assert container["logConfiguration"]["options"]["awslogs-group"] == compute["TasksLogGroup"]
    [attachment] = task["attachments"]
    details = {d["name"]: d["value"] for d in attachment["details"]}
    assert details["subnetId"] in compute["PublicSubnets"].split(",")
    streams = completed.client("logs").describe_log_streams(logGroupName=compute["TasksLogGroup"])["logStreams"]
    assert len(streams) == 1  # the container's output, in the stack's log group
