"""DynamoDB stream event sources: an ordered poller per mapping, instead of moto's inline calls."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from moto.core.utils import unix_time
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard

from localcloud.patches.context import LocalCloud

log = logging.getLogger("localcloud.streams")
POLL_SECONDS = 0.5
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


class _Position:
    def __init__(self, index: int) -> None:
        self.index = index
        self.attempts = 0
        self.not_before = 0.0


class StreamPoller:
    """Reads each table's stream in order for every mapped function, as Lambda's pollers do.

    A batch (up to BatchSize records) goes to the function synchronously. Success moves past
    it; with ReportBatchItemFailures the poller moves to the first failed record; a function
    error retries the same batch with backoff, MaximumRetryAttempts times (-1 or unset: until
    it succeeds), then sends the batch's description to the OnFailure destination and moves on.
    Records stay in the shard, so GetRecords readers see them too and sequence numbers grow.
    """

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._positions: dict[tuple[str, str], _Position] = {}
        threading.Thread(target=self._run, daemon=True, name="stream-poller").start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                self._poll_once()
            except Exception:
                log.exception("stream poll failed")

    def _poll_once(self) -> None:
        for account_id, regions in list(dynamodb_backends.items()):
            for region, backend in list(regions.items()):
                for table in list(backend.tables.values()):
                    shard = getattr(table, "stream_shard", None)
                    if shard is None:
                        continue
                    for function_arn, mapping in list(table.lambda_event_source_mappings.items()):
                        if mapping.enabled:
                            self._deliver(account_id, region, shard, function_arn, mapping)

    def _deliver(
        self, account_id: str, region: str, shard: StreamShard, function_arn: str, mapping: Any
    ) -> None:
        from moto.awslambda.utils import get_backend

        from localcloud.patches import awslambda

        key = (mapping.event_source_arn, function_arn)
        position = self._positions.get(key)
        if position is None:
            latest = str(mapping.starting_position or "TRIM_HORIZON").upper() == "LATEST"
            position = self._positions[key] = _Position(len(shard.items) if latest else 0)
        if position.index >= len(shard.items) or time.monotonic() < position.not_before:
            return
        batch = shard.items[position.index : position.index + int(mapping.batch_size or 100)]
        event = {"Records": [_record(item, mapping.event_source_arn, region) for item in batch]}
        fn = get_backend(account_id, region).get_function(function_arn)
        result = awslambda._run(fn, json.dumps(event))
        if result.function_error is None:
            failed_at = len(batch)
            if "ReportBatchItemFailures" in (mapping.function_response_types or []):
                answer = json.loads(result.payload) if result.payload else None
                failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
                sequence = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
                for failure in failures or []:
                    identifier = str(failure.get("itemIdentifier"))
                    if identifier in sequence:
                        failed_at = min(failed_at, sequence.index(identifier))
            if failed_at == len(batch):
                position.index += len(batch)
                position.attempts = 0
                self._wake.set()
                return
            position.index += failed_at
        position.attempts += 1
        limit = mapping.max_retry_attempts
        if limit is not None and int(limit) >= 0 and position.attempts > int(limit):
            self._give_up(mapping, function_arn, shard, batch, position.attempts, result.request_id)
            position.index += len(batch)
            position.attempts = 0
            self._wake.set()
            return
        position.not_before = time.monotonic() + min(
            2.0 ** (position.attempts - 1), MAX_BACKOFF_SECONDS
        )

    @staticmethod
    def _give_up(
        mapping: Any,
        function_arn: str,
        shard: StreamShard,
        batch: list[Any],
        attempts: int,
        request_id: str,
    ) -> None:
        from localcloud.patches.awslambda import _send_to

        destination = ((mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if not destination:
            return
        first, last = batch[0].to_json(), batch[-1].to_json()
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
            "DDBStreamBatchInfo": {
                "shardId": shard.id,
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "batchSize": len(batch),
                "streamArn": mapping.event_source_arn,
            },
        }
        _send_to(destination, json.dumps(record), {})


def dynamodb_stream_poller(cloud: LocalCloud) -> None:
    """DynamoDB stream records reach a mapped function in order, after the write has returned.

    moto invoked the function inside PutItem/UpdateItem (the writer waited), dropped the records
    after any answer, error or not, and so restarted sequence numbers after each delivery.
    """
    poller = StreamPoller()
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
