"""Write one stream batch to the lake; report where the stream must resume if a write fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from docflow.sync.model import DocumentChange, lake_objects
from shared.logging import get_logger

log = get_logger(__name__)


class Lake(Protocol):
    def put(self, key: str, body: bytes) -> None: ...


@dataclass
class SyncResult:
    keys: list[str] = field(default_factory=list)
    changes: int = 0
    # Sequence numbers of the changes not written, from the first failed object on: the
    # stream retries from the lowest, and the objects before it are not written twice.
    failed: list[str] = field(default_factory=list)


def sync(changes: list[DocumentChange], lake: Lake, prefix: str) -> SyncResult:
    result = SyncResult()
    objects = lake_objects(prefix, changes)
    for index, obj in enumerate(objects):
        try:
            lake.put(obj.key, obj.body())
        except Exception as exc:
            log.warning(
                "lake_write_failed",
                key=obj.key,
                error=type(exc).__name__,
                retryable=getattr(exc, "retryable", False),
            )
            result.failed = [c.sequence_number for o in objects[index:] for c in o.changes]
            return result
        result.keys.append(obj.key)
        result.changes += len(obj.changes)
    return result
