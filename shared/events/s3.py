"""S3 event notifications; object keys arrive URL-encoded and are decoded here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from shared.errors import InvalidInputError
from shared.events._parse import _records, _require


@dataclass(frozen=True)
class S3Object:
    """One record of an S3 event notification."""

    event_name: str
    bucket: str
    key: str
    size: int
    version_id: str | None
    etag: str | None
    sequencer: str | None
    event_time: str | None = None

    @property
    def version(self) -> str:
        """The object version this event announces (sequencer or ETag when unversioned)."""
        return self.version_id or self.sequencer or self.etag or "unversioned"

    @property
    def delivery_key(self) -> str:
        """Identifies the event's object version, the same on every redelivery."""
        return f"{self.bucket}/{self.key}#{self.version}"


@dataclass(frozen=True)
class S3Event:
    records: list[S3Object] = field(default_factory=list)

    @classmethod
    def from_event(cls, event: Any) -> S3Event:
        return cls(records=_records(event, "S3 event", "S3 event record", _object))


def _object(record: Any, where: str) -> S3Object:
    s3 = _require(record, "s3", where)
    obj = _require(s3, "object", where)
    key = _require(obj, "key", where)
    if not isinstance(key, str):
        raise InvalidInputError(f"{where}: object key must be a string")
    size = obj.get("size", 0)
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInputError(f"{where}: object size must be a whole number of bytes")
    return S3Object(
        event_name=str(record.get("eventName", "")),
        bucket=str(_require(_require(s3, "bucket", where), "name", where)),
        key=unquote_plus(key),
        size=size,
        version_id=_text(obj.get("versionId")),
        etag=_text(obj.get("eTag")),
        sequencer=_text(obj.get("sequencer")),
        event_time=_text(record.get("eventTime")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
