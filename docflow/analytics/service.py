"""Fold a window's log lines into its state; at the window's end, report and alert.

The lines are the JSON values of the log events the stream delivered (the handler reads them
out of the records); a line that is not an access or application line, and a record that held
no readable lines at all (None), are counted as malformed, never fatal. At the window's end
every route gets its metrics (CloudWatch embedded metric format, dated at the window's start)
and each crossed threshold one alert, at most once per window however often the final
invocation is retried.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from docflow.analytics.model import (
    Alert,
    AlertPolicy,
    MalformedLineError,
    RouteStats,
    Window,
    add,
    alerts,
    new_state,
    parse_line,
    summarize,
)
from shared.logging import get_logger
from shared.metrics import Metrics

log = get_logger(__name__)


class AlertSink(Protocol):
    def publish(self, alert: Alert, window: tuple[str | None, str | None]) -> None: ...


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

    @staticmethod
    def resume(state: Mapping[str, Any]) -> dict[str, Any]:
        """The window's state as the previous invocation left it, or a new one."""
        return dict(state) if state.get("routes") is not None else new_state()

    def take(self, state: dict[str, Any], lines: Sequence[Any] | None) -> None:
        """Fold one record's lines into `state`; None is a record that held none."""
        if lines is None:
            state["malformed"] += 1
            return
        for value in lines:
            try:
                add(state, parse_line(value), self.max_routes)
            except MalformedLineError:
                state["malformed"] += 1

    def close(self, state: Mapping[str, Any], window: Window) -> WindowReport:
        """The window is over: metrics for every route, and an alert for each crossing."""
        stats = summarize(dict(state))
        timestamp = _epoch_ms(window.start)
        for route in stats:
            metrics = Metrics(self.namespace, {"Service": self.service, "Route": route.route})
            metrics.add("Requests", route.requests)
            metrics.add("Errors", route.errors)
            metrics.add("ErrorRate", round(route.error_rate_percent, 3), "Percent")
            metrics.add("LatencyP50", route.p50_ms, "Milliseconds")
            metrics.add("LatencyP95", route.p95_ms, "Milliseconds")
            metrics.add("LatencyP99", route.p99_ms, "Milliseconds")
            self._emit(metrics, timestamp)
        totals = Metrics(self.namespace, {"Service": self.service})
        totals.add("MalformedRecords", state.get("malformed", 0))
        totals.add("ApplicationErrors", state.get("app_errors", 0))
        totals.set_property("shard", window.shard_id)
        self._emit(totals, timestamp)
        raised = alerts(stats, self.policy)
        for alert in raised:
            self._once(
                f"alert#{window.shard_id}#{window.start}#{alert.route}",
                functools.partial(self.sink.publish, alert, (window.start, window.end)),
            )
        log.info(
            "window_closed",
            window_start=window.start,
            routes=len(stats),
            requests=sum(route.requests for route in stats),
            alerts=[a.route for a in raised],
            malformed=state.get("malformed", 0),
        )
        return WindowReport(window.start, stats, raised, int(state.get("malformed", 0)))


def _epoch_ms(iso: str | None) -> int | None:
    """The window start in epoch milliseconds; None (the metrics' own time) if unreadable."""
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
