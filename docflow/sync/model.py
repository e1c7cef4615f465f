"""Lake records and object keys for document changes from the DynamoDB stream.

One JSON line per change: inserts and updates carry the new document, removals are
tombstones (`"op": "delete"`, the last known document kept under `previous`). Lines carry the
stream sequence number, so a reader keeps the latest line per document and drops the
duplicates a retried or bisected batch may leave.

Objects are partitioned by the change's UTC date (`dt=YYYY-MM-DD`) and named after the
first and last sequence numbers they hold, zero-padded so keys sort in stream order: a batch
retried as it was writes the same key again instead of a second object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docflow.documents.store import from_item

SEQUENCE_WIDTH = 40  # DynamoDB stream sequence numbers have up to 40 digits
# Never copied to the lake: approval task tokens are bearer credentials for the workflow.
_SCRUBBED = frozenset({"token", "task_token"})


@dataclass(frozen=True)
class DocumentChange:
    """One change of a document record, in stream order (images as the table stores them)."""

    event_name: str  # INSERT, MODIFY, REMOVE
    sequence_number: str
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None
    changed_at: float | None
    """When the change was made, seconds since the epoch (DynamoDB's approximate time)."""


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _SCRUBBED}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _plain(image: dict[str, Any] | None) -> dict[str, Any] | None:
    return _scrub(from_item(image)) if image else None


def change_date(change: DocumentChange) -> str:
    moment = change.changed_at or 0.0
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


def lake_record(change: DocumentChange) -> dict[str, Any]:
    keys = from_item(change.keys)
    moment = change.changed_at
    record: dict[str, Any] = {
        "document_id": keys.get("document_id"),
        "op": "delete" if change.event_name == "REMOVE" else "upsert",
        "event_name": change.event_name,
        "sequence_number": change.sequence_number,
        "changed_at": (
            datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")
            if moment is not None
            else None
        ),
        "document": _plain(change.new_image),
    }
    if change.event_name == "REMOVE":
        record["tombstone"] = True
        record["previous"] = _plain(change.old_image)
    elif change.old_image:
        record["previous_status"] = from_item(change.old_image).get("status")
    return record


@dataclass(frozen=True)
class LakeObject:
    key: str
    changes: tuple[DocumentChange, ...]

    def body(self) -> bytes:
        lines = (
            json.dumps(lake_record(c), sort_keys=True, separators=(",", ":"), default=str)
            for c in self.changes
        )
        return ("\n".join(lines) + "\n").encode("utf-8")


def lake_objects(prefix: str, changes: list[DocumentChange]) -> list[LakeObject]:
    """The objects one batch writes: one per change date, in stream order."""
    groups: dict[str, list[DocumentChange]] = {}
    for change in changes:
        groups.setdefault(change_date(change), []).append(change)
    objects = []
    for date, group in groups.items():
        first = group[0].sequence_number.zfill(SEQUENCE_WIDTH)
        last = group[-1].sequence_number.zfill(SEQUENCE_WIDTH)
        objects.append(LakeObject(f"{prefix}/dt={date}/{first}-{last}.jsonl", tuple(group)))
    return objects
