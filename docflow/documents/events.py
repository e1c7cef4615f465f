"""The document events: their names, their publisher, and the event as subscribers read it.

Every event-type name is spelled here and only here. Events go out on the events topic with a
message attribute `event_type`, which the SQS subscriptions' filter policies match
(`resources/events.yml`; a test checks they name exactly `SUBSCRIBED`). The message is a JSON
object with at least `document_id`; its `event_id` names the logical event (the same on a
re-publish), else SNS's message id does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from docflow.documents.model import now_iso
from shared import aws
from shared.errors import InvalidInputError

MAX_ID_CHARS = 256
"""Longer ids are not docflow's (`doc_<32 hex>`, `<document>:<event type>`); they would also
exceed what an idempotency or DynamoDB key may hold."""


class EventType(StrEnum):
    PROCESSED = "document.processed"
    FAILED = "document.failed"
    REJECTED = "document.rejected"
    APPROVAL_REQUESTED = "document.approval_requested"


SUBSCRIBED: frozenset[EventType] = frozenset(
    {EventType.PROCESSED, EventType.FAILED, EventType.REJECTED}
)
"""The events the owner hears of (notify's e-mails, webhooks); an approval request is the
approvers' concern."""


def event_id(document_id: str, event_type: EventType) -> str:
    """Deterministic: a retried task (or the sweep) publishes the same id; consumers dedupe."""
    return f"{document_id}:{event_type}"


class DocumentEvents(aws.Topic):
    """Publishes document events on the events topic, `event_type` as a message attribute."""

    def publish(
        self,
        event_type: EventType,
        document_id: str,
        detail: dict[str, Any],
        *,
        occurred_at: str | None = None,
    ) -> str:
        """Publish one event; the SNS message id."""
        message = {
            "event_id": event_id(document_id, event_type),
            "event_type": str(event_type),
            "document_id": document_id,
            "occurred_at": occurred_at or now_iso(),
            **detail,
        }
        with aws.translated(f"publishing {event_type}"):
            response = self._client_factory().publish(
                TopicArn=self.topic_arn,
                Message=json.dumps(message, separators=(",", ":"), default=str),
                MessageAttributes={
                    "event_type": {"DataType": "String", "StringValue": str(event_type)}
                },
            )
        return str(response["MessageId"])


@dataclass(frozen=True)
class DocumentEvent:
    """A subscribed event as a consumer received it (`parse` checks what it must hold)."""

    event_id: str
    event_type: EventType
    document_id: str
    payload: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, payload: dict[str, Any], attributes: dict[str, str], message_id: str
    ) -> DocumentEvent:
        """The event in a message's JSON `payload` and its message `attributes`.

        `message_id` (the delivery's own id) names the event when the payload carries no
        `event_id`.
        """
        event_type = attributes.get("event_type") or payload.get("event_type")
        if not isinstance(event_type, str) or event_type not in SUBSCRIBED:
            raise InvalidInputError(
                f"event_type {_shown(event_type)} is not one of {sorted(map(str, SUBSCRIBED))}"
            )
        document_id = payload.get("document_id")
        if not isinstance(document_id, str) or not 0 < len(document_id) <= MAX_ID_CHARS:
            raise InvalidInputError(
                f"document event needs a document_id string of 1 to {MAX_ID_CHARS} characters"
            )
        event_id = payload.get("event_id") or message_id
        if not isinstance(event_id, str) or len(event_id) > MAX_ID_CHARS:
            raise InvalidInputError(
                f"event_id must be a string of at most {MAX_ID_CHARS} characters"
            )
        return cls(event_id, EventType(event_type), document_id, payload)


def _shown(value: Any) -> str:
    """A short rendering of a rejected value for an error message (never the whole input)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
