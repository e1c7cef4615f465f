from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from docflow.documents.model import Status
from tests.functional.conftest import LambdaContext
from tests.functional.events.conftest import EventsStack, drain, sent_emails
from tests.support import fresh_import


@pytest.fixture
def notify(events_stack: EventsStack) -> Any:
    return fresh_import("handlers.notify")


def test_processed_document_mails_its_owner_once(events_stack: EventsStack, notify: Any) -> None:
    document = events_stack.create_document(owner="alice")
    events_stack.publish("document.processed", document.document_id)

    drained = drain(events_stack, "notify", notify.handler)

    assert drained.acknowledged == 1
    assert sent_emails() == [
        {
            "to": ["alice@example.com"],
            "subject": "docflow: invoice.csv is ready",
            "body": (
                f"Hello alice,\n\nyour document invoice.csv ({document.document_id}) was "
                "processed and its results are available.\n\n-- docflow (test)\n"
            ),
        }
    ]


def test_duplicate_deliveries_of_one_event_send_one_email(
    events_stack: EventsStack, notify: Any
) -> None:
    document = events_stack.create_document(status=Status.FAILED)
    # A retried workflow task publishes the same event again (same event_id); SQS may also
    # deliver one message twice: both are duplicates of one logical event.
    events_stack.publish("document.failed", document.document_id, reason="corrupt image")
    events_stack.publish("document.failed", document.document_id, reason="corrupt image")
    sqs = events_stack.client("sqs")
    first = sqs.receive_message(QueueUrl=events_stack.queues["notify"].url)["Messages"][0]
    record = {"messageId": first["MessageId"], "body": first["Body"], "attributes": {}}
    notify.handler({"Records": [record]}, LambdaContext("notify"))
    sqs.change_message_visibility(
        QueueUrl=events_stack.queues["notify"].url,
        ReceiptHandle=first["ReceiptHandle"],
        VisibilityTimeout=0,
    )

    drain(events_stack, "notify", notify.handler)

    emails = sent_emails()
    assert len(emails) == 1
    assert "failed: corrupt image" in emails[0]["body"]


def test_event_types_outside_the_filter_policy_never_reach_the_queue(
    events_stack: EventsStack,
) -> None:
    document = events_stack.create_document()
    events_stack.publish("document.uploaded", document.document_id)
    assert events_stack.count("notify") == 0


def test_poison_messages_are_dead_lettered_and_the_rest_of_the_batch_is_mailed(
    events_stack: EventsStack, notify: Any
) -> None:
    sqs = events_stack.client("sqs")
    url = events_stack.queues["notify"].url
    good = [events_stack.create_document(owner=f"owner{i}") for i in range(3)]
    for document in good:
        events_stack.publish("document.processed", document.document_id)
    poison = [
        "not json at all",
        json.dumps({"Type": "Notification", "MessageId": "m-1", "Message": "[1, 2]"}),
        json.dumps({"event_type": "document.processed"}),  # no document_id
        json.dumps({"event_type": "document.processed", "document_id": "x" * 5000}),  # too big
        json.dumps({"event_type": "document.processed", "document_id": "doc_missing"}),
    ]
    for body in poison:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    messages_in = len(good) + len(poison)

    drain(events_stack, "notify", notify.handler)

    delivered = len(sent_emails())
    dead_lettered = events_stack.count("notify-dlq")
    assert (delivered, dead_lettered) == (3, 5)
    assert messages_in == delivered + dead_lettered
    assert events_stack.count("notify") == 0


def test_ses_throttling_retries_the_item_and_mails_once_it_passes(
    events_stack: EventsStack, notify: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = events_stack.create_document()
    events_stack.publish("document.rejected", document.document_id, reason="amount too high")
    real_send = notify.notifier.mailer._client_factory
    calls = {"n": 0}

    class ThrottlingSes:
        exceptions = real_send().exceptions

        def send_email(self, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] <= 2:
                raise ClientError(
                    {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}},
                    "SendEmail",
                )
            return real_send().send_email(**kwargs)

    monkeypatch.setattr(notify.notifier.mailer, "_client_factory", ThrottlingSes)

    drained = drain(events_stack, "notify", notify.handler)

    assert drained.returned == 2  # retried as items, not as whole failed invocations
    assert drained.acknowledged == 1
    assert [e["subject"] for e in sent_emails()] == ["docflow: invoice.csv was rejected"]
    assert events_stack.count("notify-dlq") == 0
