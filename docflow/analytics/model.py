"""Log lines, the per-window state they fold into, and the statistics read from it.

Lines are JSON objects. Access lines are the HTTP API's access log (the stage's format in
serverless.yml, `provider.logs.httpApi`): `routeKey`, `status` and `responseLatency`, strings
or numbers as API Gateway writes them. Application lines (a function's own, Powertools keys)
carry a `level`; errors among them are counted. Anything else is malformed: counted, never
fatal. That includes statuses or latencies that are not finite numbers, and route names longer
than `MAX_ROUTE_CHARS` (each kept route costs window state, which Lambda caps at 1 MB).

The window state must stay small (Lambda keeps at most 1 MB between invocations of a
tumbling window), so latencies are kept as a log-scale histogram per route: bucket `b`
holds latencies in [GAMMA**b, GAMMA**(b+1)) ms, and a percentile read from it is within
about 2.5 % of the exact value. Routes beyond `max_routes` per window count as `other`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

GAMMA = 1.05
_LOG_GAMMA = math.log(GAMMA)
OTHER_ROUTE = "other"
ERROR_LEVELS = frozenset({"error", "critical", "fatal"})
MAX_ROUTE_CHARS = 256
MAX_LEVEL_CHARS = 32


class MalformedLineError(ValueError):
    """A log line that is neither an access nor an application line."""


@dataclass(frozen=True)
class Window:
    """A tumbling window of one shard, as the stream's poller names it (ISO 8601 bounds)."""

    shard_id: str
    start: str | None
    end: str | None


@dataclass(frozen=True)
class AccessLine:
    route: str
    status: int
    latency_ms: float

    @property
    def is_error(self) -> bool:
        return self.status >= 500


@dataclass(frozen=True)
class AppLine:
    level: str


def parse_line(value: Any) -> AccessLine | AppLine:
    if not isinstance(value, dict):
        raise MalformedLineError("a log line must be a JSON object")
    route = value.get("routeKey")
    if route is not None:
        if not isinstance(route, str) or not 0 < len(route) <= MAX_ROUTE_CHARS:
            raise MalformedLineError(f"route must be a string of 1 to {MAX_ROUTE_CHARS} characters")
        status = _number(value.get("status"), "status")
        latency = _number(value.get("responseLatency"), "latency")
        if latency < 0 or not 100 <= status <= 599 or status != int(status):
            raise MalformedLineError("access line with an impossible status or latency")
        return AccessLine(route, int(status), latency)
    level = value.get("level")
    if isinstance(level, str) and len(level) <= MAX_LEVEL_CHARS:
        return AppLine(level.lower())
    raise MalformedLineError("neither an access line (routeKey) nor an application line (level)")


def _number(value: Any, name: str) -> float:
    """A finite number, given as a JSON number or a numeric string (API Gateway's access-log
    fields are strings); MalformedLineError for anything else (`true`, `1e400`, "Infinity")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedLineError(f"access line without a numeric {name}")
    if isinstance(value, str) and len(value) > 32:
        raise MalformedLineError(f"access line with an oversized {name}")
    try:
        number = float(value)
    except (ValueError, OverflowError) as exc:
        raise MalformedLineError(f"access line with a {name} that is not a number") from exc
    if not math.isfinite(number):
        raise MalformedLineError(f"access line with a {name} that is not finite")
    return number


def bucket(latency_ms: float) -> int:
    return 0 if latency_ms < 1 else math.floor(math.log(latency_ms) / _LOG_GAMMA)


def bucket_value(index: int) -> float:
    """A bucket's representative latency: the geometric middle of its bounds."""
    return float(GAMMA ** (index + 0.5)) if index > 0 else 1.0


def new_state() -> dict[str, Any]:
    return {"routes": {}, "malformed": 0, "app_lines": 0, "app_errors": 0}


def add(state: dict[str, Any], line: AccessLine | AppLine, max_routes: int) -> None:
    """Fold one line into the window state (a JSON-ready dict, as Lambda carries it)."""
    if isinstance(line, AppLine):
        state["app_lines"] += 1
        state["app_errors"] += line.level in ERROR_LEVELS
        return
    routes: dict[str, Any] = state["routes"]
    route = line.route if line.route in routes or len(routes) < max_routes else OTHER_ROUTE
    stats = routes.setdefault(route, {"n": 0, "e": 0, "h": {}})
    stats["n"] += 1
    stats["e"] += line.is_error
    key = str(bucket(line.latency_ms))
    stats["h"][key] = stats["h"].get(key, 0) + 1


def percentile(histogram: dict[str, int], q: float) -> float:
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(histogram, key=int):
        seen += histogram[index]
        if seen >= rank:
            return round(bucket_value(int(index)), 3)
    raise AssertionError("unreachable: rank is at most the total")


@dataclass(frozen=True)
class RouteStats:
    route: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def error_rate_percent(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 0.0


def summarize(state: dict[str, Any]) -> list[RouteStats]:
    return [
        RouteStats(
            route=route,
            requests=int(stats["n"]),
            errors=int(stats["e"]),
            p50_ms=percentile(stats["h"], 0.50),
            p95_ms=percentile(stats["h"], 0.95),
            p99_ms=percentile(stats["h"], 0.99),
        )
        for route, stats in sorted(state["routes"].items())
    ]


@dataclass(frozen=True)
class AlertPolicy:
    error_rate_percent: float
    p99_latency_ms: float
    min_requests: int


@dataclass(frozen=True)
class Alert:
    route: str
    reasons: tuple[str, ...]
    stats: RouteStats


def alerts(stats: list[RouteStats], policy: AlertPolicy) -> list[Alert]:
    """Routes whose window crossed a threshold; too few requests say nothing, so no alert."""
    raised = []
    for route in stats:
        if route.requests < policy.min_requests:
            continue
        reasons = []
        if route.error_rate_percent > policy.error_rate_percent:
            reasons.append(
                f"error rate {route.error_rate_percent:.1f}% > {policy.error_rate_percent:g}%"
            )
        if route.p99_ms > policy.p99_latency_ms:
            reasons.append(f"p99 latency {route.p99_ms:.0f} ms > {policy.p99_latency_ms:g} ms")
        if reasons:
            raised.append(Alert(route.route, tuple(reasons), route))
    return raised
