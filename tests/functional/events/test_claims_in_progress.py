"""A delivery that finds another invocation's claim in progress is not a duplicate: the
consumers fail it, so the source retries it, and dead-letter it when the retries run out.
"""

from __future__ import annotations

from typing import Any

import pytest

from docflow.webhooks.model import Subscriber
from docflow.webhooks.store import Subscribers
from shared.errors import ClaimInProgressError
from shared.idempotency import Idempotency
from tests.functional.conftest import LambdaContext
from tests.functional.events.conftest import EventsStack, Receiver, drain, sent_emails
from tests.functional.events.test_schedules import scheduled
from tests.support import fresh_import


def hold(events: EventsStack, key: str) -> tuple[Idempotency, str]:
    """Another invocation's claim on `key` (and its token), within its lease (10 s left)."""
    holder = Idempotency(events.base.idempotency_table)
    holder.register_lambda_context(LambdaContext("another-invocation"))
    token = holder.claim(key)
    assert token is not None
    return holder, token


def processed(events: EventsStack) -> str:
    """A new document whose document.processed event is on its way to the consumers."""
    document = events.create_document()
    events.publish("document.processed", document.document_id)
    return document.document_id


def dead_letters(events: EventsStack, queue: str) -> list[dict[str, Any]]:
    messages = events.client("sqs").receive_message(
        QueueUrl=events.queues[f"{queue}-dlq"].url, MaxNumberOfMessages=10
    )
    return list(messages.get("Messages", []))


def test_notify_retries_a_claimed_event_and_dead_letters_it_when_receives_run_out(
    events_stack: EventsStack,
) -> None:
    notify = fresh_import("handlers.notify")
    document_id = processed(events_stack)
    hold(events_stack, f"notify#{document_id}:document.processed")

    drained = drain(events_stack, "notify", notify.handler)

    # Never acknowledged as a duplicate: returned on every receive, then moved by the
    # queue's redrive policy (3 receives in the test queues).
    assert (drained.acknowledged, drained.returned) == (0, 3)
    assert len(dead_letters(events_stack, "notify")) == 1
    assert sent_emails() == []


def test_notify_acknowledges_the_retry_once_the_holder_completed(
    events_stack: EventsStack,
) -> None:
    notify = fresh_import("handlers.notify")
    document_id = processed(events_stack)
    key = f"notify#{document_id}:document.processed"
    holder, _ = hold(events_stack, key)

    first = drain(events_stack, "notify", notify.handler, max_rounds=1, until_empty=False)
    holder.complete(key)  # the other invocation sent the e-mail
    second = drain(events_stack, "notify", notify.handler)

    assert (first.returned, second.acknowledged) == (1, 1)
    assert sent_emails() == []  # the holder's e-mail is the only one
    assert dead_letters(events_stack, "notify") == []


def test_webhooks_retry_a_subscriber_delivery_another_invocation_holds(
    events_stack: EventsStack, receivers: Any
) -> None:
    webhooks = fresh_import("handlers.webhooks")
    receiver: Receiver = receivers()
    Subscribers(events_stack.subscribers_table).put(Subscriber("erp", receiver.url, frozenset()))
    document_id = processed(events_stack)
    key = f"webhook#{document_id}:document.processed#erp"
    holder, token = hold(events_stack, key)

    first = drain(events_stack, "webhooks", webhooks.handler, max_rounds=1, until_empty=False)
    holder.release(key, token)  # the other invocation failed
    second = drain(events_stack, "webhooks", webhooks.handler)

    assert (first.returned, second.acknowledged) == (1, 1)
    assert len(receiver.requests) == 1


def test_a_digest_tick_another_invocation_holds_is_a_function_error_for_the_retry(
    events_stack: EventsStack,
) -> None:
    digest = fresh_import("handlers.digest")
    hold(events_stack, f"digest#{scheduled()['id']}")

    with pytest.raises(ClaimInProgressError):
        digest.handler(scheduled(), LambdaContext("digest"))
    assert sent_emails() == []
