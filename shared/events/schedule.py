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
        resources = event.get("resources") or []
        return cls(
            event_id=str(_require(event, "id", "scheduled event")),
            time=str(_require(event, "time", "scheduled event")),
            rule_arn=str(resources[0]) if resources else None,
        )
