"""`notify`: document events from the notify queue become one e-mail each through SES."""

from __future__ import annotations

import dataclasses
from typing import Any

from docflow.documents.events import DocumentEvent
from docflow.documents.store import DocumentStore
from docflow.notify.service import Notifier, NotifyPolicy
from docflow.notify.store import SesMailer
from shared.batch import process_batch
from shared.events.sqs import Notification, SqsEvent, SqsMessage
from shared.handler import lambda_handler
from shared.idempotency import Idempotency
from shared.settings import Settings, env


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotifySettings(Settings):
    documents_table: str = env("DOCUMENTS_TABLE")
    idempotency_table: str = env("IDEMPOTENCY_TABLE")
    sender: str = env("NOTIFY_SENDER")
    address_template: str = env("NOTIFY_ADDRESS_TEMPLATE")
    max_message_bytes: int = env("MAX_MESSAGE_BYTES", 65536)


settings = NotifySettings.load()
idempotency = Idempotency(settings.idempotency_table)
notifier = Notifier(
    DocumentStore(settings.documents_table),
    SesMailer(settings.sender),
    idempotency,
    NotifyPolicy(settings.address_template, settings.stage),
)


def _notify(record: SqsMessage) -> None:
    notification = Notification.from_sqs(record, settings.max_message_bytes)
    notifier.notify(
        DocumentEvent.parse(notification.json(), notification.attributes, notification.message_id)
    )


@lambda_handler(trigger="batch", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_batch(SqsEvent.from_event(event).records, _notify, lambda r: r.message_id)
