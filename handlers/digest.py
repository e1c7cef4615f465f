"""`digest`: the operators' daily e-mail (documents by status, failures, approvals waiting)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from docflow.documents.index import StatusIndex
from docflow.notify.store import SesMailer
from docflow.schedules.service import build_digest, send_digest
from shared.events.schedule import ScheduledEvent
from shared.handler import lambda_handler
from shared.idempotency import Idempotency
from shared.settings import Settings, env


@dataclasses.dataclass(frozen=True, kw_only=True)
class DigestSettings(Settings):
    documents_table: str = env("DOCUMENTS_TABLE")
    idempotency_table: str = env("IDEMPOTENCY_TABLE")
    sender: str = env("NOTIFY_SENDER")
    recipients: tuple[str, ...] = env("DIGEST_RECIPIENTS")
    lookback_hours: int = env("DIGEST_LOOKBACK_HOURS", 24)


settings = DigestSettings.load()
index = StatusIndex(settings.documents_table)
mailer = SesMailer(settings.sender)
idempotency = Idempotency(settings.idempotency_table)


@lambda_handler(trigger="event", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    scheduled = ScheduledEvent.from_event(event)
    now = datetime.fromisoformat(scheduled.time.replace("Z", "+00:00"))
    digest = build_digest(index, settings.stage, settings.lookback_hours, now)
    # Lambda retries an asynchronous invocation with the same event: one digest per tick.
    ran, sent = idempotency.run_once(
        f"digest#{scheduled.event_id}",
        lambda: send_digest(digest, mailer, settings.recipients),
    )
    return {
        "counts": digest.counts,
        "failures": digest.failures_total,
        "sent": len(sent) if ran else 0,
    }
