"""Typed views of the events docflow receives, parsed once at the boundary.

Malformed input raises `InvalidInputError` naming what was wrong, never a `KeyError`. S3
object keys arrive URL-encoded (`+` for spaces, `%2B` for plus) and are decoded here.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from shared.errors import InvalidInputError


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise InvalidInputError(f"{where}: missing field {key!r}")
    return mapping[key]


@dataclass(frozen=True)
class HttpRequest:
    """API Gateway HTTP API request, payload format 2.0."""

    route_key: str
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    path_parameters: dict[str, str]
    raw_body: str | None
    request_id: str | None = None

    @classmethod
    def from_event(cls, event: Any) -> HttpRequest:
        if not isinstance(event, dict) or event.get("version") != "2.0":
            raise InvalidInputError("expected an HTTP API event with payload format 2.0")
        http = _require(_require(event, "requestContext", "event"), "http", "requestContext")
        body = event.get("body")
        if body is not None and event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body).decode("utf-8")
            except ValueError as exc:
                raise InvalidInputError("request body is not valid base64 UTF-8") from exc
        return cls(
            route_key=str(event.get("routeKey", "")),
            method=str(_require(http, "method", "requestContext.http")).upper(),
            path=str(event.get("rawPath", http.get("path", ""))),
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
            path_parameters={
                str(k): str(v) for k, v in (event.get("pathParameters") or {}).items()
            },
            raw_body=body,
            request_id=event["requestContext"].get("requestId"),
        )

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 that says why not."""
        if not self.raw_body:
            raise InvalidInputError("request body is empty; send a JSON object")
        try:
            value = json.loads(self.raw_body)
        except ValueError as exc:
            raise InvalidInputError(f"request body is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise InvalidInputError("request body must be a JSON object")
        return value


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
        records = _require(event, "Records", "S3 event")
        if not isinstance(records, list):
            raise InvalidInputError("S3 event: Records must be a list")
        parsed = []
        for index, record in enumerate(records):
            where = f"S3 event record {index}"
            s3 = _require(record, "s3", where)
            obj = _require(s3, "object", where)
            parsed.append(
                S3Object(
                    event_name=str(record.get("eventName", "")),
                    bucket=str(_require(_require(s3, "bucket", where), "name", where)),
                    key=unquote_plus(str(_require(obj, "key", where))),
                    size=int(obj.get("size", 0)),
                    version_id=obj.get("versionId") or None,
                    etag=obj.get("eTag") or None,
                    sequencer=obj.get("sequencer") or None,
                    event_time=record.get("eventTime"),
                )
            )
        return cls(records=parsed)


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _records(event: Any, where: str) -> list[Any]:
    records = _require(event, "Records", where)
    if not isinstance(records, list):
        raise InvalidInputError(f"{where}: Records must be a list")
    return records


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
        return int(self.attributes.get("ApproximateReceiveCount", "1"))


@dataclass(frozen=True)
class SqsEvent:
    records: list[SqsMessage] = field(default_factory=list)

    @classmethod
    def from_event(cls, event: Any) -> SqsEvent:
        parsed = []
        for index, record in enumerate(_records(event, "SQS event")):
            where = f"SQS record {index}"
            parsed.append(
                SqsMessage(
                    message_id=str(_require(record, "messageId", where)),
                    body=str(record.get("body") or ""),
                    receipt_handle=str(record.get("receiptHandle", "")),
                    attributes=_str_map(record.get("attributes")),
                    # Lambda shows SQS message attributes as {"stringValue": ..., "dataType"}.
                    message_attributes={
                        str(k): str(v.get("stringValue", ""))
                        for k, v in (record.get("messageAttributes") or {}).items()
                        if isinstance(v, dict)
                    },
                    source_arn=str(record.get("eventSourceARN", "")),
                )
            )
        return cls(records=parsed)


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
        try:
            envelope = json.loads(record.body)
        except ValueError as exc:
            raise InvalidInputError(f"message body is not JSON: {exc}") from exc
        if isinstance(envelope, dict) and envelope.get("Type") == "Notification":
            attributes = {
                str(k): str(v.get("Value", ""))
                for k, v in (envelope.get("MessageAttributes") or {}).items()
                if isinstance(v, dict)
            }
            return cls(
                message_id=str(_require(envelope, "MessageId", "SNS envelope")),
                message=str(_require(envelope, "Message", "SNS envelope")),
                attributes=attributes,
                topic_arn=envelope.get("TopicArn"),
                timestamp=envelope.get("Timestamp"),
            )
        return cls(record.message_id, record.body, dict(record.message_attributes))

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.message)
        except ValueError as exc:
            raise InvalidInputError(f"SNS message is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise InvalidInputError("SNS message must be a JSON object")
        return value


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
        parsed = []
        for index, record in enumerate(_records(event, "DynamoDB stream event")):
            where = f"stream record {index}"
            body = _require(record, "dynamodb", where)
            name = str(_require(record, "eventName", where))
            if name not in {"INSERT", "MODIFY", "REMOVE"}:
                raise InvalidInputError(f"{where}: unknown eventName {name!r}")
            created = body.get("ApproximateCreationDateTime")
            parsed.append(
                StreamChange(
                    event_id=str(record.get("eventID", "")),
                    event_name=name,
                    sequence_number=str(_require(body, "SequenceNumber", where)),
                    keys=dict(_require(body, "Keys", where)),
                    new_image=body.get("NewImage"),
                    old_image=body.get("OldImage"),
                    approximate_creation_time=float(created) if created is not None else None,
                    source_arn=str(record.get("eventSourceARN", "")),
                )
            )
        return cls(records=parsed)


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
