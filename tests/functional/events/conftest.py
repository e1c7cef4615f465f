"""The events workflows' stack in moto: fan-out queues (with their dead-letter queues and
redrive policies from resources/events.yml), subscribers and breaker tables, the signing
secret, a verified SES sender, the analytics bucket and a loopback webhook receiver.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from docflow.documents.model import Document, HistoryEntry, Status, incoming_key, now_iso
from docflow.documents.store import DocumentStore
from shared.errors import BatchFailedError
from tests.conftest import Stack
from tests.functional.conftest import LambdaContext
from tests.support import load_template_fragment, table_definition

EVENTS_FRAGMENT = "resources/events.yml"
SENDER = "docflow-test@example.com"
SIGNING_SECRET = "whsec-test-0123456789"


def queue_attributes(logical_id: str, dlq_arn: str | None = None) -> dict[str, str]:
    """CreateQueue attributes from the template (redrive policy pointed at `dlq_arn`)."""
    properties = load_template_fragment(EVENTS_FRAGMENT)["Resources"][logical_id]["Properties"]
    attributes: dict[str, str] = {}
    if "VisibilityTimeout" in properties:
        attributes["VisibilityTimeout"] = "30"  # the template's value is a stage variable
    if "RedrivePolicy" in properties and dlq_arn:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
        )
    return attributes


def filter_policy(logical_id: str) -> dict[str, Any]:
    properties = load_template_fragment(EVENTS_FRAGMENT)["Resources"][logical_id]["Properties"]
    return dict(properties["FilterPolicy"])


@dataclass
class Queue:
    url: str
    arn: str


@dataclass
class EventsStack:
    base: Stack
    topic_arn: str = ""
    queues: dict[str, Queue] = field(default_factory=dict)
    subscribers_table: str = "docflow-test-webhook-subscribers"
    breakers_table: str = "docflow-test-webhook-breakers"
    analytics_bucket: str = "docflow-test-analytics"
    signing_secret_name: str = "docflow/test/webhook-signing"
    alarm_topic_arn: str = ""
    alarm_queue: Queue | None = None

    def client(self, service: str) -> Any:
        return self.base.client(service)

    def create_document(
        self, owner: str = "alice", status: Status = Status.PROCESSED, updated_at: str = ""
    ) -> Document:
        from docflow.documents.model import new_document_id

        document_id = new_document_id()
        at = updated_at or now_iso()
        document = Document(
            document_id=document_id,
            owner=owner,
            filename="invoice.csv",
            declared_type="text/csv",
            declared_size=42,
            status=status,
            created_at=at,
            updated_at=at,
            object_key=incoming_key(document_id, "invoice.csv"),
            history=(HistoryEntry(status, at, "test"),),
        )
        DocumentStore(self.base.documents_table).create(document)
        return document

    def publish(self, event_type: str, document_id: str, **detail: Any) -> str:
        message = {
            "event_id": f"{document_id}:{event_type}",
            "event_type": event_type,
            "document_id": document_id,
            **detail,
        }
        response = self.client("sns").publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(message),
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
        )
        return str(response["MessageId"])

    def count(self, queue: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queues[queue].url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> Queue:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Queue(url, arn)


@pytest.fixture
def events_stack(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> EventsStack:
    events = EventsStack(base=stack)
    sqs, sns = stack.client("sqs"), stack.client("sns")
    events.topic_arn = sns.create_topic(Name="docflow-test-events")["TopicArn"]
    for name, source, dlq, subscription in (
        ("notify", "NotifyQueue", "NotifyDeadLetterQueue", "NotifySubscription"),
        ("webhooks", "WebhooksQueue", "WebhooksDeadLetterQueue", "WebhooksSubscription"),
    ):
        dead = _queue(sqs, f"docflow-test-{name}-dlq", queue_attributes(dlq))
        events.queues[f"{name}-dlq"] = dead
        events.queues[name] = _queue(
            sqs, f"docflow-test-{name}", queue_attributes(source, dead.arn)
        )
        sns.subscribe(
            TopicArn=events.topic_arn,
            Protocol="sqs",
            Endpoint=events.queues[name].arn,
            Attributes={
                "FilterPolicy": json.dumps(filter_policy(subscription)),
                "RawMessageDelivery": "false",
            },
        )
    dynamodb = stack.client("dynamodb")
    for logical_id, name in (
        ("SubscribersTable", events.subscribers_table),
        ("BreakersTable", events.breakers_table),
    ):
        dynamodb.create_table(**table_definition(EVENTS_FRAGMENT, logical_id, name))
    stack.client("secretsmanager").create_secret(
        Name=events.signing_secret_name, SecretString=SIGNING_SECRET
    )
    stack.client("ses").verify_email_identity(EmailAddress=SENDER)
    stack.client("s3").create_bucket(Bucket=events.analytics_bucket)
    events.alarm_topic_arn = sns.create_topic(Name="docflow-test-alarms")["TopicArn"]
    events.alarm_queue = _queue(sqs, "docflow-test-alarm-inbox", {})
    sns.subscribe(
        TopicArn=events.alarm_topic_arn,
        Protocol="sqs",
        Endpoint=events.alarm_queue.arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    environment = {
        "NOTIFY_SENDER": SENDER,
        "NOTIFY_ADDRESS_TEMPLATE": "{owner}@example.com",
        "IDEMPOTENCY_LEASE_SECONDS": "60",
        "MAX_MESSAGE_BYTES": "4096",
        "SUBSCRIBERS_TABLE": events.subscribers_table,
        "BREAKERS_TABLE": events.breakers_table,
        "WEBHOOK_SECRET_NAME": events.signing_secret_name,
        "WEBHOOK_CONNECT_TIMEOUT_MS": "500",
        "WEBHOOK_READ_TIMEOUT_MS": "300",
        "WEBHOOK_ALLOW_HTTP": "true",
        "BREAKER_FAILURE_THRESHOLD": "2",
        "BREAKER_OPEN_SECONDS": "60",
        "BREAKER_TRIAL_SECONDS": "15",
        "ANALYTICS_BUCKET": events.analytics_bucket,
        "LAKE_PREFIX": "lake/documents",
        "ALERT_TOPIC_ARN": events.alarm_topic_arn,
        "METRICS_NAMESPACE": "docflow/test/logs",
        "ALERT_ERROR_RATE_PERCENT": "5",
        "ALERT_P99_LATENCY_MS": "1000",
        "ALERT_MIN_REQUESTS": "10",
        "MAX_ROUTES": "5",
        "EVENTS_TOPIC_ARN": events.topic_arn,
        "DIGEST_RECIPIENTS": "ops@example.com,oncall@example.com",
        "DIGEST_LOOKBACK_HOURS": "24",
        "SWEEP_RULES": "accepted:15:redrive,processing:30:redrive,awaiting_upload:1440:fail",
        "SWEEP_MAX_ATTEMPTS": "2",
        "SWEEP_BATCH_LIMIT": "100",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return events


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Drained:
    invocations: int = 0
    acknowledged: int = 0
    returned: int = 0
    invocation_errors: int = 0


def drain(
    events: EventsStack,
    queue: str,
    handler: Handler,
    max_rounds: int = 100,
    *,
    until_empty: bool = True,
) -> Drained:
    """Play Lambda's SQS event source mapping against moto until the queue is empty.

    Receive a batch, invoke the handler with the SQS event Lambda would build, delete the
    messages it did not report, and make the reported ones visible again at once (as the
    visibility timeout would, without waiting for it). An invocation error (a batch in which
    every record failed) returns every message, as Lambda does. moto moves a message to the
    dead-letter queue when it is received more often than the redrive policy allows.
    """
    sqs = events.client("sqs")
    target = events.queues[queue]
    result = Drained()
    for _ in range(max_rounds):
        messages = sqs.receive_message(
            QueueUrl=target.url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return result
        result.invocations += 1
        try:
            response = handler(
                {"Records": [_sqs_record(m, target.arn) for m in messages]},
                LambdaContext(f"docflow-test-{queue}"),
            )
        except BatchFailedError:
            result.invocation_errors += 1
            response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] in failed:
                result.returned += 1
                sqs.change_message_visibility(
                    QueueUrl=target.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                result.acknowledged += 1
                sqs.delete_message(QueueUrl=target.url, ReceiptHandle=message["ReceiptHandle"])
    if until_empty:
        raise AssertionError(f"queue {queue} still had messages after {max_rounds} batches")
    return result


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


def sent_emails() -> list[dict[str, Any]]:
    """Every e-mail moto's SES accepted in this test."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [
        {"to": list(m.destinations["ToAddresses"]), "subject": m.subject, "body": m.body}
        for m in backend.sent_messages
    ]


class Receiver:
    """A webhook subscriber on 127.0.0.1 that can be told to fail, hang, close or recover."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.attempts = 0
        self.release = threading.Event()
        receiver = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.attempts += 1
                mode = receiver.mode
                if mode == "hang":
                    receiver.release.wait(10)
                    return
                if mode == "close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status = {"ok": 204, "fail": 500, "reject": 400}[mode]
                if status < 300:
                    receiver.requests.append(
                        {"headers": dict(self.headers), "body": body, "at": time.monotonic()}
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/docflow"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    started: list[Receiver] = []

    def start() -> Receiver:
        receiver = Receiver()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
