"""Fold Kinesis log records into the window state; at the window's end, report and alert.

Records are raw JSON lines, or CloudWatch Logs subscription payloads (gzip, a `logEvents`
list whose messages are the lines). A record that cannot be read is counted as malformed and
skipped; anything else failing stops the batch at that record's sequence number, which the
stream retries from (the shared batch helper, ordered).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from docflow.analytics.model import (
    Alert,
    AlertPolicy,
    MalformedLineError,
    RouteStats,
    add,
    alerts,
    new_state,
    parse_line,
    summarize,
)
from shared.batch import process_batch
from shared.events.kinesis import KinesisRecord, KinesisWindowEvent
from shared.logging import get_logger
from shared.metrics import Metrics

log = get_logger(__name__)


class AlertSink(Protocol):
    def publish(self, alert: Alert, window: tuple[str | None, str | None]) -> None: ...


def lines(data: bytes) -> Iterator[Any]:
    """The JSON values a record holds; MalformedLineError for what cannot be read."""
    if data[:2] == b"\x1f\x8b":
        try:
            payload = json.loads(gzip.decompress(data))
        except (OSError, EOFError, ValueError) as exc:
            raise MalformedLineError(f"unreadable CloudWatch Logs payload: {exc}") from exc
        if not isinstance(payload, dict):
            raise MalformedLineError("CloudWatch Logs payload is not an object")
        if payload.get("messageType") == "CONTROL_MESSAGE":
            return
        for event in payload.get("logEvents") or []:
            yield _json(str(event.get("message", "")) if isinstance(event, dict) else "")
        return
    yield _json(data.decode("utf-8", errors="strict") if data else "")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedLineError(f"not JSON: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class WindowReport:
    window_start: str | None
    routes: list[RouteStats]
    alerts: list[Alert]
    malformed: int


class Analyzer:
    def __init__(
        self,
        namespace: str,
        service: str,
        policy: AlertPolicy,
        sink: AlertSink,
        max_routes: int,
        emit: Callable[[Metrics, int | None], None] = lambda m, ts: m.flush(timestamp_ms=ts),
        once: Callable[[str, Callable[[], None]], object] | None = None,
    ) -> None:
        self.namespace = namespace
        self.service = service
        self.policy = policy
        self.sink = sink
        self.max_routes = max_routes
        self._emit = emit
        # A retried final invocation must not page twice: each alert runs under a key.
        self._once = once or (lambda _key, work: work())

    def fold(self, event: KinesisWindowEvent) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the window state after this batch, the partial batch response)."""
        state = event.state if event.state.get("routes") is not None else new_state()

        def take(record: KinesisRecord) -> None:
            try:
                for value in lines(record.data):
                    try:
                        add(state, parse_line(value), self.max_routes)
                    except MalformedLineError:
                        state["malformed"] += 1
            except (MalformedLineError, UnicodeDecodeError):
                state["malformed"] += 1

        response = process_batch(event.records, take, lambda r: r.sequence_number, ordered=True)
        return state, response

    def close(self, event: KinesisWindowEvent, state: dict[str, Any]) -> WindowReport:
        """The window is over: metrics for every route, and an alert for each crossing."""
        stats = summarize(state)
        timestamp = _epoch_ms(event.window_start)
        for route in stats:
            metrics = Metrics(self.namespace, {"Service": self.service, "Route": route.route})
            metrics.add("Requests", route.requests)
            metrics.add("ErrorRate", round(route.error_rate_percent, 3), "Percent")
            metrics.add("LatencyP50", route.p50_ms, "Milliseconds")
            metrics.add("LatencyP95", route.p95_ms, "Milliseconds")
            metrics.add("LatencyP99", route.p99_ms, "Milliseconds")
            self._emit(metrics, timestamp)
        totals = Metrics(self.namespace, {"Service": self.service})
        totals.add("MalformedRecords", state.get("malformed", 0))
        totals.add("ApplicationErrors", state.get("app_errors", 0))
        totals.set_property("shard", event.shard_id)
        self._emit(totals, timestamp)
        raised = alerts(stats, self.policy)
        for alert in raised:
            window = (event.window_start, event.window_end)
            self._once(
                f"alert#{event.shard_id}#{event.window_start}#{alert.route}",
                functools.partial(self.sink.publish, alert, window),
            )
        log.info(
            "window_closed",
            window_start=event.window_start,
            routes=len(stats),
            alerts=[a.route for a in raised],
            malformed=state.get("malformed", 0),
        )
        return WindowReport(event.window_start, stats, raised, int(state.get("malformed", 0)))


def _epoch_ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
