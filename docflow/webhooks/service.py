"""Deliver a document event to every subscriber that wants it, each behind its breaker.

One SQS message may go to several subscribers. Each (event, subscriber) delivery is claimed
in the idempotency table, so when the message comes back because one subscriber failed or
was behind an open breaker, the subscribers that already took it are not called again. A
message is acknowledged only when every subscriber that wants it has it; until then it waits
in the queue (and, after the configured receives, in the dead-letter queue for redrive).
An event for a document that does not exist is poison, as it is for notify: no subscriber is
called, the item fails permanently and is dead-lettered.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from docflow.documents.events import DocumentEvent
from docflow.documents.model import Document
from docflow.webhooks.errors import BreakerOpenError, SubscriberError
from docflow.webhooks.model import (
    SIGNATURE_HEADER,
    BreakerPolicy,
    BreakerState,
    Subscriber,
    after_failure,
    after_success,
    decide,
    signature_header,
)
from shared import errors
from shared.idempotency import Idempotency
from shared.logging import get_logger

log = get_logger(__name__)
_SAVE_ATTEMPTS = 3


class StateStore(Protocol):
    def load(self, subscriber_id: str) -> BreakerState: ...
    def save(self, state: BreakerState) -> bool: ...


class Sender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int: ...


class SubscriberSource(Protocol):
    def all(self) -> list[Subscriber]: ...


class Documents(Protocol):
    def get(self, document_id: str) -> Document | None: ...


class CircuitBreaker:
    def __init__(
        self,
        store: StateStore,
        policy: BreakerPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy
        self._clock = clock

    def allow(self, subscriber_id: str) -> bool:
        for _ in range(_SAVE_ATTEMPTS):
            state = self.store.load(subscriber_id)
            allowed, claimed = decide(state, self._clock(), self.policy)
            if claimed == state:
                return allowed
            if self.store.save(claimed):
                log.info("breaker_trial", subscriber=subscriber_id)
                return True
        return False  # another delivery holds the trial

    def record(self, subscriber_id: str, *, ok: bool) -> None:
        for _ in range(_SAVE_ATTEMPTS):
            state = self.store.load(subscriber_id)
            changed = (
                after_success(state) if ok else after_failure(state, self._clock(), self.policy)
            )
            if changed == state or self.store.save(changed):
                if changed.state != state.state:
                    log.warning(
                        "breaker_changed",
                        subscriber=subscriber_id,
                        to=changed.state,
                        failures=changed.failures,
                    )
                return
        log.warning("breaker_update_lost", subscriber=subscriber_id, ok=ok)


@dataclass
class DeliveryReport:
    event_id: str
    delivered: list[str] = field(default_factory=list)
    already_delivered: list[str] = field(default_factory=list)


def request_body(event: DocumentEvent) -> bytes:
    document = {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "document_id": event.document_id,
        "data": event.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


DEADLINE_MARGIN_MS = 2000
"""What a call needs besides its connect and read timeouts: its claim, completion and breaker
writes to DynamoDB."""


class Dispatcher:
    def __init__(
        self,
        subscribers: SubscriberSource,
        breaker: CircuitBreaker,
        sender: Sender,
        idempotency: Idempotency,
        secret: Callable[[], str],
        documents: Documents,
        clock: Callable[[], float] = time.time,
        call_budget_ms: int = 0,
    ) -> None:
        self.documents = documents
        self.subscribers = subscribers
        self.breaker = breaker
        self.sender = sender
        self.idempotency = idempotency
        self._secret = secret
        self._clock = clock
        self.call_budget_ms = call_budget_ms
        self._remaining_ms: Callable[[], int] | None = None

    def register_lambda_context(self, context: Any) -> None:
        """The invocation whose deadline bounds the calls started from now on."""
        self._remaining_ms = getattr(context, "get_remaining_time_in_millis", None)

    def _no_time_for_a_call(self) -> bool:
        """Would Lambda end the invocation before a call (its connect and read timeouts, its
        claim and breaker writes) could finish? Killed half-way, a call the subscriber got is
        made again once its claim lapses: a duplicate. Deferred, the retry makes it once."""
        remaining = self._remaining_ms() if self._remaining_ms is not None else None
        return remaining is not None and remaining < self.call_budget_ms + DEADLINE_MARGIN_MS

    def deliver(self, event: DocumentEvent) -> DeliveryReport:
        if self.documents.get(event.document_id) is None:
            raise errors.PermanentError(
                f"document {event.document_id} does not exist; the event is not delivered"
            )
        report = DeliveryReport(event.event_id)
        waiting: list[str] = []
        rejected: list[str] = []
        body = request_body(event)
        for subscriber in self.subscribers.all():
            if not subscriber.wants(event.event_type):
                continue
            if self._no_time_for_a_call():
                log.warning(
                    "webhook_deferred",
                    subscriber=subscriber.subscriber_id,
                    reason="the invocation ends before the call could; the retry makes it",
                )
                waiting.append(subscriber.subscriber_id)
                continue
            if not self.breaker.allow(subscriber.subscriber_id):
                waiting.append(subscriber.subscriber_id)
                continue
            try:
                ran, _ = self.idempotency.run_once(
                    f"webhook#{event.event_id}#{subscriber.subscriber_id}",
                    functools.partial(self._post, subscriber, event, body),
                )
            except SubscriberError as exc:
                self.breaker.record(subscriber.subscriber_id, ok=False)
                log.warning("webhook_failed", subscriber=subscriber.subscriber_id, reason=str(exc))
                waiting.append(subscriber.subscriber_id)
                continue
            except errors.PermanentError as exc:
                log.warning("webhook_refused", subscriber=subscriber.subscriber_id, reason=str(exc))
                rejected.append(subscriber.subscriber_id)
                continue
            if ran:
                self.breaker.record(subscriber.subscriber_id, ok=True)
                report.delivered.append(subscriber.subscriber_id)
            else:
                report.already_delivered.append(subscriber.subscriber_id)
        if waiting:
            raise BreakerOpenError(
                f"event {event.event_id} waits for subscribers {sorted(waiting)}",
                delivered=report.delivered,
            )
        if rejected:
            raise errors.PermanentError(
                f"subscribers {sorted(rejected)} refused event {event.event_id}"
            )
        return report

    def _post(self, subscriber: Subscriber, event: DocumentEvent, body: bytes) -> int:
        timestamp = int(self._clock())
        status = self.sender.post(
            subscriber.url,
            body,
            {
                "Content-Type": "application/json",
                "User-Agent": "docflow-webhooks/1",
                "X-Docflow-Event": event.event_type,
                "X-Docflow-Event-Id": event.event_id,
                SIGNATURE_HEADER: signature_header(self._secret(), timestamp, body),
            },
        )
        if 200 <= status < 300:
            return status
        if status >= 500 or status in {408, 429}:
            raise SubscriberError(f"{subscriber.subscriber_id} answered {status}")
        raise errors.PermanentError(
            f"{subscriber.subscriber_id} answered {status}; fix the subscriber or its URL"
        )
