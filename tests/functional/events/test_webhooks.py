from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from docflow.webhooks.model import Subscriber, verify
from docflow.webhooks.store import BreakerStore, Subscribers
from tests.functional.conftest import LambdaContext
from tests.functional.events.conftest import SIGNING_SECRET, EventsStack, Receiver, drain
from tests.support import fresh_import

Start = Callable[[], Receiver]


@pytest.fixture
def webhooks(events_stack: EventsStack) -> Any:
    return fresh_import("handlers.webhooks")


def subscribe(events: EventsStack, subscriber_id: str, url: str, *types: str) -> None:
    Subscribers(events.subscribers_table).put(Subscriber(subscriber_id, url, frozenset(types)))


def subscribed(events: EventsStack, receivers: Start, subscriber_id: str) -> Receiver:
    """A new receiver, subscribed as `subscriber_id` to every event type."""
    receiver = receivers()
    subscribe(events, subscriber_id, receiver.url)
    return receiver


def breaker(events: EventsStack, subscriber_id: str) -> str:
    return BreakerStore(events.breakers_table).load(subscriber_id).state


def publish_processed(events: EventsStack, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        document = events.create_document()
        events.publish("document.processed", document.document_id, results={"rows": 2})
        ids.append(document.document_id)
    return ids


def test_delivery_is_signed_over_timestamp_and_body(
    events_stack: EventsStack, webhooks: Any, receivers: Start
) -> None:
    receiver = subscribed(events_stack, receivers, "erp")
    (document_id,) = publish_processed(events_stack, 1)

    drain(events_stack, "webhooks", webhooks.handler)

    (request,) = receiver.requests
    body = json.loads(request["body"])
    assert body == {
        "event_id": f"{document_id}:document.processed",
        "event_type": "document.processed",
        "document_id": document_id,
        "data": {
            "event_id": f"{document_id}:document.processed",
            "event_type": "document.processed",
            "document_id": document_id,
            "results": {"rows": 2},
        },
    }
    header = request["headers"]["X-Docflow-Signature"]
    assert verify(SIGNING_SECRET, header, request["body"], time.time(), tolerance_seconds=300)
    assert not verify("another-secret", header, request["body"], time.time(), 300)
    assert not verify(SIGNING_SECRET, header, request["body"] + b" ", time.time(), 300)
    # Replay protection: the same signed request is refused once outside the tolerance.
    assert not verify(SIGNING_SECRET, header, request["body"], time.time() + 301, 300)
    assert request["headers"]["X-Docflow-Event-Id"] == f"{document_id}:document.processed"


def test_subscribers_only_get_the_event_types_they_asked_for(
    events_stack: EventsStack, webhooks: Any, receivers: Start
) -> None:
    failures_only, everything = receivers(), receivers()
    subscribe(events_stack, "alerts", failures_only.url, "document.failed")
    subscribe(events_stack, "archive", everything.url)
    publish_processed(events_stack, 2)
    failed = events_stack.create_document()
    events_stack.publish("document.failed", failed.document_id, reason="bad csv")

    drain(events_stack, "webhooks", webhooks.handler)

    assert [json.loads(r["body"])["event_type"] for r in failures_only.requests] == [
        "document.failed"
    ]
    assert len(everything.requests) == 3


@pytest.mark.parametrize("fault", ["fail", "hang", "close"])
def test_failing_subscriber_opens_its_breaker_without_blocking_or_losing_anything(
    events_stack: EventsStack,
    webhooks: Any,
    receivers: Start,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    healthy, flaky = receivers(), receivers()
    flaky.mode = fault
    subscribe(events_stack, "healthy", healthy.url)
    subscribe(events_stack, "flaky", flaky.url)
    messages_in = 4
    publish_processed(events_stack, messages_in)

    first = drain(events_stack, "webhooks", webhooks.handler, max_rounds=1, until_empty=False)

    # The healthy subscriber got everything; the flaky one was tried until its breaker opened
    # (threshold 2) and then not called again: the rest wait in the queue for it.
    assert len(healthy.requests) == messages_in
    assert flaky.attempts == 2
    assert breaker(events_stack, "flaky") == "open"
    assert breaker(events_stack, "healthy") == "closed"
    assert (first.acknowledged, first.returned) == (0, messages_in)
    assert events_stack.count("webhooks") == messages_in

    # The subscriber recovers; after the open period one trial closes the breaker again.
    flaky.mode = "ok"
    later = time.time() + 61
    monkeypatch.setattr(webhooks.dispatcher.breaker, "_clock", lambda: later)
    drain(events_stack, "webhooks", webhooks.handler)

    assert breaker(events_stack, "flaky") == "closed"
    assert len(flaky.requests) == messages_in
    assert len(healthy.requests) == messages_in  # not called again for redelivered messages
    delivered = len(flaky.requests)
    assert messages_in == delivered + events_stack.count("webhooks-dlq")


def test_open_breaker_lets_one_trial_through_and_a_failed_trial_reopens_it(
    events_stack: EventsStack, webhooks: Any, receivers: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = receivers()
    down.mode = "fail"
    subscribe(events_stack, "down", down.url)
    publish_processed(events_stack, 3)
    drain(events_stack, "webhooks", webhooks.handler, max_rounds=1, until_empty=False)
    assert (down.attempts, breaker(events_stack, "down")) == (2, "open")

    later = time.time() + 61
    monkeypatch.setattr(webhooks.dispatcher.breaker, "_clock", lambda: later)
    drain(events_stack, "webhooks", webhooks.handler, max_rounds=1, until_empty=False)

    assert down.attempts == 3  # exactly one trial for three waiting messages
    assert breaker(events_stack, "down") == "open"


def test_a_call_that_could_outlast_the_invocation_waits_for_the_retry(
    events_stack: EventsStack, webhooks: Any, receivers: Start
) -> None:
    """Killed at its timeout half-way through a call, an invocation would leave a call the
    subscriber got but docflow did not record: made again once its claim lapses."""
    receiver = subscribed(events_stack, receivers, "erp")
    (document_id,) = publish_processed(events_stack, 1)

    class _Ending(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 2_500  # under the call's 800 ms of timeouts plus the margin for its writes

    def ending(event: Any, context: Any) -> Any:
        return webhooks.handler(event, _Ending(context.function_name))

    first = drain(events_stack, "webhooks", ending, max_rounds=1, until_empty=False)
    assert (receiver.attempts, first.returned, breaker(events_stack, "erp")) == (0, 1, "closed")

    drain(events_stack, "webhooks", webhooks.handler)
    assert [json.loads(r["body"])["document_id"] for r in receiver.requests] == [document_id]


def test_subscriber_down_for_good_dead_letters_its_messages_and_counts_add_up(
    events_stack: EventsStack, webhooks: Any, receivers: Start
) -> None:
    healthy, down = receivers(), receivers()
    down.mode = "fail"
    subscribe(events_stack, "healthy", healthy.url)
    subscribe(events_stack, "down", down.url)
    messages_in = 3
    publish_processed(events_stack, messages_in)
    events_stack.client("sqs").send_message(
        QueueUrl=events_stack.queues["webhooks"].url, MessageBody="{not json"
    )

    drain(events_stack, "webhooks", webhooks.handler)

    assert len(healthy.requests) == messages_in
    assert down.requests == []
    assert events_stack.count("webhooks-dlq") == messages_in + 1  # the poison one too
    assert events_stack.count("webhooks") == 0


def test_subscriber_refusing_with_4xx_does_not_open_the_breaker(
    events_stack: EventsStack, webhooks: Any, receivers: Start
) -> None:
    picky = receivers()
    picky.mode = "reject"
    subscribe(events_stack, "picky", picky.url)
    publish_processed(events_stack, 1)

    drain(events_stack, "webhooks", webhooks.handler)

    assert breaker(events_stack, "picky") == "closed"
    assert events_stack.count("webhooks-dlq") == 1


def test_event_for_a_document_that_does_not_exist_is_dead_lettered_and_never_delivered(
    events_stack: EventsStack, webhooks: Any, receivers: Start
) -> None:
    receiver = subscribed(events_stack, receivers, "all")
    (delivered,) = publish_processed(events_stack, 1)
    events_stack.publish("document.processed", "doc_0123456789abcdef0123456789abcdef")

    drain(events_stack, "webhooks", webhooks.handler)

    assert [json.loads(r["body"])["document_id"] for r in receiver.requests] == [delivered]
    assert events_stack.count("webhooks-dlq") == 1
    assert events_stack.count("webhooks") == 0


def test_poison_messages_fail_alone_with_typed_errors_and_the_rest_is_delivered(
    events_stack: EventsStack, webhooks: Any, receivers: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = subscribed(events_stack, receivers, "all")
    delivered = publish_processed(events_stack, 2)
    sqs = events_stack.client("sqs")
    poison = [
        "[" * 5000 + "]" * 5000,  # RecursionError before issue 11
        json.dumps(
            {"Type": "Notification", "MessageId": "x", "Message": "{}", "MessageAttributes": []}
        ),  # AttributeError before issue 11
        json.dumps(
            {"Type": "Notification", "MessageId": "y", "Message": '{"document_id": Infinity}'}
        ),
    ]
    for body in poison:
        sqs.send_message(QueueUrl=events_stack.queues["webhooks"].url, MessageBody=body)

    capsys.readouterr()
    drain(events_stack, "webhooks", webhooks.handler)

    documents = sorted(json.loads(r["body"])["document_id"] for r in receiver.requests)
    assert documents == sorted(delivered)
    assert events_stack.count("webhooks-dlq") == len(poison)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    failures = {e["error"] for e in logged if e.get("message") == "batch_item_failed"}
    assert failures == {"InvalidInputError"}
