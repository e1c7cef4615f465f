"""The demo's analytics report reads back what the analytics wrote: the embedded metrics of a
closed window, extracted as CloudWatch extracts them, become one row per route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from docflow.analytics.model import AlertPolicy, Window
from docflow.analytics.service import Analyzer
from localcloud.patches import logs
from scripts import observability
from tests.conftest import REGION


class _NoAlerts:
    def publish(self, alert: Any, window: Any) -> None:
        raise AssertionError("no alert expected")


def _access(route: str, status: int, latency_ms: int) -> dict[str, str]:
    return {"routeKey": route, "status": str(status), "responseLatency": str(latency_ms)}


def test_the_report_shows_each_routes_figures_of_a_closed_window(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    analyzer = Analyzer("docflow/logs", "docflow", AlertPolicy(50, 10**6, 10**6), _NoAlerts(), 10)
    state = analyzer.resume({})
    lines = [_access("GET /documents", 200, 10)] * 8 + [_access("GET /documents", 503, 30)] * 2
    analyzer.take(state, [*lines, _access("POST /documents", 201, 40)])
    capsys.readouterr()
    analyzer.close(state, Window("shardId-0", start.isoformat(), None))
    emitted = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert logs.put_metrics("123456789012", REGION, emitted) > 0

    rows = observability.window_figures(
        lambda service: boto3.client(service, region_name=REGION),
        "docflow/logs",
        "docflow",
        since=start,
        window_s=60,
    )

    assert [(r.window_start, r.route) for r in rows] == [
        (start, "GET /documents"),
        (start, "POST /documents"),
    ]
    get = rows[0].figures
    assert (get["Requests"], get["Errors"], get["ErrorRate"]) == (10.0, 2.0, 20.0)
    assert get["LatencyP50"] <= get["LatencyP95"] <= get["LatencyP99"]
    header, *table = observability.format_windows(rows)
    assert "requests" in header
    assert table[0].split()[1:5] == ["GET", "/documents", "10", "2"]
    assert (rows[1].figures["Requests"], rows[1].figures["Errors"]) == (1.0, 0.0)
