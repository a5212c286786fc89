#!/bin/sh
# The entrypoint of the ECS services and of every run task they launch (deploy/cloudformation/ecs-service.yaml):
# the platform's environment from SSM and Secrets Manager (the EC2 host writes the same to /etc/data-platform/env),
# the instance of deploy/dagster.yaml with deploy/dagster.ecs.yaml's run launcher (one source for both), then the
# command. Variables of the task definition win over the stored ones.
set -eu
: "${PROJECT_NAME:?the task definition sets PROJECT_NAME}"
python -m pipeline env-file --ssm-path "/$PROJECT_NAME/env/" --secret "$PROJECT_NAME/env" > /tmp/platform.env
mkdir -p /tmp/dagster-home
python - <<'PY'
import yaml

with open("/opt/dagster/home/dagster.yaml") as f:
    instance = yaml.safe_load(f)
with open("/app/deploy/dagster.ecs.yaml") as f:
    instance["run_launcher"] = yaml.safe_load(f)["run_launcher"]
with open("/tmp/dagster-home/dagster.yaml", "w") as f:
    yaml.safe_dump(instance, f, sort_keys=False)
PY
export DAGSTER_HOME=/tmp/dagster-home
exec python -m dotenv -f /tmp/platform.env run --no-override -- "$@"
