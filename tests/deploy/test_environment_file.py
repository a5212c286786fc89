"""`python -m pipeline env-file`, a host's boot step, against moto's SSM and Secrets Manager on loopback: the file it
writes holds exactly the stored values, read back by a shell as systemd and Compose read them, and what it cannot
write faithfully is refused, naming the variable."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(s3_endpoint, tmp_path):
    """A fresh parameter path and secret name per test (the moto server lives for the session)."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    name = tmp_path.name.replace("_", "-")
    return (
        env,
        session.client("ssm", endpoint_url=s3_endpoint),
        session.client("secretsmanager", endpoint_url=s3_endpoint),
        name,
    )


def env_file(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "env-file", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def read_as_a_shell(path: Path) -> dict[str, str]:
    """What `set -a; . file` exports: single quotes taken literally, as systemd's EnvironmentFile= and Compose do."""
    script = f"set -a; . {path}; python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    return json.loads(subprocess.run(["env", "-i", "bash", "-c", script], capture_output=True, text=True).stdout)


def test_parameters_and_a_secret_become_one_file_with_the_stored_values(aws, tmp_path):
    env, ssm, secrets, name = aws
    plain = {
        "WAREHOUSE": "redshift",
        "SPARKIFY_DATA_URI": "s3://lake-bucket/sparkify",
        "TASKS_ECS_SUBNETS": "subnet-1,subnet-2",
        "ALERT_TEXT": "a run failed: $RUN (see the UI)",
    }
    for variable, value in plain.items():
        ssm.put_parameter(Name=f"/{name}/env/{variable}", Value=value, Type="String")
    ssm.put_parameter(Name=f"/{name}/other/NOT_MINE", Value="x", Type="String")
    secret = {"REDSHIFT_PASSWORD": "p4$$ w0rd", "DAGSTER_PG_PASSWORD": "abc"}
    secrets.create_secret(Name=f"{name}/env", SecretString=json.dumps(secret))

    out = tmp_path / "etc" / "env"
    done = env_file(env, "--ssm-path", f"/{name}/env/", "--secret", f"{name}/env", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "6 variables" in done.stderr and done.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text()
    assert "WAREHOUSE=redshift\n" in text and "REDSHIFT_PASSWORD='p4$$ w0rd'\n" in text
    exported = read_as_a_shell(out)
    assert {k: exported[k] for k in {**plain, **secret}} == {**plain, **secret}
    assert "NOT_MINE" not in exported


def test_a_variable_stored_twice_or_a_value_no_quoting_carries_is_refused(aws, tmp_path):
    env, ssm, secrets, name = aws
    ssm.put_parameter(Name=f"/{name}/env/REDSHIFT_PASSWORD", Value="in-a-parameter", Type="SecureString")
    secrets.create_secret(Name=f"{name}/env", SecretString=json.dumps({"REDSHIFT_PASSWORD": "in-a-secret"}))
    done = env_file(env, "--ssm-path", f"/{name}/env", "--secret", f"{name}/env", "--output", str(tmp_path / "env"))
    assert done.returncode == 2
    assert f"REDSHIFT_PASSWORD is defined twice: in /{name}/env/REDSHIFT_PASSWORD and in {name}/env" in done.stderr
    assert not (tmp_path / "env").exists()

    secrets.create_secret(Name=f"{name}/quoted", SecretString=json.dumps({"API_KEY": "it's"}))
    done = env_file(env, "--secret", f"{name}/quoted")
    assert done.returncode == 2 and "API_KEY: a value with a single quote" in done.stderr

    secrets.create_secret(Name=f"{name}/list", SecretString=json.dumps(["not", "an", "object"]))
    done = env_file(env, "--secret", f"{name}/list")
    assert done.returncode == 2 and f"secret {name}/list: not a JSON object" in done.stderr


def test_without_a_source_it_says_what_to_give(aws):
    env, *_ = aws
    done = env_file(env)
    assert done.returncode == 2 and "give --ssm-path, --secret or both" in done.stderr
