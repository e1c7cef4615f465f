"""The events workflows on the local stack: fan-out, dead letters and redrive, the lake sync.

A processed document yields one e-mail (counted through SES's send quota, moto keeps sent
mail in memory only), one signed webhook call to a subscriber on loopback, and a lake record;
a poison message reaches the dead-letter queue and the redrive command returns it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from docflow.webhooks.model import verify
from scripts import redrive
from tests.e2e.conftest import STACK_PREFIX, LocalStack, wait_for
from tests.functional.events.conftest import Receiver
from tests.processing_samples import csv_bytes

pytestmark = pytest.mark.e2e

PREFIX = STACK_PREFIX


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


def _config() -> dict[str, Any]:
    import yaml

    from tests.support import ROOT

    return dict(yaml.safe_load((ROOT / "config" / "local.yml").read_text()))


def _upload_processed(local: LocalStack) -> str:
    body = csv_bytes(5, amount="2")
    document_id = local.upload("small.csv", "text/csv", body)
    assert local.wait_status(document_id)["status"] == "processed"
    return document_id


def _sent_emails(local: LocalStack) -> int:
    return int(local.client("ses").get_send_quota()["SentLast24Hours"])


def test_a_processed_document_yields_one_email_one_signed_webhook_and_a_lake_record(
    local_stack: LocalStack, receiver: Receiver
) -> None:
    config = _config()
    local_stack.client("ses").verify_email_identity(
        EmailAddress=config["fanout"]["notify"]["sender"]
    )
    local_stack.client("dynamodb").put_item(
        TableName=f"{PREFIX}-webhook-subscribers",
        Item={"subscriber_id": {"S": "e2e"}, "url": {"S": receiver.url}},
    )
    time.sleep(config["fanout"]["webhooks"]["subscribersCacheSeconds"] + 1)
    emails_before = _sent_emails(local_stack)

    document_id = _upload_processed(local_stack)

    def delivered() -> list[dict[str, Any]]:
        return [r for r in receiver.requests if json.loads(r["body"])["document_id"] == document_id]

    (request,) = wait_for(delivered, timeout=120)
    secret = local_stack.client("secretsmanager").get_secret_value(
        SecretId=config["fanout"]["webhooks"]["signingSecretName"]
    )["SecretString"]
    header = request["headers"]["X-Docflow-Signature"]
    assert verify(secret, header, request["body"], time.time(), tolerance_seconds=300)
    assert json.loads(request["body"])["event_type"] == "document.processed"

    wait_for(lambda: _sent_emails(local_stack) >= emails_before + 1, timeout=120)
    time.sleep(5)  # a duplicate would be sent within the same poll cycles
    assert _sent_emails(local_stack) == emails_before + 1
    assert len(delivered()) == 1

    s3 = local_stack.client("s3")
    bucket = next(
        b["Name"]
        for b in s3.list_buckets()["Buckets"]
        if b["Name"].startswith(f"{PREFIX}-analytics")
    )

    def lake_lines() -> list[dict[str, Any]]:
        lines = []
        for listed in s3.list_objects_v2(Bucket=bucket, Prefix="lake/documents/").get(
            "Contents", []
        ):
            text = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read().decode()
            lines += [json.loads(line) for line in text.splitlines()]
        return [line for line in lines if line["document_id"] == document_id]

    lines = wait_for(
        lambda: (
            [x for x in lake_lines() if (x["document"] or {}).get("status") == "processed"]
            and lake_lines()
        ),
        timeout=120,
    )
    assert lines[0]["event_name"] == "INSERT"
    assert {line["op"] for line in lines} == {"upsert"}


def test_a_poison_message_is_dead_lettered_and_redrive_returns_it(local_stack: LocalStack) -> None:
    sqs = local_stack.client("sqs")
    source, dead = local_stack.queue_url("notify"), local_stack.queue_url("notify-dlq")
    attributes = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["VisibilityTimeout"])
    # Time is sped up, not skipped: a failed receive comes back after 1 s instead of 190 s.
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"VisibilityTimeout": "1"})
    try:
        dead_before = local_stack.queue_depth("notify-dlq")
        sqs.send_message(QueueUrl=source, MessageBody="{this is not an SNS notification")

        wait_for(lambda: local_stack.queue_depth("notify-dlq") == dead_before + 1, timeout=120)
        assert local_stack.queue_depth("notify") == 0

        result = redrive.redrive(sqs, dead, source, mode="auto")

        assert (result.mode, result.moved) == ("copy", dead_before + 1)
        assert local_stack.queue_depth("notify-dlq") == 0
        # Still poison: it is retried from the source queue and dead-lettered again.
        wait_for(lambda: local_stack.queue_depth("notify-dlq") == dead_before + 1, timeout=120)
    finally:
        sqs.set_queue_attributes(QueueUrl=source, Attributes=attributes["Attributes"])
