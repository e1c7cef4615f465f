"""Turn a document event into exactly one e-mail to the document's owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from docflow.documents.events import DocumentEvent
from docflow.documents.model import Document
from docflow.notify.model import Email, owner_address, render
from shared import errors
from shared.idempotency import Idempotency


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


class Documents(Protocol):
    def get(self, document_id: str) -> Document | None: ...


@dataclass(frozen=True)
class NotifyPolicy:
    address_template: str
    stage: str


@dataclass(frozen=True)
class NotifyResult:
    event_id: str
    sent: bool
    message_id: str | None = None


class Notifier:
    def __init__(
        self,
        documents: Documents,
        mailer: Mailer,
        idempotency: Idempotency,
        policy: NotifyPolicy,
    ) -> None:
        self.documents = documents
        self.mailer = mailer
        self.idempotency = idempotency
        self.policy = policy

    def email_for(self, event: DocumentEvent) -> Email:
        document = self.documents.get(event.document_id)
        if document is None:
            raise errors.PermanentError(
                f"document {event.document_id} does not exist; the event cannot be mailed"
            )
        return render(
            event,
            owner=document.owner,
            filename=document.filename,
            to=owner_address(self.policy.address_template, document.owner),
            stage=self.policy.stage,
        )

    def notify(self, event: DocumentEvent) -> NotifyResult:
        """Send the event's e-mail unless a delivery of the same event already did."""
        email = self.email_for(event)
        ran, message_id = self.idempotency.run_once(
            f"notify#{event.event_id}", lambda: self.mailer.send(email)
        )
        return NotifyResult(event.event_id, ran, message_id)
