#!/usr/bin/env bash
# Deploys the platform's CloudFormation stacks in order with `aws cloudformation deploy` (docs/deploy-aws.md):
#
#   data -> compute -> host          (STACKS="data compute host", the default)
#   data -> compute -> ecs-service   (STACKS="data compute ecs-service": the Fargate services instead of the host)
#
# Each stack is named <PROJECT_NAME>-<template> and gets ProjectName=<PROJECT_NAME>. A parameter of a later stack
# that has the name of an earlier stack's output is filled from that output, so the stacks hand each other their
# buckets, roles, subnets and image repository without anyone copying an ARN. Anything else goes in
# <STACK>_PARAMETERS (DATA_PARAMETERS, COMPUTE_PARAMETERS, HOST_PARAMETERS, ECS_SERVICE_PARAMETERS) as Key=Value
# words; PLATFORM_IMAGE_TAG, when set, becomes the PlatformImageTag of every stack that has one. The host's AmiId is
# the newest Amazon Linux 2023 when the host stack is created, and kept after that: a new AMI replaces the host.
#
# CLOUDFORMATION_ROLE_ARN, when set, is the role CloudFormation acts as (the compute stack's CloudFormationRoleArn:
# the release workflow's deploy role may pass only that one). Re-running it updates each stack in place; a stack
# without changes is left as it is.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT_NAME="${PROJECT_NAME:-data-platform}"
STACKS="${STACKS:-data compute host}"
AWS="${AWS_CLI:-aws}"
AMI_PARAMETER=/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
ROLE=()
[[ -n "${CLOUDFORMATION_ROLE_ARN:-}" ]] && ROLE=(--role-arn "$CLOUDFORMATION_ROLE_ARN")

declare -A OUTPUTS=()

for stack in $STACKS; do
  template="$HERE/$stack.yaml"
  [[ -f "$template" ]] || { echo "deploy.sh: no template $template (STACKS=$STACKS)" >&2; exit 2; }
  name="$PROJECT_NAME-$stack"
  overrides=("ProjectName=$PROJECT_NAME")
  exists=true
  "$AWS" cloudformation describe-stacks --stack-name "$name" > /dev/null 2>&1 || exists=false
  for key in $("$AWS" cloudformation get-template-summary --template-body "file://$template" \
      --query 'Parameters[].ParameterKey' --output text); do
    if [[ "$key" == PlatformImageTag && -n "${PLATFORM_IMAGE_TAG:-}" ]]; then
      overrides+=("$key=$PLATFORM_IMAGE_TAG")
    elif [[ "$key" == AmiId && "$exists" == false ]]; then
      overrides+=("$key=$("$AWS" ssm get-parameter --name "$AMI_PARAMETER" --query Parameter.Value --output text)")
    elif [[ -n "${OUTPUTS[$key]+set}" ]]; then
      overrides+=("$key=${OUTPUTS[$key]}")
    fi
  done
  extra_name="$(echo "${stack}_PARAMETERS" | tr 'a-z-' 'A-Z_')"
  read -r -a extra <<< "${!extra_name:-}"
  echo "deploy.sh: $name from $(basename "$template"): ${overrides[*]} ${extra[*]}" >&2
  "$AWS" cloudformation deploy --stack-name "$name" --template-file "$template" \
    --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset "${ROLE[@]}" \
    --parameter-overrides "${overrides[@]}" "${extra[@]}"
  while read -r key value; do
    [[ -n "$key" ]] && OUTPUTS[$key]="$value"
  done < <("$AWS" cloudformation describe-stacks --stack-name "$name" \
      --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)
done

echo "deploy.sh: deployed ${STACKS// /, } as $PROJECT_NAME-*" >&2
