from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import pytest

from docflow.intake.scan import EICAR
from tests.conftest import Stack
from tests.functional.conftest import LambdaContext
from tests.support import event, fresh_import

Api = Callable[..., tuple[int, Any]]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
CSV = b"id,amount,currency\n1,10.00,EUR\n2,20.00,EUR\n"


class Uploads:
    """Creates documents through the API handler and puts their bytes as the client would."""

    def __init__(self, api: Api, stack: Stack) -> None:
        self.api, self.stack = api, stack
        self.intake = fresh_import("handlers.intake")

    def create(self, filename: str, content_type: str, size: int) -> dict[str, Any]:
        status, body = self.api(
            "POST /documents",
            body={"filename": filename, "content_type": content_type, "size": size},
        )
        assert status == 201, body
        return body

    def put(self, key: str, content: bytes) -> dict[str, Any]:
        """Puts the object and returns the S3 event S3 would send for it (key URL-encoded)."""
        put = self.stack.client("s3").put_object(Bucket=self.stack.bucket, Key=key, Body=content)
        payload = copy.deepcopy(event("s3_object_created"))
        record = payload["Records"][0]
        record["s3"]["bucket"]["name"] = self.stack.bucket
        record["s3"]["object"].update(
            key=quote_plus(key, safe="/"),
            size=len(content),
            versionId=put["VersionId"],
            eTag=put["ETag"].strip('"'),
        )
        return payload

    def upload(
        self, filename: str, content_type: str, content: bytes
    ) -> tuple[str, dict[str, Any]]:
        created = self.create(filename, content_type, max(len(content), 1))
        return created["document_id"], self.put(created["upload"]["fields"]["key"], content)

    def run(self, s3_event: dict[str, Any]) -> Any:
        return self.intake.handler(s3_event, LambdaContext("docflow-test-intake"))

    def document(self, document_id: str) -> dict[str, Any]:
        return self.api("GET /documents/{id}", path_id=document_id)[1]

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.stack.client("s3").list_objects_v2(Bucket=self.stack.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in listing.get("Contents", []))


@pytest.fixture
def uploads(api: Api, stack: Stack) -> Uploads:
    return Uploads(api, stack)


@pytest.mark.parametrize(
    "filename", ["scan.png", "with space.png", "plus+sign.png", "percent%2B.png", "Zürich ü.png"]
)
def test_a_valid_upload_is_accepted_whatever_its_key(uploads: Uploads, filename: str) -> None:
    document_id, s3_event = uploads.upload(filename, "image/png", PNG)
    uploads.run(s3_event)
    document = uploads.document(document_id)
    assert document["status"] == "accepted"
    assert (document["detected_type"], document["size"]) == ("image/png", len(PNG))
    assert [h["status"] for h in document["history"]] == ["awaiting_upload", "accepted"]
    assert document["history"][-1]["actor"] == "intake"


def test_eicar_is_quarantined_and_kept(uploads: Uploads) -> None:
    document_id, s3_event = uploads.upload("clean.csv", "text/csv", EICAR)
    uploads.run(s3_event)
    document = uploads.document(document_id)
    assert (document["status"], document["reason"]) == ("quarantined", "malware: EICAR-Test-File")
    assert uploads.keys("incoming/") == []
    assert uploads.keys("quarantine/") == [f"quarantine/{document_id}/clean.csv"]


def test_a_stage_signature_from_s3_quarantines(uploads: Uploads, stack: Stack) -> None:
    stack.client("s3").put_object(
        Bucket=stack.bucket,
        Key="security/signatures.json",
        Body=json.dumps({"signatures": [{"name": "Macro-X", "hex": "d0cf11e0a1b11ae1"}]}),
    )
    uploads = Uploads(uploads.api, stack)  # fresh handler: the signature list is cached per process
    content = b"id,x\n" + bytes.fromhex("d0cf11e0a1b11ae1") + b"\n"
    document_id, s3_event = uploads.upload("a.csv", "text/csv", content)
    uploads.run(s3_event)
    assert uploads.document(document_id)["reason"] == "malware: Macro-X"


@pytest.mark.parametrize(
    ("declared", "content", "status", "reason"),
    [
        (
            "text/csv",
            b"MZ\x90\x00" + bytes(100),
            "rejected",
            "type_not_allowed: content is application/x-msdownload",
        ),
        ("image/png", CSV, "rejected", "type_mismatch: declared image/png, content is text/csv"),
        ("text/csv", b"", "rejected", "empty_object: the upload is 0 bytes"),
    ],
)
def test_policy_failures_are_rejected_and_moved_to_quarantine(
    uploads: Uploads, declared: str, content: bytes, status: str, reason: str
) -> None:
    document_id, s3_event = uploads.upload("renamed.csv", declared, content)
    uploads.run(s3_event)
    document = uploads.document(document_id)
    assert (document["status"], document["reason"]) == (status, reason)
    assert uploads.keys("quarantine/") == [f"quarantine/{document_id}/renamed.csv"]


def test_an_oversized_object_is_rejected(uploads: Uploads, stack: Stack) -> None:
    created = uploads.create("big.csv", "text/csv", 1024)
    s3_event = uploads.put(created["upload"]["fields"]["key"], CSV * 30_000)
    uploads.run(s3_event)
    assert uploads.document(created["document_id"])["reason"].startswith("too_large")


@pytest.mark.parametrize(("declared", "content"), [(len(CSV) + 1, CSV), (len(CSV) - 1, CSV)])
def test_an_object_whose_size_differs_from_the_declared_size_is_rejected(
    uploads: Uploads, declared: int, content: bytes
) -> None:
    created = uploads.create("sized.csv", "text/csv", declared)
    uploads.run(uploads.put(created["upload"]["fields"]["key"], content))
    document = uploads.document(created["document_id"])
    assert (document["status"], document["reason"]) == (
        "rejected",
        f"size_mismatch: declared {declared} bytes, the object is {len(content)}",
    )
    assert uploads.keys("incoming/") == []
    assert uploads.keys("quarantine/") == [f"quarantine/{created['document_id']}/sized.csv"]


def test_an_object_deleted_before_intake_fails_the_document(uploads: Uploads, stack: Stack) -> None:
    document_id, s3_event = uploads.upload("gone.csv", "text/csv", CSV)
    key = f"incoming/{document_id}/gone.csv"
    versions = stack.client("s3").list_object_versions(Bucket=stack.bucket, Prefix=key)
    for version in versions["Versions"]:
        stack.client("s3").delete_object(
            Bucket=stack.bucket, Key=key, VersionId=version["VersionId"]
        )
    uploads.run(s3_event)
    document = uploads.document(document_id)
    assert (document["status"], document["reason"]) == (
        "failed",
        "object_gone: deleted before intake",
    )


def test_a_duplicate_delivery_changes_nothing(uploads: Uploads) -> None:
    document_id, s3_event = uploads.upload("twice.png", "image/png", PNG)
    first = uploads.run(s3_event)
    before = uploads.document(document_id)
    second = uploads.run(s3_event)
    assert first["results"][0]["status"] == "accepted"
    assert second == {"results": ["duplicate"]}
    assert uploads.document(document_id) == before


def test_an_object_without_a_document_is_quarantined_not_lost(uploads: Uploads) -> None:
    s3_event = uploads.put("incoming/stray-upload.csv", CSV)
    result = uploads.run(s3_event)
    assert result["results"][0]["status"] == "unregistered"
    assert uploads.keys("quarantine/") == ["quarantine/unregistered/incoming/stray-upload.csv"]


def test_an_event_for_a_vanished_stray_object_ends_cleanly(uploads: Uploads, stack: Stack) -> None:
    s3_event = uploads.put("incoming/stray-upload.csv", CSV)
    stack.client("s3").delete_object(
        Bucket=stack.bucket,
        Key="incoming/stray-upload.csv",
        VersionId=s3_event["Records"][0]["s3"]["object"]["versionId"],
    )
    assert uploads.run(s3_event)["results"][0]["status"] == "gone"


def test_a_malformed_event_is_an_error_for_the_async_retry(uploads: Uploads) -> None:
    from shared.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        uploads.run({"Records": [{"s3": {"bucket": {"name": "x"}}}]})


def test_processing_starts_once_per_object_version(
    api: Api, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="docflow-test-processing",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_NAME", "docflow-test-processing")
    uploads = Uploads(api, stack)
    document_id, s3_event = uploads.upload("run.png", "image/png", PNG)
    uploads.run(s3_event)
    uploads.intake.idempotency.release(  # even if the idempotency record were lost...
        f"intake#{stack.bucket}/incoming/{document_id}/run.png#"
        + s3_event["Records"][0]["s3"]["object"]["versionId"]
    )
    uploads.run(s3_event)  # ...the conditional status change and the execution name hold
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1
    assert executions[0]["name"].startswith(document_id)
    document = uploads.document(document_id)
    assert document["status"] == "processing"
    assert [h["status"] for h in document["history"]] == [
        "awaiting_upload",
        "accepted",
        "processing",
    ]
    assert uploads.keys("incoming/") == [f"incoming/{document_id}/run.png"]
    assert uploads.keys("quarantine/") == []


def test_intake_accepts_that_the_workflow_moved_the_document_first(
    api: Api, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn = stack.client("stepfunctions")
    sfn.create_state_machine(
        name="docflow-test-processing",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )
    monkeypatch.setenv("STATE_MACHINE_NAME", "docflow-test-processing")
    uploads = Uploads(api, stack)
    document_id, s3_event = uploads.upload("race.png", "image/png", PNG)
    store = uploads.intake.store
    real_transition = store.transition

    def workflow_wins(document: Any, to: Any, actor: str, **kwargs: Any) -> Any:
        if str(to) == "processing" and actor == "intake":
            real_transition(document, to, "process-extract")  # the execution got there first
        return real_transition(document, to, actor, **kwargs)

    monkeypatch.setattr(store, "transition", workflow_wins)
    result = uploads.run(s3_event)
    assert result["results"][0]["status"] == "processing"
    history = uploads.document(document_id)["history"]
    assert [(h["status"], h["actor"]) for h in history][-1] == ("processing", "process-extract")
