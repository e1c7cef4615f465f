from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docflow.documents.model import Status
from docflow.documents.store import DocumentStore
from docflow.schedules.model import iso
from tests.functional.conftest import LambdaContext
from tests.functional.events.conftest import EventsStack, sent_emails
from tests.support import fresh_import

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def scheduled(at: datetime = NOW) -> dict[str, Any]:
    """An EventBridge scheduled event, as the rule delivers it."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": iso(at),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/docflow-test-sweep"],
        "detail": {},
    }


@pytest.fixture
def state_machine(events_stack: EventsStack, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = events_stack.client("stepfunctions").create_state_machine(
        name="docflow-test-processing",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
        ),
        roleArn="arn:aws:iam::123456789012:role/docflow-test-sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return str(arn)


@pytest.fixture
def sweep(events_stack: EventsStack, state_machine: str) -> Any:
    module = fresh_import("handlers.sweep")
    module.sweeper._clock = lambda: NOW
    return module


def executions(events: EventsStack, arn: str) -> list[str]:
    listed = events.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    return sorted(e["name"] for e in listed)


def raw(events: EventsStack, document_id: str) -> dict[str, Any]:
    item = events.client("dynamodb").get_item(
        TableName=events.base.documents_table, Key={"document_id": {"S": document_id}}
    )["Item"]
    return item


def test_stuck_processing_document_is_redriven_then_failed_after_bounded_attempts(
    events_stack: EventsStack, sweep: Any, state_machine: str
) -> None:
    stuck = events_stack.create_document(
        status=Status.PROCESSING, updated_at=iso(NOW - timedelta(minutes=45))
    )
    events_stack.create_document(  # in processing for 5 minutes: not stuck yet
        status=Status.PROCESSING, updated_at=iso(NOW - timedelta(minutes=5))
    )

    first = sweep.handler(scheduled(), LambdaContext("sweep"))
    again = sweep.handler(scheduled(), LambdaContext("sweep"))  # its clock was reset

    assert first == {"redriven": [stuck.document_id], "failed": [], "moved_on": []}
    assert again == {"redriven": [], "failed": [], "moved_on": []}
    assert executions(events_stack, state_machine) == [f"{stuck.document_id}-sweep-1"]
    item = raw(events_stack, stuck.document_id)
    assert item["sweep_attempts"] == {"N": "1"}
    assert item["execution_arn"]["S"].endswith(f":{stuck.document_id}-sweep-1")
    assert item["status"] == {"S": "processing"}

    sweep.sweeper._clock = lambda: NOW + timedelta(minutes=31)
    second = sweep.handler(scheduled(), LambdaContext("sweep"))
    assert stuck.document_id in second["redriven"]
    names = executions(events_stack, state_machine)
    assert [n for n in names if n.startswith(stuck.document_id)] == [
        f"{stuck.document_id}-sweep-1",
        f"{stuck.document_id}-sweep-2",
    ]

    sweep.sweeper._clock = lambda: NOW + timedelta(minutes=62)
    last = sweep.handler(scheduled(), LambdaContext("sweep"))

    assert last["failed"] == [stuck.document_id]
    document = DocumentStore(events_stack.base.documents_table).get(stuck.document_id)
    assert document is not None
    assert document.status is Status.FAILED
    assert document.reason == "stuck: processing for over 30 min after 2 re-drives"
    assert document.history[-1].actor == "sweep"
    # The owner hears of it like any other failure: document.failed on the events topic.
    assert events_stack.count("notify") == 1


def test_abandoned_upload_is_failed_without_a_workflow(
    events_stack: EventsStack, sweep: Any, state_machine: str
) -> None:
    abandoned = events_stack.create_document(
        status=Status.AWAITING_UPLOAD, updated_at=iso(NOW - timedelta(days=2))
    )

    report = sweep.handler(scheduled(), LambdaContext("sweep"))

    assert report["failed"] == [abandoned.document_id]
    assert executions(events_stack, state_machine) == []
    assert raw(events_stack, abandoned.document_id)["status"] == {"S": "failed"}


def test_final_documents_are_never_swept(
    events_stack: EventsStack, sweep: Any, state_machine: str
) -> None:
    old = iso(NOW - timedelta(days=30))
    for status in (Status.PROCESSED, Status.REJECTED, Status.FAILED, Status.QUARANTINED):
        events_stack.create_document(status=status, updated_at=old)

    assert sweep.handler(scheduled(), LambdaContext("sweep")) == {
        "redriven": [],
        "failed": [],
        "moved_on": [],
    }


def test_daily_digest_mails_counts_failures_and_waiting_approvals(
    events_stack: EventsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = fresh_import("handlers.digest")
    for _ in range(3):
        events_stack.create_document(status=Status.PROCESSED)
    recent_failure = events_stack.create_document(
        status=Status.FAILED, updated_at=iso(NOW - timedelta(hours=2))
    )
    events_stack.create_document(status=Status.FAILED, updated_at=iso(NOW - timedelta(days=3)))
    waiting = events_stack.create_document(
        status=Status.AWAITING_APPROVAL, updated_at=iso(NOW - timedelta(hours=30))
    )

    result = digest.handler(scheduled(), LambdaContext("digest"))

    assert result["counts"]["processed"] == 3
    assert result["counts"]["failed"] == 2
    assert result["counts"]["awaiting_approval"] == 1
    assert result["failures"] == 1
    emails = sent_emails()
    assert sorted(e["to"][0] for e in emails) == ["oncall@example.com", "ops@example.com"]
    body = emails[0]["body"]
    assert emails[0]["subject"] == "docflow test digest: 1 failed, 1 awaiting approval"
    assert recent_failure.document_id in body
    assert waiting.document_id in body
    assert "  processed                 3" in body

    # Lambda retries the same scheduled event: no second digest.
    assert digest.handler(scheduled(), LambdaContext("digest"))["sent"] == 0
    assert len(sent_emails()) == 2
