"""EventBridge scheduled events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInputError
from shared.events._parse import _require


@dataclass(frozen=True)
class ScheduledEvent:
    """An EventBridge scheduled event (`detail-type: Scheduled Event`)."""

    event_id: str
    time: str
    rule_arn: str | None

    @classmethod
    def from_event(cls, event: Any) -> ScheduledEvent:
        if not isinstance(event, dict):
            raise InvalidInputError("expected an EventBridge event object")
        resources = event.get("resources")
        first = resources[0] if isinstance(resources, list) and resources else None
        event_id = _require(event, "id", "scheduled event")
        time = _require(event, "time", "scheduled event")
        if not isinstance(event_id, str) or not event_id or not isinstance(time, str):
            raise InvalidInputError("scheduled event: id and time must be strings")
        return cls(
            event_id=event_id,
            time=time,
            rule_arn=first if isinstance(first, str) else None,
        )
