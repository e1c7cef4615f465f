"""`sync`: the documents table's stream, replicated to the analytics lake."""

from __future__ import annotations

import dataclasses
from typing import Any

from docflow.sync.model import DocumentChange
from docflow.sync.service import sync
from docflow.sync.store import LakeBucket
from shared.batch import report
from shared.events.streams import DynamoDBStreamEvent
from shared.handler import lambda_handler
from shared.logging import get_logger
from shared.settings import Settings, env

log = get_logger("docflow.sync")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyncSettings(Settings):
    analytics_bucket: str = env("ANALYTICS_BUCKET")
    lake_prefix: str = env("LAKE_PREFIX", "lake/documents")


settings = SyncSettings.load()
lake = LakeBucket(settings.analytics_bucket)


@lambda_handler(trigger="batch", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    changes = [
        DocumentChange(
            c.event_name,
            c.sequence_number,
            c.keys,
            c.new_image,
            c.old_image,
            c.approximate_creation_time,
        )
        for c in DynamoDBStreamEvent.from_event(event).records
    ]
    result = sync(changes, lake, settings.lake_prefix)
    log.info("lake_synced", changes=result.changes, objects=result.keys, failed=len(result.failed))
    return report(result.failed)
