"""`sweep`: every few minutes, documents stuck in a status are re-driven or failed."""

from __future__ import annotations

import dataclasses
from typing import Any

from docflow.documents.events import DocumentEvents
from docflow.documents.index import StatusIndex
from docflow.documents.store import DocumentStore
from docflow.documents.workflow import Workflow
from docflow.schedules.model import parse_rules
from docflow.schedules.service import Sweeper, SweepPolicy
from shared.events.schedule import ScheduledEvent
from shared.handler import lambda_handler
from shared.settings import Settings, env


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepSettings(Settings):
    documents_table: str = env("DOCUMENTS_TABLE")
    documents_bucket: str = env("DOCUMENTS_BUCKET")
    state_machine_arn: str = env("STATE_MACHINE_ARN")
    events_topic_arn: str = env("EVENTS_TOPIC_ARN")
    rules: tuple[str, ...] = env("SWEEP_RULES")
    max_attempts: int = env("SWEEP_MAX_ATTEMPTS")
    batch_limit: int = env("SWEEP_BATCH_LIMIT", 100)


settings = SweepSettings.load()
sweeper = Sweeper(
    StatusIndex(settings.documents_table),
    DocumentStore(settings.documents_table),
    Workflow(settings.state_machine_arn),
    DocumentEvents(settings.events_topic_arn),
    SweepPolicy(
        parse_rules(settings.rules),
        settings.max_attempts,
        settings.batch_limit,
        settings.documents_bucket,
    ),
)


@lambda_handler(trigger="event", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ScheduledEvent.from_event(event)
    return dataclasses.asdict(sweeper.sweep())
