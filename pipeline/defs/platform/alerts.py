"""Alerts: every failed asset-check evaluation once, and every failed run that Dagster will not retry, posted to
Slack when Slack is configured and logged otherwise; each links to its page in the UI (DAGSTER_UI_URL).

SLACK_WEBHOOK_URL (an incoming webhook) or SLACK_TOKEN with SLACK_CHANNEL (a bot, through
dagster-slack). Both are secrets: read when a message is sent, never logged.
"""

import json
import os
import urllib.request
from collections.abc import Mapping
from urllib.parse import quote, urlencode

import dagster as dg

from pipeline.lib.dagster_internals import check_evaluations_after, latest_event_storage_id

# Set on a failed run by the instance when its run retries (deploy/dagster.yaml) will re-execute it: "true" or
# "false". Only the attempt marked "false" (or unmarked, without run retries) is the last.
WILL_RETRY_TAG = "dagster/will_retry"
RETRY_NUMBER_TAG = "dagster/retry_number"  # on a retry: which one
# Check evaluations read per tick; more wait for the next tick, in order.
EVALUATIONS_PER_TICK = 500


def run_url(ui_url: str, run_id: str) -> str:
    return f"{ui_url}/runs/{run_id}"


def check_url(ui_url: str, key: dg.AssetCheckKey) -> str:
    """The check's page in the UI: its asset's Checks tab with the check open."""
    path = "/".join(quote(part, safe="") for part in key.asset_key.path)
    return f"{ui_url}/assets/{path}?{urlencode({'view': 'checks', 'checkDetail': key.name})}"


def partition_of(tags: Mapping[str, str]) -> str | None:
    """The partition, or the range of partitions, a run's tags name."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    if "dagster/asset_partition_range_start" in tags:
        return f"{tags['dagster/asset_partition_range_start']}..{tags['dagster/asset_partition_range_end']}"
    return None


def will_retry(run: dg.DagsterRun) -> bool:
    return run.tags.get(WILL_RETRY_TAG, "").lower() == "true"


def failure_message(context: dg.RunFailureSensorContext, ui_url: str) -> str:
    run = context.dagster_run
    partition = partition_of(run.tags)
    where = f" ({partition})" if partition else ""
    retry = run.tags.get(RETRY_NUMBER_TAG, "")
    attempt = f" (attempt {int(retry) + 1}, the last)" if retry.isdigit() else ""
    reason = context.failure_event.message or "no message"
    return f"Dagster run {run.run_id} of {run.job_name}{where} failed{attempt}: {reason}\n{run_url(ui_url, run.run_id)}"


def check_failure_message(
    evaluation: dg.AssetCheckEvaluation, run: dg.DagsterRun | None, ui_url: str, check_description: str | None
) -> str:
    """What failed (asset, partition, check, severity), what the check said, what it checks, and where to look."""
    key = evaluation.asset_check_key
    partition = evaluation.partition or (partition_of(run.tags) if run else None)
    where = f", partition {partition}" if partition else ""
    kind = "blocking " if evaluation.blocking else ""
    lines = [
        f"{evaluation.severity.value}: {kind}check {key.name} on {key.asset_key.to_user_string()}{where} failed: "
        f"{evaluation.description or 'no description'}"
    ]
    if check_description:
        lines.append(f"The check: {check_description}")
    lines.append(check_url(ui_url, key))
    if run:
        lines.append(f"Run: {run_url(ui_url, run.run_id)}")
    return "\n".join(lines)


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


def run_failure_alert(default_status: dg.DefaultSensorStatus, ui_url: str) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=default_status,
        description="Posts every failed run that Dagster will not retry (its last attempt) to Slack "
        "(SLACK_WEBHOOK_URL, or SLACK_TOKEN + SLACK_CHANNEL), with its page in the UI; logs it otherwise.",
    )
    def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        if will_retry(run):
            context.log.info(f"Run {run.run_id} of {run.job_name} failed and will be retried: no alert")
            return
        message = failure_message(context, ui_url)
        if send_alert(message) == "log":
            context.log.warning(f"{message} (set SLACK_WEBHOOK_URL to be told in Slack)")

    return run_failure_alert_sensor


def check_failure_alert(default_status: dg.DefaultSensorStatus, ui_url: str) -> dg.SensorDefinition:
    @dg.sensor(
        name="check_failure_alert_sensor",
        minimum_interval_seconds=30,
        default_status=default_status,
        description="Posts every failed asset-check evaluation (freshness, blocking or not, ERROR or WARN) once "
        "to Slack, with the check's page in the UI; logs it otherwise.",
    )
    def check_failure_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        instance = context.instance
        if context.cursor is None:  # the first tick: from now on, not the instance's whole history
            start = latest_event_storage_id(instance)
            context.update_cursor(str(start))
            return dg.SkipReason(f"Reading check evaluations stored after {start}")
        entries = check_evaluations_after(instance, int(context.cursor), EVALUATIONS_PER_TICK)
        failed = {storage_id: entry for storage_id, entry in entries.items() if not entry.asset_check_evaluation.passed}
        run_ids = list({entry.run_id for entry in failed.values()})
        runs = {run.run_id: run for run in instance.get_runs(dg.RunsFilter(run_ids=run_ids))} if run_ids else {}
        graph = context.repository_def.asset_graph if context.repository_def else None
        posted = 0
        for storage_id, entry in entries.items():
            if storage_id in failed:
                evaluation = entry.asset_check_evaluation
                key = evaluation.asset_check_key
                spec = graph.get_check_spec(key) if graph and key in graph.asset_check_keys else None
                message = check_failure_message(
                    evaluation, runs.get(entry.run_id), ui_url, spec.description if spec else None
                )
                try:
                    channel = send_alert(message)
                except Exception as error:  # the cursor stays before this one: the next tick posts it again
                    context.log.error(f"Could not post the failed check {key.to_user_string()}: {error!r}")
                    return dg.SkipReason(f"{posted} posted; posting failed at storage id {storage_id}: {error!r}")
                if channel == "log":
                    context.log.warning(f"{message} (set SLACK_WEBHOOK_URL to be told in Slack)")
                posted += 1
            context.update_cursor(str(storage_id))
        return dg.SkipReason(f"{len(entries)} check evaluations read, {posted} failed and posted")

    return check_failure_alert_sensor
