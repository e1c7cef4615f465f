"""Kinesis records and tumbling-window events."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidInputError
from shared.events._parse import _require


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
        parsed = []
        for index, record in enumerate(event.get("Records") or []):
            where = f"Kinesis record {index}"
            body = _require(record, "kinesis", where)
            try:
                data = base64.b64decode(str(_require(body, "data", where)), validate=True)
            except ValueError:
                # Kept: the consumer counts it as malformed instead of failing the batch.
                data = b""
            parsed.append(
                KinesisRecord(
                    sequence_number=str(_require(body, "sequenceNumber", where)),
                    partition_key=str(body.get("partitionKey", "")),
                    data=data,
                    arrival_time=body.get("approximateArrivalTimestamp"),
                )
            )
        window = event.get("window") or {}
        state = event.get("state") or {}
        return cls(
            records=parsed,
            shard_id=str(event.get("shardId", "")),
            window_start=window.get("start"),
            window_end=window.get("end"),
            state=dict(state) if isinstance(state, dict) else {},
            is_final=bool(event.get("isFinalInvokeForWindow", False)),
            terminated_early=bool(event.get("isWindowTerminatedEarly", False)),
        )
