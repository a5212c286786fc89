"""The host and ecs-service stacks (deploy/cloudformation/) checked on the parsed templates.

moto creates neither the schedules nor the secrets and runs no user data, so what the deployment relies on is
asserted here: the nightly stop's crons and time zone, the scheduler role limited to the one instance, IMDSv2 and
the encrypted volume, no way in on SSH, the user data's steps (and that it parses as bash), and the ECS task
definitions carrying what deploy/dagster.yaml with deploy/dagster.ecs.yaml's run launcher reads.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cfnlint.decode.cfn_yaml import load

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "deploy" / "cloudformation"
HOST = load(str(TEMPLATES / "host.yaml"))
ECS = load(str(TEMPLATES / "ecs-service.yaml"))
COMPOSE = yaml.safe_load((REPO / "deploy" / "docker-compose.yaml").read_text())

ENV_FILE_COMMAND = "python -m pipeline env-file --ssm-path /${ProjectName}/env/ --secret ${ProjectName}/env"


def resources(template, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def default(template, parameter: str):
    return template["Parameters"][parameter]["Default"]


# ------------------------------------------------------------------------------------------- schedules


def test_the_host_stops_at_17_and_starts_at_9_pacific_by_default():
    assert default(HOST, "StopCron") == "cron(0 17 * * ? *)"
    assert default(HOST, "StartCron") == "cron(0 9 * * ? *)"
    assert default(HOST, "ScheduleTimezone") == "America/Los_Angeles"
    schedules = resources(HOST, "AWS::Scheduler::Schedule")
    assert set(schedules) == {"StopSchedule", "StartSchedule"}
    for name, cron, action in [("StopSchedule", "StopCron", "stop"), ("StartSchedule", "StartCron", "start")]:
        properties = schedules[name]["Properties"]
        assert properties["ScheduleExpression"] == {"Ref": cron}
        assert properties["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
        assert properties["State"] == {"Fn::If": ["NightlyStop", "ENABLED", "DISABLED"]}
        target = properties["Target"]
        assert target["Arn"] == f"arn:aws:scheduler:::aws-sdk:ec2:{action}Instances"
        assert target["Input"] == {"Fn::Sub": '{"InstanceIds": ["${Host}"]}'}
        assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert HOST["Conditions"]["NightlyStop"] == {"Fn::Equals": [{"Ref": "EnableNightlyStop"}, "true"]}
    assert default(HOST, "EnableNightlyStop") == "true"


def test_the_scheduler_role_stops_and_starts_this_instance_only():
    role = HOST["Resources"]["SchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert role.get("ManagedPolicyArns") is None
    assert [(s["Effect"], sorted(s["Action"])) for s in statements] == [
        ("Allow", ["ec2:StartInstances", "ec2:StopInstances"])
    ]
    assert statements[0]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${Host}"
    }


# ------------------------------------------------------------------------------------------- instance


def test_the_instance_requires_imdsv2_and_an_encrypted_gp3_volume():
    data = HOST["Resources"]["HostLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    # The containers are one hop further than the instance: with 1 they would get no credentials.
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    (volume,) = data["BlockDeviceMappings"]
    assert volume["Ebs"]["Encrypted"] is True
    assert volume["Ebs"]["VolumeType"] == "gp3"
    assert data["EbsOptimized"] is True and data["Monitoring"] == {"Enabled": True}
    assert data["IamInstanceProfile"] == {"Name": {"Ref": "PipelineInstanceProfile"}}
    host = HOST["Resources"]["Host"]["Properties"]
    assert host["LaunchTemplate"]["LaunchTemplateId"] == {"Ref": "HostLaunchTemplate"}
    assert default(HOST, "InstanceType") == "t3.large"
    # A plain id, not the public SSM parameter: that one is resolved again at every update and would replace the host.
    assert HOST["Parameters"]["AmiId"]["Type"] == "AWS::EC2::Image::Id" and "Default" not in HOST["Parameters"]["AmiId"]


def ingress_rules(template):
    """(resource, group it opens, rule) for every inline and standalone ingress rule."""
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            for rule in resource["Properties"].get("SecurityGroupIngress", []):
                yield name, name, rule
        elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            yield name, resource["Properties"]["GroupId"]["Ref"], resource["Properties"]


def opens(rule, port: int) -> bool:
    return str(rule["IpProtocol"]) == "-1" or rule["FromPort"] <= port <= rule["ToPort"]


@pytest.mark.parametrize("template", [HOST, ECS], ids=["host", "ecs-service"])
def test_nothing_lets_in_ssh(template):
    rules = list(ingress_rules(template))
    assert rules, "the load balancer's rules at least"
    assert [name for name, _, rule in rules if opens(rule, 22)] == []
    assert [name for name, _, rule in rules if str(rule["IpProtocol"]) == "-1"] == []


def test_the_host_security_group_admits_nothing_but_the_optional_load_balancer():
    assert "SecurityGroupIngress" not in HOST["Resources"]["HostSecurityGroup"]["Properties"]
    into_host = [(name, rule) for name, group, rule in ingress_rules(HOST) if group == "HostSecurityGroup"]
    assert [name for name, _ in into_host] == ["HostUiIngress"]
    rule = into_host[0][1]
    assert (rule["FromPort"], rule["ToPort"], rule["SourceSecurityGroupId"]) == (
        3000,
        3000,
        {"Ref": "AlbSecurityGroup"},
    )
    assert HOST["Resources"]["HostUiIngress"]["Condition"] == "CreateAlb"
    # The load balancer admits the one CIDR, on HTTPS and the redirect only.
    alb_rules = HOST["Resources"]["AlbSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert {(r["FromPort"], r["CidrIp"]["Ref"]) for r in alb_rules} == {(443, "UiAllowedCidr"), (80, "UiAllowedCidr")}
    redirect = HOST["Resources"]["UiHttpRedirectListener"]["Properties"]["DefaultActions"][0]
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert HOST["Conditions"]["CreateAlb"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "UiAllowedCidr"}, ""]}]}


# ------------------------------------------------------------------------------------------- user data


def user_data() -> tuple[str, dict]:
    sub = HOST["Resources"]["HostLaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    text, variables = sub["Fn::Sub"]
    return text, variables


def test_the_user_data_writes_the_environment_and_enables_the_compose_unit():
    text, variables = user_data()
    assert ENV_FILE_COMMAND in text
    assert "> /etc/data-platform/env.new" in text and "mv /etc/data-platform/env.new /etc/data-platform/env" in text
    assert "systemctl enable --now data-platform-compose" in text
    assert "cp /opt/data-platform/deploy/systemd/data-platform-compose.service /etc/systemd/system/" in text
    # The pulled image becomes the compose file's, so the unit's `up` never builds.
    assert f'docker tag "$image" {COMPOSE["x-dagster"]["image"].split(":")[0]}:local' in text
    assert COMPOSE["x-dagster"]["image"] == "sparkify-pipeline:${SPARKIFY_IMAGE_TAG:-local}"
    assert "aws ecr get-login-password" in text and 'docker pull "$image"' in text
    assert variables["ImageParameter"] == {"Ref": "PlatformImageParameter"}
    # The files it copies out of the image are the ones the Dockerfile puts there.
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "COPY deploy/systemd/data-platform-compose.service /app/deploy/systemd/" in dockerfile
    assert re.search(r"COPY deploy/docker-compose\.yaml .*/app/deploy/\n", dockerfile)
    assert "docker cp data-platform-files:/app/deploy/. /opt/data-platform/deploy/" in text
    unit = (REPO / "deploy" / "systemd" / "data-platform-compose.service").read_text()
    assert "WorkingDirectory=/opt/data-platform/deploy" in unit


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_user_data_and_its_refresh_script_parse_as_bash(tmp_path):
    text, _ = user_data()
    rendered = re.sub(r"\$\{[A-Za-z:]+\}", "placeholder", text)
    script = tmp_path / "user-data.sh"
    script.write_text(rendered)
    inner = re.search(r"<<'EOF'\n(.*?)\nEOF\n", rendered, re.S)[1]
    (tmp_path / "refresh.sh").write_text(inner)
    for path in [script, tmp_path / "refresh.sh"]:
        completed = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert completed.returncode == 0, completed.stderr


def test_the_outputs_name_the_instance_and_the_port_forward():
    outputs = HOST["Outputs"]
    assert outputs["InstanceId"]["Value"] == {"Ref": "Host"}
    command = outputs["PortForwardCommand"]["Value"]["Fn::Sub"]
    assert "--document-name AWS-StartPortForwardingSession" in command and "portNumber=3000" in command
    assert outputs["UiUrl"]["Condition"] == "CreateAlb"


# ------------------------------------------------------------------------------------------- ecs-service


def env_names(node) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(env_names(v) for v in node))
    return set()


RUN_LAUNCHER = yaml.safe_load((REPO / "deploy" / "dagster.ecs.yaml").read_text())["run_launcher"]
INSTANCE = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
# Written by the data stack into SSM and loaded by the entrypoint with the rest of the platform's environment.
FROM_SSM = {"DAGSTER_COMPUTE_LOGS_BUCKET", "DAGSTER_COMPUTE_LOGS_PREFIX"}


def container(task_definition: str) -> dict:
    (only,) = ECS["Resources"][task_definition]["Properties"]["ContainerDefinitions"]
    return only


def variables(definition: dict) -> dict:
    environment = {e["Name"]: e["Value"] for e in definition["Environment"]}
    secrets = {s["Name"]: s["ValueFrom"] for s in definition.get("Secrets", [])}
    assert not set(environment) & set(secrets)
    return environment | secrets


@pytest.mark.parametrize(
    "task_definition", ["CodeServerTaskDefinition", "WebserverTaskDefinition", "DaemonTaskDefinition"]
)
def test_the_ecs_instance_and_run_launcher_variables_are_set(task_definition):
    instance = {**{k: v for k, v in INSTANCE.items() if k != "run_launcher"}, "run_launcher": RUN_LAUNCHER}
    needed = env_names(instance) - FROM_SSM
    assert "DAGSTER_ECS_TASK_DEFINITION" in needed and "DAGSTER_PG_PASSWORD" in needed
    definition = container(task_definition)
    values = variables(definition)
    assert needed <= set(values), needed - set(values)
    assert values["DAGSTER_ECS_TASK_DEFINITION"] == {"Fn::Sub": "${ProjectName}-code-server"}
    assert values["DAGSTER_PG_PASSWORD"] == {"Fn::Sub": "${DatabaseSecret}:password::"}
    assert values["DAGSTER_DEPLOYMENT"] == "prod"
    assert values["PROJECT_NAME"] == {"Ref": "ProjectName"}
    assert definition["EntryPoint"] == ["tini", "-g", "--", "sh", "/app/deploy/ecs-entrypoint.sh"]


def test_runs_start_from_the_code_servers_definition_with_the_platform_environment():
    family = ECS["Resources"]["CodeServerTaskDefinition"]["Properties"]["Family"]
    assert family == {"Fn::Sub": "${ProjectName}-code-server"}
    assert container("CodeServerTaskDefinition")["Name"] == RUN_LAUNCHER["config"]["container_name"]
    # The task role may launch that family's tasks and pass both of its roles, nothing wider.
    statements = {
        s["Sid"]: s for s in ECS["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    }
    assert statements["LaunchRuns"]["Resource"]["Fn::Sub"].endswith(":task-definition/${ProjectName}-code-server:*")
    passed = {r["Fn::Sub"].rsplit("/", 1)[1] for r in statements["PassRunRoles"]["Resource"]}
    names = {ECS["Resources"][r]["Properties"]["RoleName"]["Fn::Sub"] for r in ["TaskRole", "ExecutionRole"]}
    assert passed == names
    entrypoint = (REPO / "deploy" / "ecs-entrypoint.sh").read_text()
    assert 'python -m pipeline env-file --ssm-path "/$PROJECT_NAME/env/" --secret "$PROJECT_NAME/env"' in entrypoint
    assert "/app/deploy/dagster.ecs.yaml" in entrypoint
    assert re.search(
        r"COPY deploy/\S+ deploy/dagster\.ecs\.yaml deploy/ecs-entrypoint\.sh /app/deploy/",
        (REPO / "Dockerfile").read_text(),
    )


def test_the_services_run_the_compose_commands():
    services = COMPOSE["services"]
    assert container("WebserverTaskDefinition")["Command"] == services["webserver"]["command"]
    daemon = container("DaemonTaskDefinition")["Command"]
    assert daemon[:2] == ["sh", "-c"] and daemon[2].split() == services["daemon"]["command"][2].split()
    # The code server without fail-orphaned-runs: on ECS the runs are tasks of their own and outlive it.
    code_server = " ".join(container("CodeServerTaskDefinition")["Command"])
    assert services["code-server"]["command"][2].endswith("exec " + code_server)
    assert "fail-orphaned-runs" not in code_server


def test_the_database_is_private_encrypted_and_its_password_generated():
    database = ECS["Resources"]["Database"]["Properties"]
    assert database["StorageEncrypted"] is True and database["PubliclyAccessible"] is False
    assert default(ECS, "DatabaseInstanceClass") == "db.t4g.micro"
    secret = ECS["Resources"]["DatabaseSecret"]["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert database["MasterUserPassword"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${ProjectName}/dagster-db:SecretString:password}}"
    }
    assert secret["Name"] == {"Fn::Sub": "${ProjectName}/dagster-db"}
    (rule,) = ECS["Resources"]["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert (rule["FromPort"], rule["SourceSecurityGroupId"]) == (5432, {"Ref": "ServiceSecurityGroup"})
