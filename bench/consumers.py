"""Records per second through each batch consumer, and what the shared helpers cost per record.

Consumers, each its real handler in process (medians of N runs, interleaved):
- notify (SQS): SNS-enveloped document events -> document lookup, idempotency claim, SES
  send; DynamoDB and SES are moto in process;
- webhooks (SQS): the same events -> breaker check, idempotency claim, a signed POST to a
  subscriber on 127.0.0.1;
- sync (DynamoDB stream): document changes -> one JSON Lines object per batch (moto S3);
- analytics (Kinesis): access-log lines (CloudWatch Logs subscription payloads, 10 lines a
  record) folded into a window, then the window closed; its rate counts lines.
Every run uses fresh event ids, so the idempotency claims take the "first delivery" path.

Overhead of the shared helpers, on the same records and the same per-record work (parsing
the SQS record into a document event), timed in the same run:
- bare: a plain loop,
- batch: `shared.batch.process_batch`,
- batch + idempotency (fake): plus `Idempotency.run_once` on an in-memory table (the
  helpers' own Python cost),
- batch + idempotency (moto): plus the claim and completion as DynamoDB calls (moto).
Ratios are against the bare loop; moto stands in for DynamoDB, whose network round trips
(single-digit ms in AWS) dominate there, so the moto ratio is a floor, not a forecast.

    python -m bench.consumers [--runs N] [--records N]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import io
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from moto import mock_aws

from bench.common import write_results

ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "LOG_LEVEL": "WARNING",
    "DOCFLOW_STAGE": "bench",
    "DOCUMENTS_TABLE": "bench-documents",
    "IDEMPOTENCY_TABLE": "bench-idempotency",
    "NOTIFY_SENDER": "bench@example.com",
    "NOTIFY_ADDRESS_TEMPLATE": "{owner}@example.com",
    "SUBSCRIBERS_TABLE": "bench-subscribers",
    "BREAKERS_TABLE": "bench-breakers",
    "WEBHOOK_SECRET_NAME": "bench/webhook-signing",
    "WEBHOOK_CONNECT_TIMEOUT_MS": "1000",
    "WEBHOOK_READ_TIMEOUT_MS": "2000",
    "WEBHOOK_ALLOW_HTTP": "true",
    "BREAKER_FAILURE_THRESHOLD": "3",
    "BREAKER_OPEN_SECONDS": "60",
    "BREAKER_TRIAL_SECONDS": "15",
    "ANALYTICS_BUCKET": "bench-analytics",
    "LAKE_PREFIX": "lake/documents",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-alarms",
    "METRICS_NAMESPACE": "docflow/bench",
    "ALERT_ERROR_RATE_PERCENT": "5",
    "ALERT_P99_LATENCY_MS": "2000",
    "ALERT_MIN_REQUESTS": "1000000",
    "MAX_ROUTES": "50",
}


class _Context:
    aws_request_id = "bench"
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 256

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _median_rates(work: dict[str, Callable[[], int]], runs: int) -> dict[str, dict[str, float]]:
    """Median seconds per callable (round-robin runs) and the records/s it implies."""
    times: dict[str, list[float]] = {name: [] for name in work}
    counts: dict[str, int] = {}
    for _ in range(runs):
        for name, call in work.items():
            with contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                counts[name] = call()
                times[name].append(time.perf_counter() - started)
    result = {}
    for name, values in times.items():
        seconds = statistics.median(values)
        result[name] = {
            "records": counts[name],
            "seconds": round(seconds, 4),
            "records_per_s": round(counts[name] / seconds, 1),
            "us_per_record": round(seconds / counts[name] * 1e6, 2),
        }
    return result


def _sqs_records(document_ids: list[str]) -> list[dict[str, Any]]:
    from docflow.documents.events import EventType

    records = []
    for document_id in document_ids:
        event_id = f"{document_id}:{uuid.uuid4().hex}"
        message = {
            "event_id": event_id,
            "event_type": str(EventType.PROCESSED),
            "document_id": document_id,
        }
        envelope = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:bench-events",
            "Message": json.dumps(message),
            "MessageAttributes": {
                "event_type": {"Type": "String", "Value": str(EventType.PROCESSED)}
            },
        }
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "r",
                "body": json.dumps(envelope),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
            }
        )
    return records


def _stream_records(count: int) -> list[dict[str, Any]]:
    now = time.time()
    records = []
    for index in range(count):
        image = {
            "document_id": {"S": f"doc_{index:032x}"},
            "owner": {"S": "bench"},
            "status": {"S": "processed"},
            "filename": {"S": "invoice.csv"},
            "updated_at": {"S": "2026-11-27T10:00:00.000Z"},
            "history": {"L": [{"M": {"status": {"S": "processed"}, "actor": {"S": "b"}}}]},
        }
        records.append(
            {
                "eventID": str(index),
                "eventName": "MODIFY",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "ApproximateCreationDateTime": now,
                    "Keys": {"document_id": image["document_id"]},
                    "NewImage": image,
                    "OldImage": {**image, "status": {"S": "processing"}},
                    "SequenceNumber": str(10**20 + index),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        )
    return records


def _kinesis_records(count: int, lines_per_record: int = 10) -> list[dict[str, Any]]:
    """`count` access-log lines as a CloudWatch Logs subscription delivers them: gzip
    DATA_MESSAGE payloads of `lines_per_record` lines each."""
    routes = ["GET /documents", "POST /documents", "GET /documents/{id}"]
    lines = [
        json.dumps(
            {
                "requestId": f"r{i}",
                "routeKey": routes[i % 3],
                "status": "500" if i % 50 == 0 else "200",
                "responseLatency": str(5 + (i % 200)),
            }
        )
        for i in range(count)
    ]
    records = []
    for n, first in enumerate(range(0, count, lines_per_record)):
        payload = {
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": "/aws/http-api/docflow-bench",
            "logStream": "api_$default",
            "subscriptionFilters": ["bench"],
            "logEvents": [
                {"id": str(first + j), "timestamp": 1764237600000, "message": line}
                for j, line in enumerate(lines[first : first + lines_per_record])
            ],
        }
        records.append(
            {
                "kinesis": {
                    "data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode(),
                    "sequenceNumber": str(10**20 + n),
                    "partitionKey": "api",
                },
                "eventSource": "aws:kinesis",
            }
        )
    return records


def _batched(records: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


class _FakeDynamoDB:
    """The conditional put / update / delete `Idempotency` makes, on a dict."""

    def __init__(self) -> None:
        from shared import aws

        self.items: dict[str, dict[str, Any]] = {}
        # The modelled exceptions a caller catches, as a real client has them.
        self.exceptions = aws.client("dynamodb").exceptions

    def put_item(self, Item: dict[str, Any], **_: Any) -> None:  # noqa: N803
        key = Item["idempotency_key"]["S"]
        if key in self.items:
            raise self.exceptions.ConditionalCheckFailedException(
                {"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem"
            )
        self.items[key] = Item

    def update_item(self, Key: dict[str, Any], **_: Any) -> None:  # noqa: N803
        self.items[Key["idempotency_key"]["S"]]["status"] = {"S": "completed"}

    def delete_item(self, Key: dict[str, Any], **_: Any) -> None:  # noqa: N803
        self.items.pop(Key["idempotency_key"]["S"], None)


def run(runs: int, records: int) -> dict[str, Any]:
    os.environ.update(ENV)
    with mock_aws():
        return _run(runs, records)


def _run(runs: int, count: int) -> dict[str, Any]:
    from docflow.documents.events import DocumentEvent
    from docflow.documents.model import Document, Status, incoming_key, now_iso
    from docflow.documents.store import DocumentStore
    from docflow.webhooks.model import Subscriber
    from docflow.webhooks.store import Subscribers
    from shared import aws
    from shared.batch import process_batch
    from shared.events.sqs import Notification, SqsEvent, SqsMessage
    from shared.idempotency import Idempotency
    from tests.functional.events.conftest import Receiver
    from tests.support import fresh_import, table_definition

    aws.reset()
    dynamodb = aws.client("dynamodb")
    for fragment, logical_id, name in (
        ("resources/storage.yml", "DocumentsTable", ENV["DOCUMENTS_TABLE"]),
        ("resources/storage.yml", "IdempotencyTable", ENV["IDEMPOTENCY_TABLE"]),
        ("resources/events.yml", "SubscribersTable", ENV["SUBSCRIBERS_TABLE"]),
        ("resources/events.yml", "BreakersTable", ENV["BREAKERS_TABLE"]),
    ):
        dynamodb.create_table(**table_definition(fragment, logical_id, name))
    aws.client("ses").verify_email_identity(EmailAddress=ENV["NOTIFY_SENDER"])
    aws.client("s3").create_bucket(Bucket=ENV["ANALYTICS_BUCKET"])
    aws.client("secretsmanager").create_secret(
        Name=ENV["WEBHOOK_SECRET_NAME"], SecretString="bench-secret"
    )
    store = DocumentStore(ENV["DOCUMENTS_TABLE"])
    document_ids = []
    for index in range(50):
        at = now_iso()
        document_id = f"doc_{index:032x}"
        store.create(
            Document(
                document_id,
                f"owner{index}",
                "a.csv",
                "text/csv",
                1,
                Status.PROCESSED,
                at,
                at,
                incoming_key(document_id, "a.csv"),
            )
        )
        document_ids.append(document_id)
    receiver = Receiver()
    Subscribers(ENV["SUBSCRIBERS_TABLE"]).put(Subscriber("bench", receiver.url))

    notify = fresh_import("handlers.notify").handler
    webhooks = fresh_import("handlers.webhooks").handler
    sync = fresh_import("handlers.sync").handler
    analytics = fresh_import("handlers.analytics").handler
    context = _Context()

    def ids(n: int) -> list[str]:
        return [document_ids[i % len(document_ids)] for i in range(n)]

    def sqs_consumer(handler: Callable[..., Any], n: int) -> Callable[[], int]:
        def call() -> int:
            for batch in _batched(_sqs_records(ids(n)), 10):
                assert handler({"Records": batch}, context)["batchItemFailures"] == []
            return n

        return call

    def sync_call() -> int:
        for batch in _batched(_stream_records(count), 100):
            assert sync({"Records": batch}, context)["batchItemFailures"] == []
        return count

    def analytics_call() -> int:
        state: dict[str, Any] = {}
        for batch in _batched(_kinesis_records(count), 50):
            state = analytics(
                {
                    "Records": batch,
                    "state": state,
                    "shardId": "s",
                    "window": {"start": "2026-11-27T10:00:00Z", "end": "2026-11-27T10:01:00Z"},
                },
                context,
            )["state"]
        analytics(
            {
                "Records": [],
                "state": state,
                "shardId": "s",
                "isFinalInvokeForWindow": True,
                "window": {"start": "2026-11-27T10:00:00Z", "end": "2026-11-27T10:01:00Z"},
            },
            context,
        )
        return count

    try:
        consumers = _median_rates(
            {
                "notify_sqs": sqs_consumer(notify, min(count, 200)),
                "webhooks_sqs": sqs_consumer(webhooks, min(count, 200)),
                "sync_dynamodb_stream": sync_call,
                "analytics_kinesis": analytics_call,
            },
            runs,
        )
    finally:
        receiver.stop()

    # -- per-record overhead of the shared helpers -------------------------------------
    def work(record: SqsMessage) -> None:
        notification = Notification.from_sqs(record)
        DocumentEvent.parse(notification.json(), notification.attributes, notification.message_id)

    fake_table = _FakeDynamoDB()
    fake = Idempotency("fake", client_factory=lambda: fake_table)
    real = Idempotency(ENV["IDEMPOTENCY_TABLE"])

    def bare(records: list[SqsMessage]) -> None:
        for record in records:
            work(record)

    def batch(records: list[SqsMessage]) -> None:
        process_batch(records, work, lambda r: r.message_id)

    def with_idempotency(idempotency: Idempotency) -> Callable[[list[SqsMessage]], None]:
        def body(records: list[SqsMessage]) -> None:
            process_batch(
                records,
                lambda r: idempotency.run_once(f"bench#{r.message_id}", lambda: work(r)),
                lambda r: r.message_id,
            )

        return body

    variants: dict[str, Callable[[list[SqsMessage]], None]] = {
        "bare_loop": bare,
        "process_batch": batch,
        "process_batch_idempotency_fake": with_idempotency(fake),
        "process_batch_idempotency_moto": with_idempotency(real),
    }
    # Only the loop is timed: the records are built and parsed before the clock starts.
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, body in variants.items():
            records = SqsEvent.from_event({"Records": _sqs_records(ids(count))}).records
            started = time.perf_counter()
            body(records)
            times[name].append((time.perf_counter() - started) / len(records) * 1e6)
    per_record = {name: statistics.median(values) for name, values in times.items()}
    base = per_record["bare_loop"]
    ratios = {
        name: {
            "us_per_record": round(value, 2),
            "ratio_to_bare_loop": round(value / base, 2),
            "overhead_us_per_record": round(value - base, 2),
        }
        for name, value in per_record.items()
    }
    return {
        "runs": runs,
        "records": count,
        "note": (
            "in process, moto for AWS; webhooks POST to a loopback server; notify/webhooks "
            "use min(records, 200) per run; helper timings cover the loop only"
        ),
        "consumers": consumers,
        "helpers": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=500)
    args = parser.parse_args()
    results = run(args.runs, args.records)
    path = write_results("consumers", results)
    print(json.dumps(results["consumers"], indent=2))
    print(json.dumps(results["helpers"], indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
