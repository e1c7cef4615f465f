"""The state machine itself, run by moto's Step Functions interpreter against the handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from docflow.documents.model import Status
from shared.errors import PermanentError, TransientError
from tests.functional.processing.conftest import Api, Workflow, decide
from tests.processing_samples import csv_bytes, image_bytes


def test_an_image_is_processed_end_to_end(workflow: Workflow) -> None:
    proc = workflow.proc
    state = proc.document(image_bytes(800, 600), "image/jpeg", "photo.jpg")
    result = workflow.wait(workflow.start(state))
    assert result["status"] == "SUCCEEDED"
    document_id = state["document_id"]
    document = proc.doc(document_id)
    assert document.status is Status.PROCESSED
    assert set(document.results["outputs"]) == {"thumbnail", "web"}
    prefix = f"processed/{document_id}/"
    assert proc.keys(prefix) == [
        prefix + "manifest.json",
        prefix + "thumbnail.webp",
        prefix + "web.webp",
    ]
    assert [e[0] for e in proc.events()] == ["document.processed"]
    assert json.loads(result["output"])["result"]["status"] == "processed"


def test_a_csv_is_processed_end_to_end(workflow: Workflow) -> None:
    proc = workflow.proc
    state = proc.document(csv_bytes(20, amount="5"), "text/csv", "ledger.csv")
    assert workflow.wait(workflow.start(state))["status"] == "SUCCEEDED"
    document = proc.doc(state["document_id"])
    assert document.status is Status.PROCESSED
    assert document.results["outputs"]["records"]["valid_rows"] == 20
    assert "approval" not in document.results
    assert workflow.calls.count("processRequestApproval") == 0


def flagged_csv(workflow: Workflow) -> tuple[dict[str, Any], str]:
    # 3 rows of 400 = 1200, over the threshold of 1000 the proc fixture configures.
    state = workflow.proc.document(csv_bytes(3, amount="400"), "text/csv", "big.csv")
    execution = workflow.start(state)
    workflow.wait_for_status(state["document_id"], Status.AWAITING_APPROVAL)
    return state, execution


def test_a_flagged_csv_waits_and_is_processed_once_approved(workflow: Workflow, api: Api) -> None:
    state, execution = flagged_csv(workflow)
    document_id = state["document_id"]
    status, body = decide(api, document_id, {"decision": "approve"})
    assert (status, body["decision"], body["status"]) == (200, "approved", "processing")
    assert workflow.wait(execution)["status"] == "SUCCEEDED"
    document = workflow.proc.doc(document_id)
    assert document.status is Status.PROCESSED
    assert document.results["approval"]["decision"] == "approved"
    assert document.results["approval"]["decided_by"] == "k-alice-approver"
    assert [e[0] for e in workflow.proc.events()] == [
        "document.approval_requested",
        "document.processed",
    ]
    # The same decision again is refused: the document is no longer waiting.
    status, body = decide(api, document_id, {"decision": "approve"})
    assert (status, body["error"]) == (409, "already_decided")


def test_a_flagged_csv_rejected_by_the_approver_leaves_nothing(
    workflow: Workflow, api: Api
) -> None:
    state, execution = flagged_csv(workflow)
    document_id = state["document_id"]
    status, _ = decide(api, document_id, {"decision": "reject", "comment": "not budgeted"})
    assert status == 200
    assert workflow.wait(execution)["status"] == "SUCCEEDED"
    document = workflow.proc.doc(document_id)
    assert (document.status, document.reason) == (
        Status.REJECTED,
        "rejected_by_approver: k-alice-approver: not budgeted",
    )
    assert workflow.proc.keys(f"processed/{document_id}/") == []
    assert [e[0] for e in workflow.proc.events()][-1] == "document.rejected"


def test_an_approval_that_times_out_rejects_the_document_as_expired(
    workflow_factory: Callable[..., Workflow], api: Api
) -> None:
    workflow = workflow_factory(RequestApproval={"TimeoutSeconds": 1})
    state, execution = flagged_csv(workflow)
    assert workflow.wait(execution)["status"] == "SUCCEEDED"
    document_id = state["document_id"]
    document = workflow.proc.doc(document_id)
    assert document.status is Status.REJECTED
    assert (document.reason or "").startswith("approval_expired")
    assert workflow.proc.keys(f"processed/{document_id}/") == []
    status, body = decide(api, document_id, {"decision": "approve"})
    assert (status, body["error"]) == (409, "not_awaiting_approval")


def test_a_permanent_transform_failure_compensates_and_leaves_nothing_partial(
    workflow_factory: Callable[..., Workflow],
) -> None:
    # One transform at a time: the thumbnail is written, then the web rendition fails.
    workflow = workflow_factory(Transform={"MaxConcurrency": 1})
    workflow.faults["processTransform"] = [None, PermanentError("source_gone: deleted")]
    state = workflow.proc.document(image_bytes(400, 300), "image/jpeg", "photo.jpg")
    result = workflow.wait(workflow.start(state))
    assert (result["status"], result.get("error")) == ("FAILED", "DocumentFailed")
    document_id = state["document_id"]
    document = workflow.proc.doc(document_id)
    assert (document.status, document.reason) == (
        Status.FAILED,
        "source_gone: deleted",
    )
    assert workflow.calls.count("processTransform") == 2
    assert workflow.calls.count("processCompensate") == 1
    assert workflow.proc.keys(f"processed/{document_id}/") == []
    assert [e[0] for e in workflow.proc.events()] == ["document.failed"]


def _refused(workflow: Workflow, execution: str, state: dict[str, Any], code: str) -> str:
    """The execution succeeded, nothing failed or alarmed, and the document is rejected."""
    assert workflow.wait(execution)["status"] == "SUCCEEDED"
    document_id = state["document_id"]
    document = workflow.proc.doc(document_id)
    assert document.status is Status.REJECTED
    reason = document.reason or ""
    assert reason.startswith(f"{code}: ")
    assert "Error" not in reason
    assert "0x" not in reason
    assert workflow.proc.keys(f"processed/{document_id}/") == []
    events = workflow.proc.events()
    assert [(e[0], e[1]["reason"], e[1]["reason_code"]) for e in events] == [
        ("document.rejected", reason, code)
    ]
    failures = [e for e in workflow.history(execution) if e["type"] == "LambdaFunctionFailed"]
    assert failures == []
    assert "processCompensate" not in workflow.calls
    return reason


def test_a_csv_without_its_columns_is_rejected_from_its_header(workflow: Workflow) -> None:
    state = workflow.proc.document(b"id,description\n1,x\n", "text/csv", "bad.csv")
    reason = _refused(workflow, workflow.start(state), state, "csv_missing_columns")
    assert reason == (
        "csv_missing_columns: missing required column(s) date, amount; "
        "the header has id, description"
    )
    assert "processTransform" not in workflow.calls


def test_a_csv_without_a_valid_row_is_rejected_by_its_transform(workflow: Workflow) -> None:
    data = b"id,date,amount\n1,2026-01-01,1e999999999\n"
    state = workflow.proc.document(data, "text/csv", "overflow.csv")
    reason = _refused(workflow, workflow.start(state), state, "csv_no_valid_rows")
    assert "line 2: amount: '1e999999999' is out of range" in reason


def test_a_truncated_image_is_rejected_and_its_other_rendition_removed(
    workflow_factory: Callable[..., Workflow],
) -> None:
    workflow = workflow_factory(Transform={"MaxConcurrency": 1})
    data = image_bytes(400, 300, fmt="PNG", exif=False)
    state = workflow.proc.document(data[: len(data) * 2 // 3], "image/png", "cut.png")
    # A PNG's inspection decodes its pixels (it looks for EXIF after them): refused there.
    reason = _refused(workflow, workflow.start(state), state, "corrupt_image")
    assert reason == "corrupt_image: the image data is truncated: the file ends too early"


def test_a_jpeg_damaged_past_its_header_is_rejected_by_a_transform(
    workflow_factory: Callable[..., Workflow],
) -> None:
    workflow = workflow_factory(Transform={"MaxConcurrency": 1})
    data = image_bytes(400, 300)
    state = workflow.proc.document(data[: len(data) // 2], "image/jpeg", "cut.jpg")
    reason = _refused(workflow, workflow.start(state), state, "corrupt_image")
    assert reason.startswith("corrupt_image: the image data is")
    assert "processTransform" in workflow.calls


def test_a_transient_failure_is_retried_to_success(workflow: Workflow) -> None:
    workflow.faults["processPolicy"] = [TransientError("DynamoDB throttled")]
    state = workflow.proc.document(csv_bytes(2), "text/csv", "ok.csv")
    execution = workflow.start(state)
    assert workflow.wait(execution)["status"] == "SUCCEEDED"
    assert workflow.calls.count("processPolicy") == 2
    assert workflow.proc.doc(state["document_id"]).status is Status.PROCESSED
    failures = [e for e in workflow.history(execution) if e["type"] == "LambdaFunctionFailed"]
    assert [e["lambdaFunctionFailedEventDetails"]["error"] for e in failures] == ["TransientError"]


def test_a_pdf_needs_no_transform_and_is_stored_with_its_manifest(workflow: Workflow) -> None:
    state = workflow.proc.document(b"%PDF-1.7\n%\xe2\xe3\n", "application/pdf", "a.pdf")
    assert workflow.wait(workflow.start(state))["status"] == "SUCCEEDED"
    document_id = state["document_id"]
    assert workflow.proc.doc(document_id).results["outputs"] == {}
    assert workflow.proc.keys(f"processed/{document_id}/") == [
        f"processed/{document_id}/manifest.json"
    ]
    assert "processTransform" not in workflow.calls
