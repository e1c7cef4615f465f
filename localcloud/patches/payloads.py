"""Payload limits moto 5.2.5 misses or gets wrong: Lambda responses, SQS messages, Kinesis records.

The figures are in `localcloud.limits`; the request side of Lambda Invoke is checked before moto
sees the body (`localcloud.limits.middleware`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from localcloud import limits
from localcloud.patches.context import LocalCloud


def _length(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(str(value).encode("utf-8"))


def lambda_response_limit(cloud: LocalCloud) -> None:
    """A synchronous Invoke whose function answers more than 6,291,556 bytes fails as Lambda does.

    Lambda answers 200 with `X-Amz-Function-Error: Unhandled` and the payload
    {"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556
    bytes).", "errorType": "Function.ResponseSizeTooLarge"}. moto did so when `sys.getsizeof` of
    the answer passed 6,000,000, refusing answers of 5,999,967 to 6,291,556 bytes that Lambda
    returns. Everything else is moto's Invoke: 202 for Event, 204 for DryRun, the log tail only
    with `X-Amz-Log-Type: Tail`.
    """
    from moto.awslambda.responses import LambdaResponse
    from moto.utilities.aws_headers import amz_crc32

    @amz_crc32
    def invoke(self: LambdaResponse) -> tuple[int, dict[str, str], str | bytes]:
        response_headers: dict[str, str] = {}
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        payload = self.backend.invoke(
            function_name, self._get_param("qualifier"), self.body, self.headers, response_headers
        )
        if payload is None:
            return 404, response_headers, "{}"
        response_headers["content-type"] = "application/json"
        invocation_type = self.headers.get("X-Amz-Invocation-Type")
        if invocation_type == "Event":
            return 202, {**response_headers, "status": "202"}, payload
        if invocation_type == "DryRun":
            return 204, {**response_headers, "status": "204"}, payload
        if _length(payload) > limits.LAMBDA_SYNC_RESPONSE_MAX:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps(
                {
                    "errorMessage": "Response payload size exceeded maximum allowed payload "
                    f"size ({limits.LAMBDA_SYNC_RESPONSE_MAX} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
            ).encode()
        if self.headers.get("X-Amz-Log-Type") != "Tail":
            response_headers.pop("x-amz-log-result", None)
        return 200, response_headers, payload

    LambdaResponse.invoke = invoke  # type: ignore[method-assign]


def sqs_message_size(message_body: str, message_attributes: Mapping[str, Any] | None) -> int:
    """A message's size as SQS counts it: the body and each attribute's name, type and value."""
    size = _length(message_body)
    for name, attribute in (message_attributes or {}).items():
        value = attribute.get("StringValue")
        if value is None:
            value = attribute.get("BinaryValue") or b""
        size += _length(name) + _length(attribute.get("DataType", "")) + _length(value)
    return size


def sqs_message_limits(cloud: LocalCloud) -> None:
    """SQS sizes a message in bytes with its attributes, against the queue's MaximumMessageSize.

    SendMessage over it is `InvalidParameterValue` ("One or more parameters are invalid.
    Reason: Message must be shorter than 1048576 bytes."); a SendMessageBatch whose messages
    total more than 1 MiB is `BatchRequestTooLong` ("Batch requests cannot be longer than
    1048576 bytes. You have sent <n> bytes."). moto 5.2.5 has the 1 MiB limits but counts the
    body's characters only, so a body of multi-byte characters or large attributes got through.
    """
    from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue
    from moto.sqs.models import SQSBackend

    original_send = SQSBackend.send_message
    original_batch = SQSBackend.send_message_batch

    def send_message(
        self: SQSBackend,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        limit = int(self.get_queue(queue_name).maximum_message_size)  # type: ignore[attr-defined]
        if sqs_message_size(message_body, message_attributes) > limit:
            raise InvalidParameterValue(
                "One or more parameters are invalid. "
                f"Reason: Message must be shorter than {limit} bytes."
            )
        return original_send(self, queue_name, message_body, message_attributes, *args, **kwargs)

    def send_message_batch(
        self: SQSBackend, queue_name: str, entries: dict[str, dict[str, Any]]
    ) -> Any:
        total = sum(
            sqs_message_size(entry["MessageBody"], entry.get("MessageAttributes"))
            for entry in entries.values()
        )
        if total > limits.SQS_BATCH_MAX:
            raise BatchRequestTooLong(total)
        return original_batch(self, queue_name, entries)

    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    SQSBackend.send_message_batch = send_message_batch  # type: ignore[method-assign]


def _record_size(data: str | bytes | None, partition_key: str | None) -> int:
    try:
        raw = base64.b64decode(data or b"")
    except (binascii.Error, ValueError):
        raw = data.encode() if isinstance(data, str) else (data or b"")
    return len(raw) + _length(partition_key or "")


def kinesis_record_limits(cloud: LocalCloud) -> None:
    """Kinesis refuses a record over 1 MiB (data and partition key) with ValidationException.

    PutRecord: "1 validation error detected: Value at 'data' failed to satisfy constraint:
    Member must have length less than or equal to 1048576"; PutRecords names the first such
    record, "Value at 'records.<n>.member.data'", before the 5 MiB request total is looked at
    (a member constraint is checked before the operation runs). moto 5.2.5 checked neither for
    PutRecord, and the record limit of PutRecords only after the request total.
    """
    from moto.core.exceptions import JsonRESTError
    from moto.kinesis.exceptions import RecordSizeExceedsLimit
    from moto.kinesis.models import KinesisBackend

    original_put_record = KinesisBackend.put_record
    original_put_records = KinesisBackend.put_records
    limit = limits.KINESIS_RECORD_MAX

    def put_record(
        self: KinesisBackend,
        stream_arn: str,
        stream_name: str,
        partition_key: str,
        explicit_hash_key: str,
        data: str,
    ) -> tuple[str, str]:
        if _record_size(data, partition_key) > limit:
            raise JsonRESTError(
                "ValidationException",
                "1 validation error detected: Value at 'data' failed to satisfy constraint: "
                f"Member must have length less than or equal to {limit}",
            )
        return original_put_record(
            self, stream_arn, stream_name, partition_key, explicit_hash_key, data
        )

    def put_records(
        self: KinesisBackend, stream_arn: str, stream_name: str, records: list[dict[str, Any]]
    ) -> dict[str, Any]:
        for position, record in enumerate(records, start=1):
            if _record_size(record.get("Data"), record.get("PartitionKey")) > limit:
                raise RecordSizeExceedsLimit(position=position)
        return original_put_records(self, stream_arn, stream_name, records)

    KinesisBackend.put_record = put_record  # type: ignore[method-assign]
    KinesisBackend.put_records = put_records  # type: ignore[method-assign]
