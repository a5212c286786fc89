"""Run-failure alerts: a failed run is posted to Slack when Slack is configured, and logged otherwise.

SLACK_WEBHOOK_URL (an incoming webhook) or SLACK_TOKEN with SLACK_CHANNEL (a bot, through
dagster-slack). Both are secrets: read when a message is sent, never logged.
"""

import json
import os
import urllib.request

import dagster as dg


def failure_message(context: dg.RunFailureSensorContext) -> str:
    run = context.dagster_run
    partition = run.tags.get("dagster/partition") or (
        f"{run.tags['dagster/asset_partition_range_start']}..{run.tags['dagster/asset_partition_range_end']}"
        if "dagster/asset_partition_range_start" in run.tags
        else None
    )
    where = f" ({partition})" if partition else ""
    reason = context.failure_event.message or "no message"
    return f"Dagster run {run.run_id} of {run.job_name}{where} failed: {reason}"


def send_alert(message: str) -> str:
    """Deliver the message; returns where it went ("slack-webhook", "slack-bot" or "log")."""
    webhook = os.environ.get("SLACK_WEBHOOK_URL")
    if webhook:
        request = urllib.request.Request(
            webhook, data=json.dumps({"text": message}).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        return "slack-webhook"
    if os.environ.get("SLACK_TOKEN") and os.environ.get("SLACK_CHANNEL"):
        from dagster_slack import SlackResource  # the bot's client loads only when a bot posts

        client = SlackResource(token=dg.EnvVar("SLACK_TOKEN")).process_config_and_initialize().get_client()
        client.chat_postMessage(channel=os.environ["SLACK_CHANNEL"], text=message)
        return "slack-bot"
    return "log"


def run_failure_alert(default_status: dg.DefaultSensorStatus) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=default_status,
        description="Posts every failed run to Slack (SLACK_WEBHOOK_URL, or SLACK_TOKEN + SLACK_CHANNEL); "
        "logs it otherwise.",
    )
    def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
        message = failure_message(context)
        channel = send_alert(message)
        if channel == "log":
            context.log.warning(f"{message} (set SLACK_WEBHOOK_URL to be told in Slack)")

    return run_failure_alert_sensor
