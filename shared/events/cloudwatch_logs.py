"""CloudWatch Logs subscription payloads, as a subscription filter delivers them to Kinesis.

Each Kinesis record holds one gzip-compressed JSON object:

    {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/http-api/x",
     "logStream": "...", "subscriptionFilters": ["x"],
     "logEvents": [{"id": "...", "timestamp": 1700000000000, "message": "..."}]}

`CONTROL_MESSAGE` payloads (sent when a filter is created, to check the destination) carry no
log data. A record that cannot be read as such a payload is poison for its consumer
(`InvalidInputError`): not gzip, gzip expanding beyond `MAX_PAYLOAD_BYTES`, not JSON (bounded
depth, finite numbers: `shared.events.payloads`), or the wrong shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInputError
from shared.events.payloads import gunzip, loads

DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""The most a record may expand to. CloudWatch Logs sends at most 1 MiB of log events per
delivery (PutLogEvents' batch limit), so 4 MiB leaves room and bounds a bomb's cost well inside
the function's memory."""
MAX_TEXT_CHARS = 1024
_GZIP = b"\x1f\x8b"


@dataclass(frozen=True)
class LogEvent:
    id: str
    timestamp: int
    message: str


@dataclass(frozen=True)
class LogsPayload:
    message_type: str
    owner: str
    log_group: str
    log_stream: str
    subscription_filters: tuple[str, ...]
    log_events: tuple[LogEvent, ...]

    @property
    def is_control(self) -> bool:
        return self.message_type == CONTROL_MESSAGE

    @classmethod
    def from_record(cls, data: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> LogsPayload:
        """The payload a Kinesis record's data holds; InvalidInputError if it holds none."""
        where = "CloudWatch Logs payload"
        if data[:2] != _GZIP:
            raise InvalidInputError(f"{where}: not gzip")
        value = loads(gunzip(data, max_bytes, where), where)
        if not isinstance(value, dict):
            raise InvalidInputError(f"{where}: not a JSON object")
        message_type = value.get("messageType")
        if message_type not in (DATA_MESSAGE, CONTROL_MESSAGE):
            raise InvalidInputError(
                f"{where}: messageType must be {DATA_MESSAGE} or {CONTROL_MESSAGE}"
            )
        events = value.get("logEvents", [])
        if not isinstance(events, list):
            raise InvalidInputError(f"{where}: logEvents must be a list")
        filters = value.get("subscriptionFilters", [])
        return cls(
            message_type=message_type,
            owner=_text(value.get("owner")),
            log_group=_text(value.get("logGroup")),
            log_stream=_text(value.get("logStream")),
            subscription_filters=tuple(_text(f) for f in filters)
            if isinstance(filters, list)
            else (),
            log_events=tuple(_event(e) for e in events),
        )


def _event(value: Any) -> LogEvent:
    # One unreadable event (no message, not an object) is the consumer's to count: the
    # payload's other events still count.
    fields = value if isinstance(value, dict) else {}
    timestamp = fields.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        timestamp = 0
    message = fields.get("message")
    return LogEvent(
        _text(fields.get("id")),
        timestamp,
        message if isinstance(message, str) else "",
    )


def _text(value: Any) -> str:
    return value[:MAX_TEXT_CHARS] if isinstance(value, str) else ""


def log_lines(data: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> list[Any] | None:
    """The JSON value of each log event a record delivers ([] for a control message; None in
    place of a message that is not JSON), or None when the record is no payload at all."""
    try:
        payload = LogsPayload.from_record(data, max_bytes)
    except InvalidInputError:
        return None
    if payload.is_control:
        return []
    values: list[Any] = []
    for event in payload.log_events:
        try:
            values.append(loads(event.message, "log event"))
        except InvalidInputError:
            values.append(None)
    return values
