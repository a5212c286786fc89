"""An ECS task's CloudWatch log in the Dagster run: dagster-aws's PipesCloudWatchMessageReader for the Pipes
messages, with a log reader that pauses between reads and ends with the session.

dagster-aws 0.29's PipesCloudWatchLogReader asks GetLogEvents again at once when nothing new came, and looks at
the session only when something did: once the container is quiet it calls CloudWatch as fast as it answers until
the process ends, spending the account's GetLogEvents quota (dagster-io/dagster#31226, a fix proposed in #33417).
Seen here: a test run's reader was still calling minutes later. This reader polls every INTERVAL_SECONDS, reads
what is left when the session closes, and ends; it starts at once and waits for its stream itself.
"""

import sys
import threading
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_aws.pipes import PipesCloudWatchLogReader, PipesCloudWatchMessageReader

INTERVAL_SECONDS = 2.0
PIPES_MARK = '"__dagster_pipes_version"'  # in every line dagster-pipes writes as a message, not a log line
FINAL_READ_SECONDS = 30  # how long closing the session waits for the last lines


class CloudWatchLogReader(dg.PipesLogReader):
    """Forwards a log stream's lines (not the Pipes messages) to the step's output until the session closes."""

    def __init__(self, client, log_group: str, log_stream: str, start_time: int | None):
        self.client, self.log_group, self.log_stream, self.start_time = client, log_group, log_stream, start_time
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def target_is_readable(self, params: Mapping[str, Any]) -> bool:
        # Started at once: the reader waits for its stream itself. Dagster would otherwise wait for the stream
        # 60 s after the session closed, and a task that never started (an image that cannot be pulled) has none.
        return True

    def start(self, params: Mapping[str, Any], is_session_closed: threading.Event) -> None:
        self._thread = threading.Thread(
            target=self._read, args=(is_session_closed,), name=f"cloudwatch-log-reader {self.log_stream}", daemon=True
        )
        self._thread.start()

    def _read(self, is_session_closed: threading.Event) -> None:
        token = None
        while True:
            last = is_session_closed.is_set() or self._stopped.is_set()  # then one more read: the last lines
            token = self._forward(token)
            if last:
                return
            is_session_closed.wait(INTERVAL_SECONDS)

    def _forward(self, token: str | None) -> str | None:
        """Every event after `token`; the token to read on from."""
        while True:
            request = {"logGroupName": self.log_group, "logStreamName": self.log_stream, "startFromHead": True}
            if token:
                request["nextToken"] = token
            elif self.start_time:
                request["startTime"] = self.start_time
            try:
                response = self.client.get_log_events(**request)
            except self.client.exceptions.ResourceNotFoundException:  # the container has not written yet
                return token
            for event in response["events"]:
                lines = [line for line in event["message"].splitlines() if line and PIPES_MARK not in line]
                sys.stdout.write("".join(f"{line}\n" for line in lines))
            if response["nextForwardToken"] == token:  # CloudWatch gives the same token back at the end
                return token
            token = response["nextForwardToken"]

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(FINAL_READ_SECONDS)

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class CloudWatchMessageReader(PipesCloudWatchMessageReader):
    """dagster-aws's reader of Pipes messages in CloudWatch, whose container logs are read by CloudWatchLogReader."""

    def add_log_reader(self, log_reader: dg.PipesLogReader) -> None:
        if isinstance(log_reader, PipesCloudWatchLogReader):  # PipesECSClient adds one per container
            log_reader = CloudWatchLogReader(
                self.client, log_reader.log_group, log_reader.log_stream, log_reader.start_time
            )
        super().add_log_reader(log_reader)
