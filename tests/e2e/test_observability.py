"""Observability on the local stack (issue 13): the functions' log groups read as Lambda's do,
with lines that CloudWatch Logs Insights (and Powertools' documented queries) understand; the
HTTP API's access log reaches the analytics through its subscription filter and the Kinesis
stream, and the analytics' per-route figures become CloudWatch metrics. Nothing here writes to
the stream: only API traffic does."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from localcloud import stack
from scripts import observability
from tests.e2e.conftest import LocalStack, wait_for
from tests.support import LOG_LINE_KEYS

pytestmark = pytest.mark.e2e

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d\d ms\t"
    r"Billed Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: \d+ MB"
    r"(\tInit Duration: \d+\.\d\d ms)?$"
)


def _events(local: LocalStack, group: str) -> list[dict[str, Any]]:
    logs = local.client("logs")
    found: list[dict[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        found += page["events"]
    return found


def test_the_api_log_group_holds_powertools_json_lines_and_lambda_report_lines(
    local_stack: LocalStack,
) -> None:
    document_id = local_stack.upload("keys.csv", "text/csv", b"id,amount\nA-1,2.00\n")
    read = local_stack.api("GET", f"/documents/{document_id}", headers={"x-correlation-id": "c-1"})
    assert read.status_code == 200, read.text
    group = f"/aws/lambda/{local_stack.description['stack']}-api"

    def the_read_logged() -> list[dict[str, Any]]:
        lines = []
        for event in _events(local_stack, group):
            if event["message"].startswith("{"):
                line = json.loads(event["message"])
                if line.get("correlation_id") == "c-1":
                    lines.append(line)
        return lines

    lines = wait_for(the_read_logged, timeout=30)
    finished = next(line for line in lines if line["message"] == "invocation_finished")
    assert set(finished) >= set(LOG_LINE_KEYS), sorted(finished)
    assert (finished["level"], finished["service"], finished["document_id"]) == (
        "INFO",
        "docflow",
        document_id,
    )
    assert finished["function_name"] == f"{local_stack.description['stack']}-api"
    assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", finished["xray_trace_id"])
    assert isinstance(finished["cold_start"], bool)
    messages = [e["message"] for e in _events(local_stack, group)]
    request_id = finished["function_request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert f"END RequestId: {request_id}" in messages
    reports = [found for m in messages if (found := REPORT.match(m))]
    assert request_id in {report["id"] for report in reports}
    # The first invocation of an environment reports its init, as Lambda does.
    assert any(report.group(0).find("Init Duration") > 0 for report in reports)


def _analytics_config() -> dict[str, Any]:
    config = yaml.safe_load((stack.ROOT / "config" / "local.yml").read_text())
    return dict(config["analytics"])


def test_after_api_traffic_cloudwatch_lists_the_analytics_per_route_metrics(
    local_stack: LocalStack,
) -> None:
    config = _analytics_config()
    since = datetime.now(UTC) - timedelta(seconds=int(config["windowSeconds"]))
    sent = 6
    for _ in range(sent):
        assert local_stack.api("GET", "/documents").status_code == 200
    cloudwatch = local_stack.client("cloudwatch")
    route = [{"Name": "Route", "Value": "GET /documents"}, {"Name": "Service", "Value": "docflow"}]

    def requests_counted() -> float:
        # The window closes after windowSeconds; its metrics are dated at its start.
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "requests",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": config["namespace"],
                            "MetricName": "Requests",
                            "Dimensions": route,
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=since - timedelta(minutes=1),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
        )
        return float(sum(answer["MetricDataResults"][0]["Values"]))

    counted = wait_for(lambda: requests_counted() >= sent, timeout=3 * config["windowSeconds"])
    assert counted
    listed = cloudwatch.list_metrics(Namespace=config["namespace"], Dimensions=route)["Metrics"]
    assert {m["MetricName"] for m in listed} >= {
        "Requests",
        "Errors",
        "ErrorRate",
        "LatencyP50",
        "LatencyP95",
        "LatencyP99",
    }
    # Each metric is listed once (name, namespace, dimensions), however many windows it had.
    assert len(listed) == len({m["MetricName"] for m in listed})
    # The access lines went through the stage's log group, in its format.
    group = f"/aws/http-api/{local_stack.description['stack']}"
    line = json.loads(_events(local_stack, group)[-1]["message"])
    assert set(line) >= {"requestId", "routeKey", "status", "responseLatency", "owner"}


def test_an_error_rate_over_the_threshold_pages_the_alarm_topic(local_stack: LocalStack) -> None:
    config = _analytics_config()
    window_s = int(config["windowSeconds"])
    name = local_stack.description["stack"]
    document_id = local_stack.upload("outage.csv", "text/csv", b"id,amount\nA-1,2.00\n")
    table = local_stack.description["tables"]["DocumentsTable"]
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
    topic_arn = observability.stack_resource(local_stack.client, name, "AlarmTopic")
    wanted = int(config["alert"]["minRequests"]) + 5
    with observability.AlarmInbox(local_stack.client, topic_arn, "e2e-alarm-inbox") as inbox:
        # All of the outage inside one window, however long the requests take.
        while time.time() % window_s > window_s / 2:
            time.sleep(0.2)
        with observability.ReadOutage(local_stack.client, f"{name}-api", table_arn):
            statuses = [
                local_stack.api("GET", f"/documents/{document_id}").status_code
                for _ in range(wanted)
            ]
        assert statuses == [500] * wanted
        assert local_stack.api("GET", f"/documents/{document_id}").status_code == 200
        alert = inbox.wait_for("GET /documents/{id}", timeout_s=3 * window_s)
    assert alert is not None, "no analytics alert reached the alarm topic"
    assert alert["stage"] == "local"
    assert any(reason.startswith("error rate") for reason in alert["reasons"]), alert
    assert alert["stats"]["errors"] >= wanted
    assert alert["stats"]["requests"] >= alert["stats"]["errors"]
