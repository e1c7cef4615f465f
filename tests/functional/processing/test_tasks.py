"""Each task handler in process against moto, as Step Functions calls it."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from docflow.documents.model import Status
from shared.errors import ConflictError, InvalidInputError, TransientError
from tests.functional.processing.conftest import Proc
from tests.processing_samples import csv_bytes, image_bytes, png_bomb


def image_state(proc: Proc, **kwargs: object) -> dict:
    return proc.document(image_bytes(1200, 900), "image/jpeg", "photo.jpg", **kwargs)  # type: ignore[arg-type]


def test_extract_leaves_a_just_accepted_document_to_intake(proc: Proc) -> None:
    state = image_state(proc, status=Status.ACCEPTED)
    with pytest.raises(TransientError, match="handover"):
        proc.run("processExtract", state)
    assert proc.doc(state["document_id"]).status is Status.ACCEPTED


def test_extract_takes_a_long_accepted_document_and_lists_image_jobs(proc: Proc) -> None:
    # Intake died after starting the execution; the sweep re-drove the document.
    state = image_state(proc, status=Status.ACCEPTED)
    proc.backdate(state["document_id"], 120)
    metadata = proc.run("processExtract", state)
    assert metadata == {
        "kind": "image",
        "jobs": ["thumbnail", "web"],
        "facts": {
            "content_type": "image/jpeg",
            "size": state["size"],
            "format": "JPEG",
            "width": 1200,
            "height": 900,
            "mode": "RGB",
            "has_exif": True,
        },
    }
    assert proc.doc(state["document_id"]).status is Status.PROCESSING


def test_extract_reads_the_csv_header_only_and_fails_on_missing_columns(proc: Proc) -> None:
    good = proc.document(csv_bytes(5, delimiter=";"), "text/csv", "a.csv")
    assert proc.run("processExtract", good)["facts"]["delimiter"] == ";"
    bad = proc.document(b"id,description\n1,x\n", "text/csv", "b.csv")
    assert proc.run("processExtract", bad) == {
        "kind": "csv",
        "jobs": [],
        "facts": {"content_type": "text/csv", "size": 19},
        "rejection": {
            "code": "csv_missing_columns",
            "message": "missing required column(s) date, amount; the header has id, description",
        },
    }
    assert proc.doc(bad["document_id"]).status is Status.PROCESSING  # Reject decides


def test_extract_refuses_an_image_bomb_before_decoding(proc: Proc) -> None:
    state = proc.document(png_bomb(), "image/png", "bomb.png")
    result = proc.run("processExtract", state)
    assert (result["jobs"], result["rejection"]["code"]) == ([], "image_bomb")


def test_extract_of_a_finished_document_is_a_conflict(proc: Proc) -> None:
    state = image_state(proc)
    document = proc.doc(state["document_id"])
    proc.store.transition(document, Status.FAILED, "test", reason="gone")
    with pytest.raises(ConflictError, match="not_processing"):
        proc.run("processExtract", state)


def test_malformed_task_input_is_an_invalid_input_error(proc: Proc) -> None:
    with pytest.raises(InvalidInputError, match="missing"):
        proc.run("processExtract", {"document_id": "doc_" + "0" * 32})


def test_transform_writes_exif_free_renditions_under_processed(proc: Proc) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    document_id = state["document_id"]
    thumbnail = proc.run("processTransform", {**state, "job": "thumbnail"})
    web = proc.run("processTransform", {**state, "job": "web"})
    assert thumbnail["key"] == f"processed/{document_id}/thumbnail.webp"
    assert (web["key"], web["width"], web["height"]) == (
        f"processed/{document_id}/web.webp",
        900,
        1200,  # EXIF orientation applied, then the EXIF dropped
    )
    for output in (thumbnail, web):
        image = Image.open(io.BytesIO(proc.read(output["key"])))
        assert image.format == "WEBP"
        assert dict(image.getexif()) == {}
        assert len(proc.read(output["key"])) == output["bytes"]


def test_transform_normalises_a_csv_and_writes_the_error_report(proc: Proc) -> None:
    data = csv_bytes(3, amount="400") + b"r9,2026-01-01,x,abc\n"
    state = proc.document(data, "text/csv", "ledger.csv", status=Status.PROCESSING)
    output = proc.run("processTransform", {**state, "job": "records"})
    prefix = f"processed/{state['document_id']}/"
    assert output == {
        "job": "records",
        "key": prefix + "records.jsonl",
        "errors_key": prefix + "errors.jsonl",
        "delimiter": ",",
        "columns": ["id", "date", "description", "amount"],
        "rows": 4,
        "valid_rows": 3,
        "error_rows": 1,
        "total_amount": "1200",
    }
    records = [json.loads(line) for line in proc.read(prefix + "records.jsonl").splitlines()]
    assert records[0] == {
        "id": "r0",
        "date": "2026-03-01",
        "description": "item 0",
        "amount": "400",
    }
    assert json.loads(proc.read(prefix + "errors.jsonl")) == {
        "line": 5,
        "errors": ["amount: 'abc' is not a number"],
    }


def test_a_csv_that_fails_midway_leaves_no_output(proc: Proc) -> None:
    data = csv_bytes(2000) + "r,2026-01-01,caf\u00e9,1\n".encode("latin-1")
    state = proc.document(data, "text/csv", "latin.csv", status=Status.PROCESSING)
    result = proc.run("processTransform", {**state, "job": "records"})
    assert result["job"] == "records"
    assert result["rejection"]["code"] == "csv_encoding"
    assert proc.keys(f"processed/{state['document_id']}/") == []


def test_reject_of_a_refused_file_marks_it_rejected_with_its_code_and_publishes(
    proc: Proc,
) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    document_id = state["document_id"]
    proc.run("processTransform", {**state, "job": "thumbnail"})  # an output to remove
    cause = json.dumps({"code": "corrupt_image", "message": "the image data is damaged"})
    result = proc.run(
        "processReject", {**state, "error": {"Error": "RejectedError", "Cause": cause}}
    )
    reason = "corrupt_image: the image data is damaged"
    assert result == {"status": "rejected", "reason": reason}
    document = proc.doc(document_id)
    assert (document.status, document.reason) == (Status.REJECTED, reason)
    assert "approval" not in proc.item(document_id)
    assert proc.keys(f"processed/{document_id}/") == []
    assert [(e[0], e[1]["reason"], e[1]["reason_code"]) for e in proc.events()] == [
        ("document.rejected", reason, "corrupt_image")
    ]


def test_reject_reads_a_rejection_returned_by_extract(proc: Proc) -> None:
    state = proc.document(b"id;note\n1;x\n", "text/csv", "b.csv")
    metadata = proc.run("processExtract", state)
    result = proc.run("processReject", {**state, "metadata": metadata})
    assert result["reason"] == (
        "csv_missing_columns: missing required column(s) date, amount; the header has id, note"
    )
    assert proc.doc(state["document_id"]).status is Status.REJECTED


def test_policy_flags_an_amount_over_the_threshold_and_an_unknown_sender(proc: Proc) -> None:
    state = proc.document(csv_bytes(1), "text/csv", "x.csv", owner="mallory")
    decision = proc.run("processPolicy", {**state, "outputs": [{"total_amount": "1000.01"}]})
    assert decision == {
        "approval_required": True,
        "reasons": [
            "amount_over_threshold: total 1000.01 exceeds 1000",
            "sender_not_allowed: mallory is not on the sender allow list",
        ],
    }
    state = proc.document(csv_bytes(1), "text/csv", "y.csv")
    decision = proc.run("processPolicy", {**state, "outputs": [{"total_amount": "1000"}]})
    assert decision == {"approval_required": False, "reasons": []}


def test_request_approval_records_the_token_and_notifies(proc: Proc) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    document_id = state["document_id"]
    request = {"document_id": document_id, "task_token": "token-1", "reasons": ["big"]}
    proc.run("processRequestApproval", request)
    assert proc.doc(document_id).status is Status.AWAITING_APPROVAL
    assert proc.item(document_id)["approval"]["token"] == "token-1"
    # A retried request (new token) replaces the token instead of failing.
    proc.run("processRequestApproval", {**request, "task_token": "token-2"})
    assert proc.item(document_id)["approval"]["token"] == "token-2"
    events = proc.events()
    assert [e[0] for e in events] == ["document.approval_requested"] * 2
    assert events[0][1]["reasons"] == ["big"]
    assert "token" not in json.dumps(events)
    assert "token" not in json.dumps(proc.doc(document_id).public_view())


def test_finalize_stores_results_and_publishes_processed_once_even_when_retried(
    proc: Proc,
) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    document_id = state["document_id"]
    metadata = proc.run("processExtract", state)
    outputs = [proc.run("processTransform", {**state, "job": job}) for job in metadata["jobs"]]
    full = {**state, "metadata": metadata, "outputs": outputs, "policy": {"reasons": []}}
    assert proc.run("processFinalize", full)["status"] == "processed"
    assert proc.run("processFinalize", full)["status"] == "processed"  # a retry
    document = proc.doc(document_id)
    assert document.status is Status.PROCESSED
    assert set(document.results["outputs"]) == {"thumbnail", "web"}
    manifest = json.loads(proc.read(f"processed/{document_id}/manifest.json"))
    assert manifest["outputs"]["web"]["key"] == f"processed/{document_id}/web.webp"
    events = proc.events()
    assert {e[0] for e in events} == {"document.processed"}
    assert {e[1]["event_id"] for e in events} == {f"{document_id}:document.processed"}


def test_reject_after_a_timeout_removes_outputs_and_marks_expired(proc: Proc) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    document_id = state["document_id"]
    proc.run("processTransform", {**state, "job": "thumbnail"})
    proc.run(
        "processRequestApproval", {"document_id": document_id, "task_token": "t", "reasons": []}
    )
    proc.events()
    error = {"Error": "States.Timeout", "Cause": "The task timed out"}
    result = proc.run("processReject", {**state, "error": error})
    assert result == {
        "status": "rejected",
        "reason": "approval_expired: no decision within 3600 seconds",
    }
    assert proc.keys(f"processed/{document_id}/") == []
    assert "token" not in proc.item(document_id)["approval"]
    assert proc.item(document_id)["approval"]["outcome"] == "expired"
    assert [e[0] for e in proc.events()] == ["document.rejected"]


def test_compensation_removes_every_version_marks_failed_and_publishes(proc: Proc) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    document_id = state["document_id"]
    proc.run("processTransform", {**state, "job": "thumbnail"})
    proc.run("processTransform", {**state, "job": "thumbnail"})  # a second version
    cause = json.dumps({"errorType": "PermanentError", "errorMessage": "source_gone: bad"})
    result = proc.run(
        "processCompensate", {**state, "error": {"Error": "PermanentError", "Cause": cause}}
    )
    assert result == {
        "status": "failed",
        "reason": "source_gone: bad",
        "removed_outputs": 2,
        "compensated": True,
    }
    assert proc.keys(f"processed/{document_id}/") == []
    document = proc.doc(document_id)
    assert (document.status, document.reason) == (
        Status.FAILED,
        "source_gone: bad",
    )
    events = proc.events()
    assert [(e[0], e[1]["reason"]) for e in events] == [("document.failed", "source_gone: bad")]
    # Compensation is idempotent: a retry finds the document failed and changes nothing.
    again = proc.run("processCompensate", {**state, "error": {"Error": "PermanentError"}})
    assert again["removed_outputs"] == 0
    assert proc.doc(document_id).reason == "source_gone: bad"


def test_compensation_never_undoes_a_processed_document(proc: Proc) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    proc.run("processTransform", {**state, "job": "thumbnail"})
    proc.run("processFinalize", {**state, "outputs": []})
    result = proc.run("processCompensate", {**state, "error": {"Error": "States.ALL"}})
    assert result == {"status": "processed", "compensated": False}
    assert proc.keys(f"processed/{state['document_id']}/") != []


def test_a_transform_finishing_after_compensation_discards_its_output(proc: Proc) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    proc.store.transition(proc.doc(state["document_id"]), Status.FAILED, "test", reason="x")
    with pytest.raises(ConflictError, match="abandoned"):
        proc.run("processTransform", {**state, "job": "thumbnail"})
    assert proc.keys(f"processed/{state['document_id']}/") == []


def test_a_transform_finishing_after_reject_discards_its_output_without_an_error(
    proc: Proc,
) -> None:
    state = image_state(proc, status=Status.PROCESSING)
    proc.store.transition(proc.doc(state["document_id"]), Status.REJECTED, "test", reason="x: y")
    result = proc.run("processTransform", {**state, "job": "web"})
    assert result == {"job": "web", "discarded": True}
    assert proc.keys(f"processed/{state['document_id']}/") == []
