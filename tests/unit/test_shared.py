from __future__ import annotations

import dataclasses
import io
import json
import logging
from typing import Any

import pytest
import structlog

from shared import errors
from shared import logging as shared_logging
from shared.batch import process_batch
from shared.events.http import HttpRequest
from shared.events.s3 import S3Event
from shared.metrics import Metrics
from shared.secrets import SecretCache
from shared.settings import Settings, SettingsError, env
from tests.support import LOG_LINE_KEYS, event


@dataclasses.dataclass(frozen=True)
class _Example(Settings):
    table: str = env("TABLE")
    limit: int = env("LIMIT", 10)
    types: tuple[str, ...] = env("TYPES", ())


def test_settings_are_typed_and_defaulted() -> None:
    loaded = _Example.load({"TABLE": "t", "TYPES": "a, b", "DOCFLOW_TRACING": "true"})
    assert (loaded.table, loaded.limit, loaded.types, loaded.tracing_enabled) == (
        "t",
        10,
        ("a", "b"),
        True,
    )


def test_a_missing_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="TABLE"):
        _Example.load({})


def test_a_malformed_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="LIMIT"):
        _Example.load({"TABLE": "t", "LIMIT": "ten"})


def test_http_errors_answer_with_code_and_message_and_hide_the_unexpected() -> None:
    known = errors.http_response(errors.NotFoundError("document x not found"))
    assert (known["statusCode"], json.loads(known["body"])) == (
        404,
        {"error": "not_found", "message": "document x not found"},
    )
    unknown = errors.http_response(KeyError("internal detail"))
    assert unknown["statusCode"] == 500
    assert "internal detail" not in unknown["body"]


def test_http_request_parses_payload_v2() -> None:
    request = HttpRequest.from_event(event("http_create_document"))
    assert (request.route_key, request.method, request.json()["content_type"]) == (
        "POST /documents",
        "POST",
        "text/csv",
    )


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", ""])
def test_bad_bodies_are_client_errors(body: str) -> None:
    request = HttpRequest.from_event(event("http_create_document", body=body))
    with pytest.raises(errors.InvalidInputError):
        request.json()


def test_s3_keys_are_url_decoded() -> None:
    (record,) = S3Event.from_event(event("s3_object_created")).records
    assert record.key == "incoming/doc_00000000000000000000000000000000/invoice 2026+Q4.csv"
    assert record.delivery_key.endswith("#096fKKXTRTtl3on89fVO.nfljtsv6qko")


@pytest.mark.parametrize("bad", [{}, {"Records": "x"}, {"Records": [{"s3": {}}]}, "nope"])
def test_malformed_s3_events_are_invalid_input(bad: object) -> None:
    with pytest.raises(errors.InvalidInputError):
        S3Event.from_event(bad)


def test_batch_reports_only_failed_items() -> None:
    def handle(n: int) -> None:
        if n % 2:
            raise errors.TransientError("odd")

    result = process_batch([1, 2, 3, 4], handle, str)
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "3"}]}


def test_ordered_batches_stop_acknowledging_after_the_first_failure() -> None:
    def handle(n: int) -> None:
        if n == 2:
            raise errors.PermanentError("bad")

    result = process_batch([1, 2, 3], handle, str, ordered=True)
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}


def test_embedded_metrics_follow_the_format() -> None:
    metrics = Metrics("docflow", {"function": "intake"})
    metrics.add("DocumentsAccepted", 2)
    metrics.add("Latency", 12.5, "Milliseconds")
    (line,) = metrics.serialize(timestamp_ms=1)
    assert line["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "docflow",
            "Dimensions": [["function"]],
            "Metrics": [
                {"Name": "DocumentsAccepted", "Unit": "Count"},
                {"Name": "Latency", "Unit": "Milliseconds"},
            ],
        }
    ]
    assert (line["function"], line["DocumentsAccepted"], line["Latency"]) == ("intake", 2.0, 12.5)


def test_secrets_are_cached_until_their_ttl() -> None:
    calls: list[str] = []

    class _Client:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - AWS casing
            calls.append(SecretId)
            return {"SecretString": json.dumps({"v": len(calls)})}

    now = [0.0]
    cache = SecretCache(ttl_seconds=10, client_factory=_Client, clock=lambda: now[0])
    assert cache.get_json("s") == {"v": 1}
    assert cache.get_json("s") == {"v": 1}
    now[0] = 11
    assert cache.get_json("s") == {"v": 2}
    assert cache.get_json("s", refresh=True) == {"v": 3}


def test_logs_are_json_lines_with_secrets_redacted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    shared_logging._state["configured"] = False
    structlog.reset_defaults()
    shared_logging.configure("INFO", redact_keys=("iban",), service="docflow")

    class _Context:
        aws_request_id, function_name, function_version = "req-1", "docflow-test-api", "$LATEST"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:docflow-test-api"

    shared_logging.bind_invocation(_Context(), "corr-1", "doc-1")
    shared_logging.get_logger("t").info(
        "thing_done", api_key="dfk_live", nested={"Authorization": "Bearer x", "iban": "DE00"}
    )
    logging.getLogger("library").warning("stdlib says %s", "hello")
    shared_logging.clear_invocation()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first = lines[0]
    assert tuple(first)[: len(LOG_LINE_KEYS)] == LOG_LINE_KEYS
    assert {k: first[k] for k in ("level", "message", "service", "function_request_id")} == {
        "level": "INFO",
        "message": "thing_done",
        "service": "docflow",
        "function_request_id": "req-1",
    }
    assert first["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert (first["correlation_id"], first["document_id"], first["function_memory_size"]) == (
        "corr-1",
        "doc-1",
        512,
    )
    assert first["timestamp"].endswith("Z")
    assert "event" not in first
    assert first["api_key"] == first["nested"]["Authorization"] == first["nested"]["iban"] == "***"
    assert (lines[1]["level"], lines[1]["message"]) == ("WARNING", "stdlib says hello")
    assert lines[1]["function_request_id"] == "req-1"
    assert "dfk_live" not in io.StringIO(json.dumps(lines)).getvalue()


@pytest.mark.parametrize(
    ("trigger", "invocation", "document_id"),
    [
        ("http", {"pathParameters": {"id": "doc_7"}, "headers": {}}, "doc_7"),
        ("http", {"headers": {}}, None),
        ("task", {"document_id": "doc_8", "bucket": "b"}, "doc_8"),
        ("task", {"document_id": 5}, None),
        ("batch", ["not", "a", "dict"], None),
    ],
)
def test_every_line_of_an_invocation_names_the_document_its_event_is_about(
    capsys: pytest.CaptureFixture[str], trigger: Any, invocation: Any, document_id: str | None
) -> None:
    from shared.handler import lambda_handler

    @lambda_handler(trigger=trigger, settings=Settings.load({}))
    def handler(event: Any, context: Any) -> str:
        shared_logging.get_logger("t").info("working")
        return "done"

    class _Context:
        aws_request_id, function_name = "req-9", "docflow-test-x"

    capsys.readouterr()
    assert handler(invocation, _Context()) == "done"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["message"] for line in lines] == ["working", "invocation_finished"]
    assert [line.get("document_id") for line in lines] == [document_id, document_id]
    assert {line["function_request_id"] for line in lines} == {"req-9"}
