"""The GitHub workflows (.github/workflows/): CI runs the README's test command, the release reaches AWS only through
OIDC and the compute stack's deploy role, and actionlint (with shellcheck on the `run:` scripts, as in `make lint`)
passes them and fails a copy with a mistake in it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
CI_YML = WORKFLOWS / "ci.yml"
RELEASE_YML = WORKFLOWS / "release.yml"
BIN = Path(sys.executable).parent
ACTIONLINT = [str(BIN / "actionlint"), "-shellcheck", str(BIN / "shellcheck"), "-pyflakes", ""]

DEPLOY_ROLE = "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
# An action is used at a release (a tag such as v5 or v2.1.0) or a commit, never a branch.
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$")


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def readme_test_command() -> str:
    """The README's test command: in the "Two commands" block, the command whose comment says CI runs it."""
    section = (REPO / "README.md").read_text().split("## Two commands", 1)[1]
    block = re.search(r"^```bash\n(.*?)^```$", section, re.DOTALL | re.MULTILINE).group(1)
    commands = re.findall(r"^(\S[^#\n]*?)\s+#(.*(?:\n\s+#.*)*)", block, re.MULTILINE)
    ci_commands = [command for command, comment in commands if "CI" in comment]
    assert len(ci_commands) == 1, commands
    return ci_commands[0]


def test_ci_runs_the_readme_test_command_on_pull_requests():
    command = readme_test_command()
    assert command == "make test"
    # .ci/run, the README's "CI (.ci/run) runs it", runs that command and nothing else: so does the workflow.
    assert (REPO / ".ci" / "run").read_text().strip().splitlines()[-1] == command

    ci = load(CI_YML)
    assert "pull_request" in ci["on"] and ci["on"]["push"]["branches"] == ["main"]
    assert ci["permissions"] == {"contents": "read"}
    assert ci["concurrency"]["cancel-in-progress"] is True
    (job,) = ci["jobs"].values()
    assert job["timeout-minutes"] <= 90
    assert job["container"].startswith("python:3.11-")
    assert [step["run"] for step in job["steps"] if "run" in step] == [command]


def test_release_reaches_aws_through_oidc_and_the_deploy_role():
    text = RELEASE_YML.read_text()
    release = load(RELEASE_YML)
    assert release["on"]["push"]["tags"] == ["v*"] and "workflow_dispatch" in release["on"]
    assert release["permissions"] == {"id-token": "write", "contents": "read"}
    # No long-lived key, under any spelling.
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-access-key-id", "aws-secret-access-key"):
        assert key not in text
    assert "secrets." not in text

    logins = [
        step for step in steps(release) if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert len(logins) == len(release["jobs"])  # every job that runs reaches AWS, each by the role
    for step in logins:
        assert step["with"] == {"role-to-assume": DEPLOY_ROLE, "aws-region": "${{ vars.AWS_REGION }}"}
    assert release["env"] == {"AWS_REGION": "${{ vars.AWS_REGION }}", "PROJECT_NAME": "${{ vars.PROJECT_NAME }}"}
    # An account's ids and ARNs come from the variables, never from this file.
    assert not re.search(r"\b\d{12}\b|arn:aws", text)


def test_release_pushes_the_images_then_deploys_the_new_tag_in_production():
    release = load(RELEASE_YML)
    images, deploy = release["jobs"]["images"], release["jobs"]["deploy"]
    assert any(step.get("uses", "").startswith("aws-actions/amazon-ecr-login@") for step in images["steps"])
    scripts = "\n".join(step.get("run", "") for step in images["steps"])
    assert "docker build --platform linux/amd64 " in scripts and "python -m pipeline task-images --push" in scripts
    assert deploy["needs"] == "images" and deploy["environment"] == "production"
    (run,) = [step for step in deploy["steps"] if "run" in step]
    assert run["run"].splitlines()[-1] == 'PLATFORM_IMAGE_TAG="$TAG" bash deploy/cloudformation/deploy.sh'
    # CloudFormation acts as the compute stack's role, the one role the deploy role may pass.
    assert "OutputKey=='CloudFormationRoleArn'" in run["run"] and "export CLOUDFORMATION_ROLE_ARN" in run["run"]
    assert run["env"] == {"TAG": "${{ needs.images.outputs.tag }}"}


@pytest.mark.parametrize("path", [CI_YML, RELEASE_YML], ids=lambda path: path.name)
def test_every_action_is_pinned_and_every_job_has_a_timeout(path):
    workflow = load(path)
    for step in steps(workflow):
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]
    for name, job in workflow["jobs"].items():
        assert job.get("timeout-minutes"), name


def test_actionlint_passes_the_workflows():
    done = subprocess.run([*ACTIONLINT, str(CI_YML), str(RELEASE_YML)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("needs: images", "needs: image", 'job "deploy" needs job "image" which does not exist'),
        (DEPLOY_ROLE, DEPLOY_ROLE.replace("vars.", "var."), 'undefined variable "var"'),
        # shellcheck's SC2086 (a variable split into words): actionlint does run shellcheck on the `run:` scripts.
        ('>> "$GITHUB_OUTPUT"', ">> $GITHUB_OUTPUT", "shellcheck reported issue in this script: SC2086"),
    ],
    ids=["needs", "context", "shellcheck"],
)
def test_actionlint_fails_a_workflow_with_a_mistake(tmp_path, replace, by, message):
    text = RELEASE_YML.read_text()
    assert replace in text
    broken = tmp_path / "release.yml"
    broken.write_text(text.replace(replace, by, 1))

    done = subprocess.run([*ACTIONLINT, "-oneline", str(broken)], capture_output=True, text=True, timeout=120)

    assert done.returncode == 1 and message in done.stdout, done.stdout + done.stderr
