"""SQS records, and SNS notifications delivered through SQS."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidInputError
from shared.events._parse import _mapping, _records, _require, _str_map
from shared.events.payloads import loads


@dataclass(frozen=True)
class SqsMessage:
    """One record of an SQS event (Lambda event source mapping)."""

    message_id: str
    body: str
    receipt_handle: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    message_attributes: dict[str, str] = field(default_factory=dict)
    source_arn: str = ""

    @property
    def receive_count(self) -> int:
        count = self.attributes.get("ApproximateReceiveCount", "1")
        return int(count) if count.isdigit() else 1


@dataclass(frozen=True)
class SqsEvent:
    records: list[SqsMessage] = field(default_factory=list)

    @classmethod
    def from_event(cls, event: Any) -> SqsEvent:
        return cls(records=_records(event, "SQS event", "SQS record", _message))


def _message(record: Any, where: str) -> SqsMessage:
    return SqsMessage(
        message_id=str(_require(record, "messageId", where)),
        body=str(record.get("body") or ""),
        receipt_handle=str(record.get("receiptHandle", "")),
        attributes=_str_map(record.get("attributes")),
        # Lambda shows SQS message attributes as {"stringValue": ..., "dataType"}.
        message_attributes={
            str(k): str(v.get("stringValue", ""))
            for k, v in _mapping(record.get("messageAttributes")).items()
            if isinstance(v, dict)
        },
        source_arn=str(record.get("eventSourceARN", "")),
    )


@dataclass(frozen=True)
class Notification:
    """An SNS message read from an SQS record, enveloped (default) or raw-delivered.

    `message_id` is SNS's id when the envelope carries it (the same on every redelivery of
    one publish), else the SQS message id.
    """

    message_id: str
    message: str
    attributes: dict[str, str]
    topic_arn: str | None = None
    timestamp: str | None = None

    @classmethod
    def from_sqs(cls, record: SqsMessage, max_bytes: int = 256 * 1024) -> Notification:
        size = len(record.body.encode("utf-8"))
        if size > max_bytes:
            raise InvalidInputError(f"message is {size} bytes, over the {max_bytes} byte limit")
        envelope = loads(record.body, "message body")
        if isinstance(envelope, dict) and envelope.get("Type") == "Notification":
            attributes = {
                str(k): str(v.get("Value", ""))
                for k, v in _mapping(envelope.get("MessageAttributes")).items()
                if isinstance(v, dict)
            }
            message = _require(envelope, "Message", "SNS envelope")
            if not isinstance(message, str):
                raise InvalidInputError("SNS envelope: Message must be a string")
            return cls(
                message_id=str(_require(envelope, "MessageId", "SNS envelope")),
                message=message,
                attributes=attributes,
                topic_arn=_text(envelope.get("TopicArn")),
                timestamp=_text(envelope.get("Timestamp")),
            )
        return cls(record.message_id, record.body, dict(record.message_attributes))

    def json(self) -> dict[str, Any]:
        value = loads(self.message, "SNS message")
        if not isinstance(value, dict):
            raise InvalidInputError("SNS message must be a JSON object")
        return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
