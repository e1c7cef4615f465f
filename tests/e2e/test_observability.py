"""Observability on the local stack (issue 13): the functions' log groups read as Lambda's do,
with lines that CloudWatch Logs Insights (and Powertools' documented queries) understand."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack, wait_for

pytestmark = pytest.mark.e2e

POWERTOOLS_KEYS = {
    "level",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_request_id",
    "xray_trace_id",
}
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
    assert set(finished) >= POWERTOOLS_KEYS, sorted(finished)
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
