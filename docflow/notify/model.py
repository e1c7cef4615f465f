"""The e-mails document events become (`docflow.documents.events` defines the events)."""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from docflow.documents.events import DocumentEvent, EventType


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


_TEMPLATES: dict[EventType, tuple[Template, Template]] = {
    EventType.PROCESSED: (
        Template("docflow: $filename is ready"),
        Template(
            "Hello $owner,\n\nyour document $filename ($document_id) was processed and its "
            "results are available.\n\n-- docflow ($stage)\n"
        ),
    ),
    EventType.FAILED: (
        Template("docflow: $filename could not be processed"),
        Template(
            "Hello $owner,\n\nprocessing of your document $filename ($document_id) failed: "
            "$reason\n\nYou may upload it again.\n\n-- docflow ($stage)\n"
        ),
    ),
    EventType.REJECTED: (
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
