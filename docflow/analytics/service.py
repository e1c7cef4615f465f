"""Fold Kinesis log records into the window state; at the window's end, report and alert.

Records are raw JSON lines, or CloudWatch Logs subscription payloads (gzip, a `logEvents`
list whose messages are the lines). A record that cannot be read is counted as malformed and
skipped: not JSON, JSON nested deeper than `shared.events.payloads.MAX_DEPTH`, numbers that
are not finite, a payload of the wrong shape, or gzip that expands beyond
`MAX_PAYLOAD_BYTES` (read incrementally, so a bomb costs at most that much memory). Anything
else failing stops the batch at that record's sequence number, which the stream retries from
(the shared batch helper, ordered).
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
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
from shared.errors import InvalidInputError
from shared.events.kinesis import KinesisRecord, KinesisWindowEvent
from shared.events.payloads import loads
from shared.logging import get_logger
from shared.metrics import Metrics

log = get_logger(__name__)


class AlertSink(Protocol):
    def publish(self, alert: Alert, window: tuple[str | None, str | None]) -> None: ...


MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""The most a gzip record may expand to. CloudWatch Logs sends at most 1 MiB of log events
per subscription delivery (PutLogEvents' batch limit), so 4 MiB leaves room and bounds a
bomb's cost well inside the function's memory."""

_GZIP = b"\x1f\x8b"


def lines(data: bytes, max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> Iterator[Any]:
    """The JSON values a record holds; MalformedLineError for what cannot be read."""
    if data[:2] == _GZIP:
        payload = _json(_gunzip(data, max_payload_bytes))
        if not isinstance(payload, dict):
            raise MalformedLineError("CloudWatch Logs payload is not an object")
        if payload.get("messageType") == "CONTROL_MESSAGE":
            return
        events = payload.get("logEvents")
        if events is None:
            events = []
        if not isinstance(events, list):
            raise MalformedLineError("CloudWatch Logs payload: logEvents must be a list")
        for event in events:
            # A line unreadable on its own is yielded as None (malformed, counted by the
            # caller); the payload's other lines still count.
            message = event.get("message") if isinstance(event, dict) else None
            try:
                yield _json(message) if isinstance(message, str) else None
            except MalformedLineError:
                yield None
        return
    yield _json(data)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Every gzip member of `data`, decompressed to at most `limit` bytes in total."""
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(rest, limit - size + 1)
            size += len(chunk)
            out.append(chunk)
            if size > limit or inflater.unconsumed_tail:
                raise MalformedLineError(f"gzip payload expands beyond {limit} bytes")
            if not inflater.eof:
                raise MalformedLineError("gzip payload is truncated")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise MalformedLineError(f"unreadable gzip payload: {exc}") from exc
    return b"".join(out)


def _json(text: str | bytes) -> Any:
    try:
        return loads(text, "log line")
    except InvalidInputError as exc:
        raise MalformedLineError(exc.message) from exc


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
            except MalformedLineError:
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
    """The window start in epoch milliseconds; None (the metrics' own time) if unreadable."""
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
