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
    version = s3_event["Records"][0]["s3"]["object"]["versionId"]
    result = uploads.run(s3_event)
    assert result["results"][0]["status"] == "unregistered"
    assert uploads.keys("quarantine/") == [
        f"quarantine/unregistered/{version}/incoming/stray-upload.csv"
    ]


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
    stack.client("dynamodb").delete_item(  # even if the idempotency record were lost...
        TableName=stack.idempotency_table,
        Key={
            "idempotency_key": {
                "S": f"intake#{stack.bucket}/incoming/{document_id}/run.png#"
                + s3_event["Records"][0]["s3"]["object"]["versionId"]
            }
        },
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


def versions(stack: Stack, prefix: str) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """([(key, version id, is latest)], [keys with a delete marker]) under `prefix`."""
    listing = stack.client("s3").list_object_versions(Bucket=stack.bucket, Prefix=prefix)
    return (
        sorted((v["Key"], v["VersionId"], v["IsLatest"]) for v in listing.get("Versions", [])),
        sorted(m["Key"] for m in listing.get("DeleteMarkers", [])),
    )


def body(stack: Stack, key: str, version_id: str | None = None) -> bytes:
    extra = {"VersionId": version_id} if version_id else {}
    response = stack.client("s3").get_object(Bucket=stack.bucket, Key=key, **extra)
    return bytes(response["Body"].read())


@pytest.mark.parametrize("event_names_the_version", [True, False])
def test_a_late_reupload_is_kept_beside_the_accepted_original(
    uploads: Uploads, stack: Stack, event_names_the_version: bool
) -> None:
    document_id, s3_event = uploads.upload("scan.png", "image/png", PNG)
    key = f"incoming/{document_id}/scan.png"
    original = s3_event["Records"][0]["s3"]["object"]["versionId"]
    assert uploads.run(s3_event)["results"][0]["status"] == "accepted"

    late_uploads = [PNG + b"second", PNG + b"third"]
    late_versions = []
    for content in late_uploads:
        late_event = uploads.put(key, content)
        late_versions.append(late_event["Records"][0]["s3"]["object"]["versionId"])
        if not event_names_the_version:  # a replayed event: S3 names the copied version
            del late_event["Records"][0]["s3"]["object"]["versionId"]
        late_event["Records"][0]["s3"]["object"]["sequencer"] = late_versions[-1]
        assert uploads.run(late_event)["results"][0]["status"] == "ignored"

    # The accepted original is the only version at its key, current, under no delete marker.
    assert versions(stack, "incoming/") == ([(key, original, True)], [])
    assert body(stack, key) == PNG
    # Each late upload has a key of its own beside it, with its bytes.
    late_keys = [f"quarantine/{document_id}/late/{v}/scan.png" for v in late_versions]
    listed, markers = versions(stack, "quarantine/")
    assert ([k for k, _, latest in listed if latest], markers) == (sorted(late_keys), [])
    assert [body(stack, k) for k in late_keys] == late_uploads
    assert uploads.document(document_id)["status"] == "accepted"


def test_a_quarantining_move_deletes_the_version_it_copied_and_lays_no_delete_marker(
    uploads: Uploads, stack: Stack
) -> None:
    document_id, s3_event = uploads.upload("clean.csv", "text/csv", EICAR)
    version = s3_event["Records"][0]["s3"]["object"]["versionId"]
    uploads.run(s3_event)
    assert versions(stack, "incoming/") == ([], [])
    (moved,), markers = versions(stack, "quarantine/")
    assert (moved[0], moved[2], markers) == (f"quarantine/{document_id}/clean.csv", True, [])
    assert body(stack, moved[0]) == EICAR
    assert version != moved[1]  # a copy: a version of its own at the destination


def test_a_delivery_finding_the_claim_in_progress_fails_for_the_async_retry(
    uploads: Uploads, stack: Stack
) -> None:
    from shared.errors import ClaimInProgressError
    from shared.idempotency import Idempotency

    document_id, s3_event = uploads.upload("busy.png", "image/png", PNG)
    record = s3_event["Records"][0]["s3"]["object"]
    delivery = f"intake#{stack.bucket}/incoming/{document_id}/busy.png#{record['versionId']}"
    running = Idempotency(stack.idempotency_table)
    running.register_lambda_context(LambdaContext("docflow-test-intake"))
    assert running.claim(delivery) is not None  # another invocation is on it (or died)

    # Not answered "duplicate": a function error, so Lambda retries the event and, when its
    # retries run out, sends it to the on-failure destination (the intake dead-letter queue).
    with pytest.raises(ClaimInProgressError):
        uploads.run(s3_event)
    assert uploads.document(document_id)["status"] == "awaiting_upload"


def test_the_retries_after_a_timed_out_intake_wait_for_its_deadline_then_process_the_object(
    uploads: Uploads, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.errors import ClaimInProgressError
    from shared.idempotency import Idempotency

    now = [1_800_000_000.0]
    intake = uploads.intake
    monkeypatch.setattr(
        intake, "idempotency", Idempotency(stack.idempotency_table, clock=lambda: now[0])
    )
    document_id, s3_event = uploads.upload("slow.png", "image/png", PNG)
    real_receive, real_release = intake.Intake.receive, Idempotency.release

    def killed_by_its_timeout(self: Any, obj: Any) -> Any:
        raise SystemExit("Task timed out after 10.00 seconds")

    # The runtime is stopped at the timeout: nothing after the kill runs, not even a release.
    monkeypatch.setattr(intake.Intake, "receive", killed_by_its_timeout)
    monkeypatch.setattr(Idempotency, "release", lambda self, key, token: False)
    with pytest.raises(SystemExit):
        uploads.run(s3_event)  # LambdaContext: 10 s remaining
    monkeypatch.setattr(intake.Intake, "receive", real_receive)
    monkeypatch.setattr(Idempotency, "release", real_release)

    now[0] += 5  # a retry inside the dead invocation's deadline is an error again, not done
    with pytest.raises(ClaimInProgressError):
        uploads.run(s3_event)
    assert uploads.document(document_id)["status"] == "awaiting_upload"

    now[0] += 61  # Lambda's next retry, after the deadline: the event is processed
    assert uploads.run(s3_event)["results"][0]["status"] == "accepted"
    assert uploads.document(document_id)["status"] == "accepted"
