"""DynamoDB and Kinesis event sources: ordered pollers, instead of moto's inline calls."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.core.utils import unix_time
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard
from moto.kinesis.models import Stream as KinesisStream
from moto.kinesis.models import kinesis_backends

from localcloud.patches.context import LocalCloud
from localcloud.patches.polling import Poller

MAX_BACKOFF_SECONDS = 30.0


def _record(item: Any, source_arn: str, region: str) -> dict[str, Any]:
    record = item.to_json()
    dynamodb = dict(record["dynamodb"])
    if isinstance(dynamodb.get("ApproximateCreationDateTime"), datetime):
        dynamodb["ApproximateCreationDateTime"] = unix_time(dynamodb["ApproximateCreationDateTime"])
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record["eventVersion"],
        "eventSource": record["eventSource"],
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": source_arn,
    }


def _kinesis_record(item: Any, stream_arn: str, shard_id: str, region: str) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": item.partition_key,
            "sequenceNumber": str(item.sequence_number),
            "data": item.data,
            "approximateArrivalTimestamp": item.created_at,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{item.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/localcloud",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


@dataclass
class _Source:
    """One shard's records as a poller reads them, and how they appear in the event."""

    shard_id: str
    records: list[Any]
    build: Callable[[Any], dict[str, Any]]
    identifier: Callable[[dict[str, Any]], str]
    info_key: str
    arrival: Callable[[Any], float] | None = None  # epoch seconds; Kinesis only


class _Position:
    def __init__(self, index: int) -> None:
        self.index = index
        self.attempts = 0
        self.not_before = 0.0
        # With a tumbling window: the open window's start (epoch seconds) and its state.
        self.window_start: float | None = None
        self.window_state: Any = {}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_POLLERS: list[StreamPoller] = []


def _records_in(source_arn: str, shard_id: str) -> int | None:
    parts = source_arn.split(":")
    region, account_id, resource = parts[3], parts[4], parts[5]
    name = resource.split("/")[1]
    try:
        if parts[2] == "kinesis":
            return len(kinesis_backends[account_id][region].streams[name].shards[shard_id].records)
        shard = dynamodb_backends[account_id][region].tables[name].stream_shard
        return len(shard.items) if shard is not None else None
    except (KeyError, AttributeError):
        return None


def positions() -> list[dict[str, Any]]:
    """Where each stream consumer is: records read of the records in the shard, its retries
    of the current batch (what the local console shows as the consumer's position)."""
    found = []
    for poller in _POLLERS:
        for (source_arn, shard_id, function_arn), position in list(poller._positions.items()):
            found.append(
                {
                    "source_arn": source_arn,
                    "shard_id": shard_id,
                    "function_arn": function_arn,
                    "read": position.index,
                    "records": _records_in(source_arn, shard_id),
                    "attempts": position.attempts,
                }
            )
    return found


class StreamPoller(Poller):
    """Reads each table's stream in order for every mapped function, as Lambda's pollers do.

    A batch (up to BatchSize records) goes to the function synchronously. Success moves past
    it; with ReportBatchItemFailures the poller moves to the first failed record; a function
    error retries the same batch with backoff, MaximumRetryAttempts times (-1 or unset: until
    it succeeds), then sends the batch's description to the OnFailure destination and moves on.
    Records stay in the shard, so GetRecords readers see them too and sequence numbers grow.
    """

    thread_name = "stream-poller"

    def __init__(self) -> None:
        self._positions: dict[tuple[str, str, str], _Position] = {}
        super().__init__()

    def _poll_once(self) -> None:
        for account_id, regions in list(dynamodb_backends.items()):
            for region, backend in list(regions.items()):
                for table in list(backend.tables.values()):
                    shard = getattr(table, "stream_shard", None)
                    if shard is None:
                        continue
                    for function_arn, mapping in list(table.lambda_event_source_mappings.items()):
                        if mapping.enabled:
                            source = _Source(
                                shard_id=shard.id,
                                records=shard.items,
                                build=functools.partial(
                                    _record, source_arn=mapping.event_source_arn, region=region
                                ),
                                identifier=lambda record: record["dynamodb"]["SequenceNumber"],
                                info_key="DDBStreamBatchInfo",
                            )
                            self._deliver(account_id, region, source, function_arn, mapping)
        for account_id, kinesis_regions in list(kinesis_backends.items()):
            for region, kinesis in list(kinesis_regions.items()):
                for stream in list(kinesis.streams.values()):
                    for mapping in list(stream.lambda_event_source_mappings.values()):
                        if not mapping.enabled:
                            continue
                        for shard in list(stream.shards.values()):
                            source = _Source(
                                shard_id=shard.shard_id,
                                records=list(shard.records.values()),
                                build=functools.partial(
                                    _kinesis_record,
                                    stream_arn=stream.arn,
                                    shard_id=shard.shard_id,
                                    region=region,
                                ),
                                identifier=lambda record: str(record["kinesis"]["sequenceNumber"]),
                                info_key="KinesisBatchInfo",
                                arrival=lambda item: float(item.created_at),
                            )
                            self._deliver(account_id, region, source, mapping.function_arn, mapping)

    def _deliver(
        self, account_id: str, region: str, source: _Source, function_arn: str, mapping: Any
    ) -> None:
        from moto.awslambda.utils import get_backend

        from localcloud.iam import deploytime, enforce
        from localcloud.patches import awslambda

        key = (mapping.event_source_arn, source.shard_id, function_arn)
        position = self._positions.get(key)
        if position is None:
            latest = str(mapping.starting_position or "TRIM_HORIZON").upper() == "LATEST"
            position = self._positions[key] = _Position(len(source.records) if latest else 0)
        windowed = bool(getattr(mapping, "tumbling_window", None)) and source.arrival is not None
        pending_close = windowed and position.window_start is not None
        if time.monotonic() < position.not_before:
            return
        if position.index >= len(source.records) and not pending_close:
            return
        fn = get_backend(account_id, region).get_function(function_arn)
        # Lambda's poller reads the stream with the function's role (checked at deploy time too).
        reads = (
            deploytime.KINESIS_STREAM_READS
            if mapping.event_source_arn.split(":")[2] == "kinesis"
            else deploytime.DYNAMODB_STREAM_READS
        )
        if not all(
            enforce.role_may(fn.role, fn.function_name, need, mapping.event_source_arn)
            for need in reads
        ):
            return
        batch = source.records[position.index : position.index + int(mapping.batch_size or 100)]
        event: dict[str, Any] = {"Records": [source.build(item) for item in batch]}
        size = int(getattr(mapping, "tumbling_window", None) or 0)
        if size and source.arrival is not None:
            in_window = self._window(position, source, batch, size, event)
            if in_window is None:
                return
            batch = in_window
        result = awslambda._run(fn, json.dumps(event))
        failed_at = 0
        if result.function_error is None:
            failed_at = len(batch)
            if "ReportBatchItemFailures" in (mapping.function_response_types or []):
                answer = json.loads(result.payload) if result.payload else None
                failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
                identifiers = [source.identifier(r) for r in event["Records"]]
                for failure in failures or []:
                    identifier = str(failure.get("itemIdentifier"))
                    if identifier in identifiers:
                        failed_at = min(failed_at, identifiers.index(identifier))
            if size and source.arrival is not None:
                answer = json.loads(result.payload) if result.payload else None
                state = answer.get("state") if isinstance(answer, dict) else None
                if event.get("isFinalInvokeForWindow"):
                    position.window_start, position.window_state = None, {}
                else:
                    position.window_state = state if isinstance(state, dict) else {}
            if failed_at == len(batch):
                position.index += len(batch)
                position.attempts = 0
                self._wake.set()
                return
            # checkpoint: the records before the first failed one are done
            position.index += failed_at
        position.attempts += 1
        limit = mapping.max_retry_attempts
        if limit is not None and int(limit) >= 0 and position.attempts > int(limit):
            remaining = event["Records"][failed_at:]
            if remaining:
                self._give_up(
                    mapping, function_arn, source, remaining, position.attempts, result.request_id
                )
            elif event.get("isFinalInvokeForWindow"):
                position.window_start, position.window_state = None, {}  # the window is lost
            position.index += len(remaining)
            position.attempts = 0
            self._wake.set()
            return
        position.not_before = time.monotonic() + min(
            2.0 ** (position.attempts - 1), MAX_BACKOFF_SECONDS
        )

    @staticmethod
    def _window(
        position: _Position, source: _Source, batch: list[Any], size: int, event: dict[str, Any]
    ) -> list[Any] | None:
        """Make `event` a tumbling-window invocation, as Lambda does for a mapping with
        TumblingWindowInSeconds; the records it carries, or None when there is nothing to send.

        Windows are aligned to multiples of their size since the epoch and hold the records
        that arrived in them. Each invocation gets the window, its records so far and the state
        the previous one returned; once the window is over, a final invocation
        (`isFinalInvokeForWindow`, no records) closes it, and the next window starts empty.
        """
        assert source.arrival is not None
        now = time.time()
        if batch and position.window_start is None:
            first = source.arrival(batch[0])
            position.window_start = first - first % size
            position.window_state = {}
        start = position.window_start
        if start is None:
            return None  # no window open and nothing arrived
        end = start + size
        inside = [item for item in batch if source.arrival(item) < end]
        if not inside and now < end:
            return None  # the window is still open and its next records are not there yet
        event.update(
            {
                "window": {"start": _iso(start), "end": _iso(end)},
                "state": position.window_state,
                "shardId": source.shard_id,
                "eventSourceARN": event["Records"][0]["eventSourceARN"] if inside else "",
                "isFinalInvokeForWindow": not inside,
                "isWindowTerminatedEarly": False,
            }
        )
        event["Records"] = event["Records"][: len(inside)]
        return inside

    @staticmethod
    def _give_up(
        mapping: Any,
        function_arn: str,
        source: _Source,
        records: list[dict[str, Any]],
        attempts: int,
        request_id: str,
    ) -> None:
        from localcloud.patches.awslambda import _send_to

        destination = ((mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if not destination:
            return
        record = {
            "requestContext": {
                "requestId": request_id,
                "functionArn": function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            source.info_key: {
                "shardId": source.shard_id,
                "startSequenceNumber": source.identifier(records[0]),
                "endSequenceNumber": source.identifier(records[-1]),
                "batchSize": len(records),
                "streamArn": mapping.event_source_arn,
            },
        }
        from moto.awslambda.utils import get_backend

        parts = function_arn.split(":")
        _send_to(
            destination,
            json.dumps(record),
            {},
            get_backend(parts[4], parts[3]).get_function(function_arn),
        )


def stream_pollers(cloud: LocalCloud) -> None:
    """Stream records (DynamoDB, Kinesis) reach a mapped function in order, after the write.

    moto invoked the function inside PutItem/UpdateItem/PutRecord (the writer waited), dropped
    DynamoDB records after any answer, error or not (so sequence numbers restarted after each
    delivery), and sent Kinesis records one by one, losing a record whose invocation failed.
    """
    poller = StreamPoller()
    _POLLERS.append(poller)
    original = StreamShard.add

    def add(self: StreamShard, old: Any, new: Any) -> None:
        mappings = self.table.lambda_event_source_mappings
        self.table.lambda_event_source_mappings = {}
        try:
            original(self, old, new)
        finally:
            self.table.lambda_event_source_mappings = mappings
        poller.wake()

    StreamShard.add = add  # type: ignore[method-assign]

    original_put = KinesisStream.put_record

    def put_record(
        self: KinesisStream, partition_key: str, explicit_hash_key: str, data: str
    ) -> Any:
        # moto invokes the mapped function per record inside PutRecord(s), and drops the record
        # when it fails; AWS reads the shard in batches and retries. Hide the mappings from it.
        mappings = self.lambda_event_source_mappings
        self.lambda_event_source_mappings = {}
        try:
            return original_put(self, partition_key, explicit_hash_key, data)
        finally:
            self.lambda_event_source_mappings = mappings
            poller.wake()

    KinesisStream.put_record = put_record  # type: ignore[method-assign]
