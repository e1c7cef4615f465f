"""Document events as published on the events topic, and the e-mails they become.

The processing workflow publishes `document.processed`, `document.failed` and
`document.rejected` with a message attribute `event_type` (which the SQS subscriptions'
filter policies match). The message is a JSON object with at least `document_id`; an
`event_id` in it names the logical event (the same on a re-publish), else SNS's message id
does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template
from typing import Any

from shared.errors import InvalidInputError
from shared.events.sqs import Notification

EVENT_TYPES = frozenset({"document.processed", "document.failed", "document.rejected"})
MAX_ID_CHARS = 256
"""Longer ids are not docflow's (`doc_<32 hex>`, `<document>:<event type>`); they would also
exceed what an idempotency or DynamoDB key may hold."""


@dataclass(frozen=True)
class DocumentEvent:
    event_id: str
    event_type: str
    document_id: str
    payload: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_notification(cls, notification: Notification) -> DocumentEvent:
        payload = notification.json()
        event_type = notification.attributes.get("event_type") or payload.get("event_type")
        if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
            raise InvalidInputError(
                f"event_type {_shown(event_type)} is not one of {sorted(EVENT_TYPES)}"
            )
        document_id = payload.get("document_id")
        if not isinstance(document_id, str) or not 0 < len(document_id) <= MAX_ID_CHARS:
            raise InvalidInputError(
                f"document event needs a document_id string of 1 to {MAX_ID_CHARS} characters"
            )
        event_id = payload.get("event_id") or notification.message_id
        if not isinstance(event_id, str) or len(event_id) > MAX_ID_CHARS:
            raise InvalidInputError(
                f"event_id must be a string of at most {MAX_ID_CHARS} characters"
            )
        return cls(event_id, event_type, document_id, payload)


def _shown(value: Any) -> str:
    """A short rendering of a rejected value for an error message (never the whole input)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


_TEMPLATES: dict[str, tuple[Template, Template]] = {
    "document.processed": (
        Template("docflow: $filename is ready"),
        Template(
            "Hello $owner,\n\nyour document $filename ($document_id) was processed and its "
            "results are available.\n\n-- docflow ($stage)\n"
        ),
    ),
    "document.failed": (
        Template("docflow: $filename could not be processed"),
        Template(
            "Hello $owner,\n\nprocessing of your document $filename ($document_id) failed: "
            "$reason\n\nYou may upload it again.\n\n-- docflow ($stage)\n"
        ),
    ),
    "document.rejected": (
        Template("docflow: $filename was rejected"),
        Template(
            "Hello $owner,\n\nyour document $filename ($document_id) was rejected: "
            "$reason\n\n-- docflow ($stage)\n"
        ),
    ),
}


def render(event: DocumentEvent, owner: str, filename: str, to: str, stage: str) -> Email:
    subject, body = _TEMPLATES[event.event_type]
    values = {
        "owner": owner,
        "filename": filename,
        "document_id": event.document_id,
        "reason": str(event.payload.get("reason") or "no reason given"),
        "stage": stage,
    }
    return Email(to=to, subject=subject.substitute(values), body=body.substitute(values))


def owner_address(template: str, owner: str) -> str:
    """The owner's e-mail address from the stage's template (`{owner}@example.com`)."""
    if "@" in owner:
        return owner
    return template.replace("{owner}", owner)
