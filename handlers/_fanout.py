"""The fan-out consumers' batch (`notify`, `webhooks`): document events published on the
events topic, delivered through an SQS queue, each record handled on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docflow.documents.events import DocumentEvent
from shared.batch import process_batch
from shared.events.sqs import Notification, SqsEvent, SqsMessage


def consume(
    event: dict[str, Any], consumer: Callable[[DocumentEvent], Any], max_message_bytes: int
) -> dict[str, Any]:
    """Each record's document event to `consumer`; a partial batch response."""

    def handle(record: SqsMessage) -> None:
        notification = Notification.from_sqs(record, max_message_bytes)
        consumer(
            DocumentEvent.parse(
                notification.json(), notification.attributes, notification.message_id
            )
        )

    return process_batch(SqsEvent.from_event(event).records, handle, lambda r: r.message_id)
