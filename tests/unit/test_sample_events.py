"""The sample events (`python -m localcloud event ...`, events/): AWS's shapes, read by the
project's own event views, filled with the stack's values."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from docflow.documents.events import DocumentEvent
from localcloud import events
from localcloud.__main__ import main as localcloud_main
from shared.events.cloudwatch_logs import LogsPayload, log_lines
from shared.events.http import HttpRequest
from shared.events.kinesis import KinesisWindowEvent
from shared.events.s3 import S3Event
from shared.events.schedule import ScheduledEvent
from shared.events.sqs import Notification, SqsEvent, SqsMessage
from shared.events.streams import DynamoDBStreamEvent
from tests.support import ROOT

REAL = ROOT / "tests" / "events"


def shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def generated(kind: str, action: str | None = None, **fields: Any) -> events.Generated:
    return events.generate(events.Request(kind, action, **fields), events.sample_view())


def test_events_directory_holds_exactly_the_generated_samples() -> None:
    on_disk = {
        path.name: json.loads(path.read_text()) for path in events.SAMPLES_DIR.glob("*.json")
    }
    assert on_disk == events.samples()


def test_the_s3_and_http_events_have_the_shape_of_the_recorded_aws_events() -> None:
    real_s3 = json.loads((REAL / "s3_object_created.json").read_text())
    assert shape(generated("intake").event) == shape(real_s3)
    real_get = json.loads((REAL / "http_get_document.json").read_text())
    assert shape(generated("api", "get").event) == shape(real_get)
    real_create = json.loads((REAL / "http_create_document.json").read_text())
    assert shape(generated("api", "create").event) == shape(real_create)


def test_intake_reads_the_object_key_back_decoded() -> None:
    (record,) = S3Event.from_event(generated("intake").event).records
    assert (record.bucket, record.key, record.version_id) == (
        "docflow-local-documents-123456789012-us-east-1",
        "incoming/doc_00000000000000000000000000000000/invoice 2026+Q4.csv",
        "096fKKXTRTtl3on89fVO.nfljtsv6qko",
    )
    assert record.size == 120


def test_api_events_carry_the_owners_submit_key_and_the_route() -> None:
    view = events.sample_view()
    created = HttpRequest.from_event(generated("api", "create").event)
    got = HttpRequest.from_event(generated("api", "get").event)
    listed = HttpRequest.from_event(generated("api", "list").event)

    submit_key = view.api_keys["demo-alice-submit"]["key"]
    assert [r.headers["x-api-key"] for r in (created, got, listed)] == [submit_key] * 3
    assert (created.route_key, created.json()["content_type"]) == ("POST /documents", "text/csv")
    assert got.path_parameters == {"id": "doc_00000000000000000000000000000000"}
    assert (listed.route_key, listed.query) == ("GET /documents", {"limit": "10"})


def test_a_decision_uses_an_approve_key_other_than_the_submitters() -> None:
    view = events.sample_view()
    view.api_keys["demo-alice-approve"]["key"] = "dfk_approver"
    view.api_keys["demo-alice-both"] = {
        "key_id": "k-demo-alice-submit-local",  # the one that submitted the sample document
        "key": "dfk_submitter",
        "owner": "demo-alice",
        "roles": ["submit", "approve"],
    }
    decision = events.generate(events.Request("decision", "reject"), view)
    request = HttpRequest.from_event(decision.event)

    assert request.route_key == "POST /documents/{id}/decision"
    assert request.headers["x-api-key"] == "dfk_approver"
    assert request.json()["decision"] == "reject"
    assert decision.function == "api"


def _document_event(record: SqsMessage) -> DocumentEvent:
    """The document event as notify and webhooks read it from their queue's record."""
    notification = Notification.from_sqs(record)
    return DocumentEvent.parse(
        notification.json(), notification.attributes, notification.message_id
    )


def test_fan_out_records_are_sns_envelopes_the_consumers_read() -> None:
    view = events.sample_view()
    for function in ("notify", "webhooks"):
        sample = generated("sqs", function)
        (record,) = SqsEvent.from_event(sample.event).records
        document_event = _document_event(record)

        assert sample.function == function
        assert record.source_arn == view.queue_arns[function]
        assert document_event.event_type == "document.processed"
        assert document_event.document_id == "doc_00000000000000000000000000000000"
        assert document_event.payload["owner"] == "demo-alice"
        raw = sample.event["Records"][0]
        assert set(raw) == {
            "messageId",
            "receiptHandle",
            "body",
            "attributes",
            "messageAttributes",
            "md5OfBody",
            "eventSource",
            "eventSourceARN",
            "awsRegion",
        }
        assert raw["attributes"]["SenderId"] == events.SNS_SENDER_ID


def test_each_generated_fan_out_event_has_its_own_event_id() -> None:
    view = events.sample_view()

    def event_id() -> str:
        sample = events.generate(events.Request("sqs", "notify"), view)
        (record,) = SqsEvent.from_event(sample.event).records
        return _document_event(record).event_id

    first, second = event_id(), event_id()
    assert first != second
    assert first.startswith("doc_00000000000000000000000000000000:document.processed:")


def test_the_sqs_event_type_follows_the_document_status_or_the_option() -> None:
    view = events.sample_view()
    rejected = {**view.documents()[0], "status": "rejected", "reason": "refused: by approver"}
    view.documents = lambda: [rejected]
    (record,) = SqsEvent.from_event(
        events.generate(events.Request("sqs", "webhooks"), view).event
    ).records
    payload = _document_event(record)
    assert (payload.event_type, payload.payload["reason_code"]) == ("document.rejected", "refused")

    forced = events.generate(events.Request("sqs", "notify", event_type="document.failed"), view)
    (record,) = SqsEvent.from_event(forced.event).records
    assert _document_event(record).event_type == ("document.failed")


def test_a_stream_change_is_the_documents_item_with_its_previous_status() -> None:
    (change,) = DynamoDBStreamEvent.from_event(generated("stream", "sync").event).records

    assert change.event_name == "MODIFY"
    assert change.keys == {"document_id": {"S": "doc_00000000000000000000000000000000"}}
    assert change.new_image is not None
    assert change.old_image is not None
    assert (change.old_image["status"], change.new_image["status"]) == (
        {"S": "processing"},
        {"S": "processed"},
    )
    assert change.source_arn.endswith("/stream/2026-11-27T00:00:00.000")


def test_a_log_window_is_the_final_invocation_of_a_tumbling_window() -> None:
    window = KinesisWindowEvent.from_event(events.samples()["stream-analytics.json"])
    # Each record is what the access log's subscription filter delivers.
    payloads = [LogsPayload.from_record(record.data) for record in window.records]
    assert {p.log_group for p in payloads} == {"/aws/http-api/docflow-local"}
    lines = [line for record in window.records for line in log_lines(record.data) or []]

    assert window.is_final
    assert window.state == {}
    assert (window.window_start, window.window_end) == (
        "2026-11-27T14:45:00.000Z",
        "2026-11-27T14:46:00.000Z",
    )
    assert len(lines) == 20
    assert sum(int(line["status"]) >= 500 for line in lines) == 1


@pytest.mark.parametrize("function", ["digest", "sweep"])
def test_schedule_events_name_their_rule(function: str) -> None:
    sample = generated("schedule", function)
    tick = ScheduledEvent.from_event(sample.event)

    assert sample.function == function
    assert tick.rule_arn == events.sample_view().rule_arns[function]
    assert sample.event["detail-type"] == "Scheduled Event"


def test_no_document_awaiting_approval_says_how_to_get_one() -> None:
    view = events.sample_view()
    view.documents = lambda: [
        d for d in events.sample_view().documents() if d["status"] != "awaiting_approval"
    ]

    with pytest.raises(events.EventError) as refused:
        events.generate(events.Request("decision"), view)
    assert str(refused.value) == (
        "no document of demo-alice awaiting approval: run `make demo` (it uploads some), "
        "or pass --document ID"
    )


def test_a_named_document_in_the_wrong_status_is_refused() -> None:
    with pytest.raises(events.EventError) as refused:
        generated("decision", document_id="doc_00000000000000000000000000000000")
    # The first document of that id in the sample is processed, not waiting.
    assert str(refused.value).endswith("is processed: not awaiting approval")


def test_an_unknown_owner_lists_the_owners() -> None:
    with pytest.raises(events.EventError) as refused:
        generated("api", "list", owner="mallory")
    assert (
        str(refused.value) == "no submit key for owner 'mallory' in stack.json (owners: demo-alice)"
    )


def test_without_a_stack_the_command_says_to_start_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert localcloud_main(["event", "intake", "--state-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"localcloud event intake: no {tmp_path / 'stack.json'}: start the local stack with "
        "`make up` first\n"
    )


def test_an_action_of_another_kind_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert localcloud_main(["event", "schedule", "notify"]) == 2
    assert capsys.readouterr().err == (
        "localcloud event schedule: 'notify' is not one of digest, sweep\n"
    )


def test_samples_rewrites_the_directory(tmp_path: Path) -> None:
    args = argparse.Namespace(kind="samples", out=str(tmp_path))
    assert events.main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(events.samples())
