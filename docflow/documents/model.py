"""The document record, its statuses and the transitions between them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    ACCEPTED = "accepted"
    PROCESSING = "processing"
    AWAITING_APPROVAL = "awaiting_approval"
    PROCESSED = "processed"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"
    FAILED = "failed"


FINAL_STATUSES = frozenset({Status.PROCESSED, Status.REJECTED, Status.QUARANTINED, Status.FAILED})

# Which statuses a document may move to from each status. Every status change is a
# conditional write on the previous status, so a duplicate or stale step cannot rewind it.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.AWAITING_UPLOAD: frozenset(
        {Status.ACCEPTED, Status.REJECTED, Status.QUARANTINED, Status.FAILED}
    ),
    Status.ACCEPTED: frozenset({Status.PROCESSING, Status.FAILED}),
    Status.PROCESSING: frozenset(
        {Status.AWAITING_APPROVAL, Status.PROCESSED, Status.REJECTED, Status.FAILED}
    ),
    Status.AWAITING_APPROVAL: frozenset(
        {Status.PROCESSING, Status.PROCESSED, Status.REJECTED, Status.FAILED}
    ),
    Status.PROCESSED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.QUARANTINED: frozenset(),
    Status.FAILED: frozenset(),
}

INCOMING_PREFIX = "incoming/"
QUARANTINE_PREFIX = "quarantine/"
_DOCUMENT_ID = re.compile(r"^doc_[0-9a-f]{32}$")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_document_id() -> str:
    return f"doc_{uuid.uuid4().hex}"


def is_document_id(value: str) -> bool:
    return bool(_DOCUMENT_ID.match(value))


def incoming_key(document_id: str, filename: str) -> str:
    return f"{INCOMING_PREFIX}{document_id}/{filename}"


def parse_incoming_key(key: str) -> tuple[str, str] | None:
    """(document_id, filename) for a key under `incoming/`, or None for any other key."""
    if not key.startswith(INCOMING_PREFIX):
        return None
    document_id, _, filename = key[len(INCOMING_PREFIX) :].partition("/")
    if not is_document_id(document_id) or not filename:
        return None
    return document_id, filename


@dataclass(frozen=True)
class HistoryEntry:
    status: Status
    at: str
    actor: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"status": str(self.status), "at": self.at, "actor": self.actor}
        if self.reason:
            entry["reason"] = self.reason
        return entry

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(Status(data["status"]), data["at"], data["actor"], data.get("reason"))


@dataclass(frozen=True)
class Document:
    document_id: str
    owner: str
    filename: str
    declared_type: str
    declared_size: int
    status: Status
    created_at: str
    updated_at: str
    object_key: str
    history: tuple[HistoryEntry, ...] = ()
    reason: str | None = None
    detected_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    execution_arn: str | None = None
    object_version: str | None = None
    results: dict[str, Any] = field(default_factory=dict)
    # The API key (its key_id) that submitted the document: the decision refuses it
    # (separation of duties, docflow.processing.approval). None only on records written
    # before submitters were recorded.
    submitted_by: str | None = None

    def public_view(self) -> dict[str, Any]:
        """What the API shows the owner (no internal keys)."""
        view: dict[str, Any] = {
            "document_id": self.document_id,
            "filename": self.filename,
            "content_type": self.declared_type,
            "declared_size": self.declared_size,
            "status": str(self.status),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "history": [entry.to_dict() for entry in self.history],
        }
        optional = {
            "reason": self.reason,
            "detected_type": self.detected_type,
            "size": self.size,
            "sha256": self.sha256,
            "results": self.results or None,
        }
        view.update({k: v for k, v in optional.items() if v is not None})
        return view
