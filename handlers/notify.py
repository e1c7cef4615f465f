"""`notify`: document events from the notify queue become one e-mail each through SES."""

from __future__ import annotations

import dataclasses
from typing import Any

from docflow.documents.store import DocumentStore
from docflow.notify.service import Notifier, NotifyPolicy
from docflow.notify.store import SesMailer
from handlers import _fanout
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


@lambda_handler(trigger="batch", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return _fanout.consume(event, notifier.notify, settings.max_message_bytes)
