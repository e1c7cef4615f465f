"""The X-Ray tracer inside a Lambda-like process: what the SDK sends the daemon, over UDP.

A fresh interpreter plays a traced function (Lambda's variables: LAMBDA_TASK_ROOT,
_X_AMZN_TRACE_ID with the function segment as parent, AWS_XRAY_DAEMON_ADDRESS) and runs a
decorated handler that calls S3 and DynamoDB against moto. The test is the daemon: it reads the
datagrams. The SDK patches botocore process-wide, hence the separate process.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from localcloud.xray import store
from localcloud.xray.daemon import parse_datagram
from shared.tracing import document_ids, event_source

ROOT = Path(__file__).resolve().parents[2]
TRACE = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
FUNCTION = textwrap.dedent(
    """
    import json, boto3
    from moto import mock_aws
    from shared.handler import lambda_handler
    from shared.settings import Settings

    class Context:
        aws_request_id, function_name, function_version = "r-1", "fn", "1"
        def get_remaining_time_in_millis(self):
            return 10_000

    @lambda_handler("batch", Settings.load())
    def handler(event, context):
        boto3.client("s3", region_name="us-east-1").list_buckets()
        boto3.client("dynamodb", region_name="us-east-1").list_tables()
        return {"batchItemFailures": []}

    with mock_aws():
        handler(json.loads(EVENT), Context())
    """
)


def _sqs_event(*document_ids: str) -> dict[str, Any]:
    def record(document_id: str) -> dict[str, Any]:
        message = json.dumps({"type": "document.processed", "document_id": document_id})
        return {
            "messageId": f"m-{document_id}",
            "eventSource": "aws:sqs",
            "body": json.dumps({"Type": "Notification", "Message": message}),
        }

    return {"Records": [record(d) for d in document_ids]}


def _run_traced(event: dict[str, Any]) -> list[dict[str, Any]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(10)
        env = {
            **os.environ,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "LAMBDA_TASK_ROOT": str(ROOT),
            "_X_AMZN_TRACE_ID": f"Root={TRACE};Parent={PARENT};Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            "DOCFLOW_TRACING": "true",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        env.pop("AWS_ENDPOINT_URL", None)
        code = f"EVENT = {json.dumps(json.dumps(event))}\n{FUNCTION}"
        subprocess.run(  # noqa: S603 - this interpreter, code of this file
            [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
        )
        daemon.settimeout(0.5)
        received = []
        with contextlib.suppress(TimeoutError):
            while True:
                received.append(parse_datagram(daemon.recv(65536)))
        # The SDK streams each finished AWS call on its own while the handler's subsegment is
        # open, then the handler's: X-Ray (and the local store) nests them again.
        return store.assemble(received)


def _walk(entity: dict[str, Any]) -> list[dict[str, Any]]:
    return [entity, *(e for child in entity.get("subsegments", []) for e in _walk(child))]


def test_one_subsegment_per_invocation_under_lambdas_function_segment_with_aws_calls() -> None:
    [document] = _run_traced(_sqs_event("doc_a"))
    assert (document["type"], document["trace_id"], document["parent_id"]) == (
        "subsegment",
        TRACE,
        PARENT,
    )
    assert document["name"] == "## __main__"  # the handler module's name
    assert document["annotations"] == {
        "trigger": "batch",
        "event_source": "aws:sqs",
        "document_id": "doc_a",
    }
    calls = [(c["name"], c["aws"]["operation"]) for c in _walk(document) if "aws" in c]
    assert calls == [("s3", "ListBuckets"), ("dynamodb", "ListTables")]  # endpoint prefixes
    assert all(c.get("namespace") == "aws" for c in _walk(document)[1:])


def test_each_further_document_of_a_batch_gets_its_own_annotated_subsegment() -> None:
    [document] = _run_traced(_sqs_event("doc_a", "doc_b", "doc_c"))
    assert document["annotations"]["document_id"] == "doc_a"
    marked = [
        s["annotations"]["document_id"] for s in _walk(document) if s["name"] == "## document"
    ]
    assert marked == ["doc_b", "doc_c"]


def test_document_ids_are_read_from_every_trigger_the_project_receives() -> None:
    stream = {
        "Records": [
            {"eventSource": "aws:dynamodb", "dynamodb": {"Keys": {"document_id": {"S": "doc_s"}}}}
        ]
    }
    s3 = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "incoming/doc_k/a.csv"}}}]}
    unregistered = {"Records": [{"s3": {"object": {"key": "quarantine/unregistered/a.csv"}}}]}
    http = {
        "routeKey": "GET /documents/{id}",
        "requestContext": {},
        "pathParameters": {"id": "doc_h"},
    }
    created = {"statusCode": 201, "body": json.dumps({"document_id": "doc_new"})}
    task = {"document_id": "doc_t", "metadata": {"jobs": [{"document_id": "doc_t"}]}}
    assert [document_ids(e) for e in (stream, s3, unregistered, http, created, task)] == [
        ["doc_s"],
        ["doc_k"],
        [],
        ["doc_h"],
        ["doc_new"],
        ["doc_t"],
    ]
    assert [event_source(e) for e in (stream, s3, http, task)] == [
        "aws:dynamodb",
        "aws:s3",
        "aws:http",
        None,
    ]
    assert document_ids({"body": "{not json"}) == []
    assert len(document_ids({"Records": [{"document_id": f"doc_{i}"} for i in range(100)]})) == 20
