"""DynamoDB stream records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidInputError
from shared.events._parse import _records, _require


@dataclass(frozen=True)
class StreamChange:
    """One record of a DynamoDB stream (images still in attribute-value form)."""

    event_id: str
    event_name: str  # INSERT, MODIFY, REMOVE
    sequence_number: str
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None
    approximate_creation_time: float | None
    source_arn: str = ""


@dataclass(frozen=True)
class DynamoDBStreamEvent:
    records: list[StreamChange] = field(default_factory=list)

    @classmethod
    def from_event(cls, event: Any) -> DynamoDBStreamEvent:
        return cls(records=_records(event, "DynamoDB stream event", "stream record", _change))


def _change(record: Any, where: str) -> StreamChange:
    body = _require(record, "dynamodb", where)
    name = str(_require(record, "eventName", where))
    if name not in {"INSERT", "MODIFY", "REMOVE"}:
        raise InvalidInputError(f"{where}: unknown eventName {name!r}")
    keys = _require(body, "Keys", where)
    if not isinstance(keys, dict):
        raise InvalidInputError(f"{where}: Keys must be an object")
    created = body.get("ApproximateCreationDateTime")
    return StreamChange(
        event_id=str(record.get("eventID", "")),
        event_name=name,
        sequence_number=str(_require(body, "SequenceNumber", where)),
        keys=dict(keys),
        new_image=_image(body.get("NewImage"), f"{where}: NewImage"),
        old_image=_image(body.get("OldImage"), f"{where}: OldImage"),
        approximate_creation_time=float(created)
        if isinstance(created, int | float) and not isinstance(created, bool)
        else None,
        source_arn=str(record.get("eventSourceARN", "")),
    )


def _image(value: Any, where: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise InvalidInputError(f"{where} must be an object")
