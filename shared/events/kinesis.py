"""Kinesis records and tumbling-window events."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidInputError
from shared.events._parse import _mapping, _records, _require


@dataclass(frozen=True)
class KinesisRecord:
    sequence_number: str
    partition_key: str
    data: bytes
    arrival_time: float | None = None


@dataclass(frozen=True)
class KinesisWindowEvent:
    """A Kinesis batch; with tumbling windows also the window, its state and final flag."""

    records: list[KinesisRecord]
    shard_id: str = ""
    window_start: str | None = None
    window_end: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    is_final: bool = False
    terminated_early: bool = False

    @classmethod
    def from_event(cls, event: Any) -> KinesisWindowEvent:
        if not isinstance(event, dict):
            raise InvalidInputError("expected a Kinesis event object")
        window = _mapping(event.get("window"))
        return cls(
            records=_records(event, "Kinesis event", "Kinesis record", _record, optional=True),
            shard_id=str(event.get("shardId", "")),
            window_start=_text(window.get("start")),
            window_end=_text(window.get("end")),
            state=dict(_mapping(event.get("state"))),
            is_final=event.get("isFinalInvokeForWindow") is True,
            terminated_early=event.get("isWindowTerminatedEarly") is True,
        )


def _record(record: Any, where: str) -> KinesisRecord:
    body = _require(record, "kinesis", where)
    sequence_number = _require(body, "sequenceNumber", where)
    if not isinstance(sequence_number, str) or not sequence_number:
        raise InvalidInputError(f"{where}: sequenceNumber must be a non-empty string")
    arrival = body.get("approximateArrivalTimestamp")
    return KinesisRecord(
        sequence_number=sequence_number,
        partition_key=str(body.get("partitionKey", "")),
        # Kept when unreadable: the consumer counts it as malformed instead of failing the
        # batch.
        data=_data(body.get("data")),
        arrival_time=float(arrival)
        if isinstance(arrival, int | float) and not isinstance(arrival, bool)
        else None,
    )


def _data(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return b""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
