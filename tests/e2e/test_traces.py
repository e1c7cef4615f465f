"""Traces on the local stack: one document followed across its functions through the X-Ray API.

The functions' X-Ray SDK sends its subsegments to the stack's UDP daemon, Lambda and Step
Functions write their own segments, and the trace header travels where AWS carries it
(S3 notification, Step Functions to its Lambda tasks, SNS to SQS). What it does not reach
(a DynamoDB stream, an SQS batch, the upload after the API call) is found by the document id
annotation.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import FINAL, LocalStack, wait_for
from tests.processing_samples import csv_bytes

pytestmark = pytest.mark.e2e

PROCESSING = ("intake", "processExtract", "processTransform", "processPolicy", "processFinalize")


def _short(name: str) -> str:
    return name.removeprefix("docflow-local-")


def _summaries(local: LocalStack, expression: str) -> list[dict[str, Any]]:
    now = time.time()
    answer = local.client("xray").get_trace_summaries(
        StartTime=now - 3600, EndTime=now + 60, FilterExpression=expression
    )
    return list(answer["TraceSummaries"])


def _traces(local: LocalStack, trace_ids: list[str]) -> list[dict[str, Any]]:
    xray, traces = local.client("xray"), []
    for start in range(0, len(trace_ids), 5):  # BatchGetTraces takes up to 5 ids
        traces += xray.batch_get_traces(TraceIds=trace_ids[start : start + 5])["Traces"]
    return traces


def _documents(traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(s["Document"]) for t in traces for s in t["Segments"]]


def _functions(documents: list[dict[str, Any]]) -> set[str]:
    return {_short(d["name"]) for d in documents if d.get("origin") == "AWS::Lambda::Function"}


def _walk(entity: dict[str, Any]) -> list[dict[str, Any]]:
    found = [entity]
    for child in entity.get("subsegments", []):
        found += _walk(child)
    return found


@pytest.fixture(scope="module")
def processed(local_stack: LocalStack) -> tuple[str, list[dict[str, Any]]]:
    document_id = local_stack.upload("traced.csv", "text/csv", csv_bytes(5, amount="3"))
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "processed", final

    def journey() -> list[dict[str, Any]] | None:
        summaries = _summaries(local_stack, f'annotation.document_id = "{document_id}"')
        traces = _traces(local_stack, [s["Id"] for s in summaries])
        functions = _functions(_documents(traces))
        # sync (DynamoDB stream) and notify (SQS) run after the document is final
        wanted = {*PROCESSING, "api", "sync", "notify"}
        return traces if wanted <= functions else None

    return document_id, wait_for(journey, timeout=120)


def test_a_document_id_finds_traces_across_its_functions(
    processed: tuple[str, list[dict[str, Any]]],
) -> None:
    _, traces = processed
    functions = _functions(_documents(traces))
    assert len(functions) >= 4
    assert {*PROCESSING, "api", "sync", "notify"} <= functions


def test_intake_the_state_machine_and_its_tasks_share_one_trace(
    processed: tuple[str, list[dict[str, Any]]],
) -> None:
    """S3's notification carries no context from a presigned upload (a new trace starts at
    intake); intake's StartExecution carries it to Step Functions, which passes it to each task."""
    _, traces = processed
    by_trace = {t["Id"]: _documents([t]) for t in traces}
    intake_trace = next(docs for docs in by_trace.values() if "intake" in _functions(docs))
    assert set(PROCESSING) <= _functions(intake_trace)
    machine = [d for d in intake_trace if d.get("origin") == "AWS::StepFunctions::StateMachine"]
    assert len(machine) == 1
    states = {s["name"] for s in machine[0]["subsegments"]}
    assert {"ExtractMetadata", "CheckPolicy", "Finalize"} <= states
    # each task's Lambda segment is a child of the state machine's call subsegment
    calls = {c["id"] for s in machine[0]["subsegments"] for c in s["subsegments"]}
    lambda_services = [d for d in intake_trace if d.get("origin") == "AWS::Lambda"]
    assert {d["parent_id"] for d in lambda_services if d["name"].endswith("Extract")} <= calls


def test_aws_calls_are_subsegments_of_the_function_segments(
    processed: tuple[str, list[dict[str, Any]]],
) -> None:
    document_id, traces = processed
    documents = _documents(traces)
    intake = next(
        d
        for d in documents
        if d.get("origin") == "AWS::Lambda::Function" and _short(d["name"]) == "intake"
    )
    handler = next(s for s in intake["subsegments"] if s["name"] == "## intake")
    assert handler["annotations"]["document_id"] == document_id
    assert handler["annotations"]["trigger"] == "event"
    assert handler["annotations"]["event_source"] == "aws:s3"
    calls = {
        (c["name"], c["aws"]["operation"])
        for c in _walk(handler)
        if c.get("namespace") == "aws" and "aws" in c
    }
    assert {("s3", "GetObject"), ("states", "StartExecution")} <= calls
    assert any(name == "dynamodb" for name, _ in calls)


def test_sqs_consumers_start_a_trace_linked_to_the_publisher(
    processed: tuple[str, list[dict[str, Any]]],
) -> None:
    """X-Ray links an SQS consumer's trace to the traces of the messages it received."""
    _, traces = processed
    by_trace = {t["Id"]: _documents([t]) for t in traces}
    notify = next(
        d
        for docs in by_trace.values()
        for d in docs
        if d.get("origin") == "AWS::Lambda" and _short(d["name"]) == "notify"
    )
    linked = {link["trace_id"] for link in notify.get("links", [])}
    assert linked & set(by_trace), notify.get("links")
    assert notify["trace_id"] not in linked


def test_filters_select_by_annotation_and_service(
    local_stack: LocalStack, processed: tuple[str, list[dict[str, Any]]]
) -> None:
    document_id, traces = processed
    assert _summaries(local_stack, 'annotation.document_id = "doc_nothing_here"') == []
    in_intake = _summaries(
        local_stack,
        f'service("docflow-local-intake") AND annotation.document_id = "{document_id}"',
    )
    assert len(in_intake) == 1
    summary = in_intake[0]
    assert summary["Id"] in {t["Id"] for t in traces}
    assert {"Name": "docflow-local-processFinalize"}.items() <= next(
        s for s in summary["ServiceIds"] if s["Name"].endswith("processFinalize")
    ).items()
    with pytest.raises(ClientError) as raised:
        _summaries(local_stack, "annotation.document_id ==")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"


def test_the_xray_api_is_subject_to_iam(local_stack: LocalStack) -> None:
    """A function's role writes traces (xray:PutTraceSegments on "*") but may not read them."""
    role = local_stack.client("lambda").get_function_configuration(
        FunctionName="docflow-local-api"
    )["Role"]
    credentials = local_stack.client("sts").assume_role(RoleArn=role, RoleSessionName="e2e")[
        "Credentials"
    ]
    xray = boto3.client(
        "xray",
        endpoint_url=local_stack.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    now = time.time()
    with pytest.raises(ClientError) as raised:
        xray.get_trace_summaries(StartTime=now - 60, EndTime=now)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
