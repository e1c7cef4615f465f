from __future__ import annotations

import copy
import json
from datetime import UTC
from typing import Any

import pytest

from docflow.documents.model import Status
from docflow.documents.store import DocumentStore
from tests.functional.conftest import LambdaContext
from tests.functional.events.conftest import EventsStack
from tests.support import fresh_import


def stream_event(events: EventsStack) -> dict[str, Any]:
    """The documents table's stream so far, as the event Lambda would deliver.

    Read from moto's backend: its DynamoDB Streams API answers "not yet implemented" to
    this botocore's endpoint.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(
        events.base.documents_table
    )
    records = []
    for item in table.stream_shard.items:
        record = copy.deepcopy(item.to_json())
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        record["dynamodb"]["ApproximateCreationDateTime"] = created.replace(tzinfo=UTC).timestamp()
        record["eventSourceARN"] = f"{table.table_arn}/stream/test"
        records.append(record)
    return {"Records": records}


def lake(events: EventsStack) -> dict[str, list[dict[str, Any]]]:
    s3 = events.client("s3")
    listed = s3.list_objects_v2(Bucket=events.analytics_bucket).get("Contents", [])
    return {
        o["Key"]: [
            json.loads(line)
            for line in s3.get_object(Bucket=events.analytics_bucket, Key=o["Key"])["Body"]
            .read()
            .decode()
            .splitlines()
        ]
        for o in listed
    }


@pytest.fixture
def sync(events_stack: EventsStack) -> Any:
    return fresh_import("handlers.sync")


def test_inserts_updates_and_removals_land_in_the_lake_as_json_lines(
    events_stack: EventsStack, sync: Any
) -> None:
    store = DocumentStore(events_stack.base.documents_table)
    document = events_stack.create_document(status=Status.PROCESSING)
    store.transition(document, Status.PROCESSED, "test", fields={"results": {"rows": 2}})
    events_stack.client("dynamodb").delete_item(
        TableName=events_stack.base.documents_table,
        Key={"document_id": {"S": document.document_id}},
    )
    payload = stream_event(events_stack)

    response = sync.handler(payload, LambdaContext("sync"))

    assert response == {"batchItemFailures": []}
    ((key, lines),) = lake(events_stack).items()
    sequence = [r["dynamodb"]["SequenceNumber"] for r in payload["Records"]]
    assert key.startswith("lake/documents/dt=")
    assert key.endswith(f"/{sequence[0].zfill(40)}-{sequence[-1].zfill(40)}.jsonl")
    assert [(line["op"], line["event_name"]) for line in lines] == [
        ("upsert", "INSERT"),
        ("upsert", "MODIFY"),
        ("delete", "REMOVE"),
    ]
    assert {line["document_id"] for line in lines} == {document.document_id}
    assert lines[1]["document"]["status"] == "processed"
    assert lines[1]["previous_status"] == "processing"
    assert lines[1]["document"]["results"] == {"rows": 2}
    assert lines[2]["tombstone"] is True
    assert lines[2]["document"] is None
    assert lines[2]["previous"]["status"] == "processed"
    assert [line["sequence_number"] for line in lines] == sequence


def test_a_retried_batch_writes_the_same_object_again(events_stack: EventsStack, sync: Any) -> None:
    events_stack.create_document()
    events_stack.create_document()
    payload = stream_event(events_stack)

    sync.handler(payload, LambdaContext("sync"))
    first = lake(events_stack)
    sync.handler(payload, LambdaContext("sync"))

    assert lake(events_stack) == first
    assert len(first) == 1


def test_approval_tokens_never_reach_the_lake(events_stack: EventsStack, sync: Any) -> None:
    document = events_stack.create_document(status=Status.AWAITING_APPROVAL)
    events_stack.client("dynamodb").update_item(
        TableName=events_stack.base.documents_table,
        Key={"document_id": {"S": document.document_id}},
        UpdateExpression="SET approval = :a",
        ExpressionAttributeValues={
            ":a": {"M": {"token": {"S": "secret-task-token"}, "reasons": {"L": []}}}
        },
    )
    sync.handler(stream_event(events_stack), LambdaContext("sync"))

    text = json.dumps(lake(events_stack))
    assert "secret-task-token" not in text
    assert '"reasons": []' in text


def test_a_failed_write_reports_the_batch_from_its_first_change(
    events_stack: EventsStack, sync: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    events_stack.create_document()
    events_stack.create_document()
    payload = stream_event(events_stack)

    class Unavailable:
        def put_object(self, **kwargs: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "PutObject")

    monkeypatch.setattr(sync.lake, "_client_factory", Unavailable)
    response = sync.handler(payload, LambdaContext("sync"))

    sequence = [r["dynamodb"]["SequenceNumber"] for r in payload["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": s} for s in sequence]}
    assert lake(events_stack) == {}
