"""`POST /documents/{id}/decision`: who may decide, and every way a decision can be wrong."""

from __future__ import annotations

from typing import Any

import pytest

from docflow.api.auth import Principal
from docflow.documents.errors import ApprovalExpiredError
from docflow.documents.model import Status
from docflow.processing import approval
from shared import errors
from tests.functional.processing.conftest import Api, Proc, Workflow, decide
from tests.processing_samples import csv_bytes

# The approver: another key of the owner than the one that submitted (k-alice, see Proc).
APPROVER = Principal("k-alice-approver", "alice", frozenset({"approve"}))


TOKEN = "token-from-the-workflow"


def waiting(proc: Proc, token: str = TOKEN) -> str:
    state = proc.document(csv_bytes(1), "text/csv", "x.csv", status=Status.PROCESSING)
    request = {"document_id": state["document_id"], "task_token": token, "reasons": ["r"]}
    proc.run("processRequestApproval", request)
    return str(state["document_id"])


@pytest.mark.parametrize("key", ["bob", "alice-viewer"])
def test_only_a_key_with_the_approve_role_may_decide(proc: Proc, api: Api, key: str) -> None:
    document_id = waiting(proc)
    status, body = decide(api, document_id, {"decision": "approve"}, key=key)
    assert (status, body["error"]) == (403, "forbidden")
    assert proc.doc(document_id).status is Status.AWAITING_APPROVAL


def test_the_key_that_submitted_a_document_may_not_decide_on_it(proc: Proc, api: Api) -> None:
    # k-alice holds both roles and submitted the document: refused whatever it decides.
    document_id = waiting(proc)
    for decision in ("approve", "reject"):
        status, body = decide(api, document_id, {"decision": decision}, key="alice")
        assert (status, body["error"]) == (403, "separation_of_duties")
    assert proc.doc(document_id).status is Status.AWAITING_APPROVAL
    status, body = decide(api, document_id, {"decision": "approve"})
    assert (status, body["decision"]) == (200, "approved")


def test_a_document_without_a_recorded_submitter_takes_no_decision(proc: Proc, api: Api) -> None:
    state = proc.document(csv_bytes(1), "text/csv", "x.csv", submitted_by=None)
    request = {"document_id": state["document_id"], "task_token": TOKEN, "reasons": ["r"]}
    proc.run("processRequestApproval", request)
    status, body = decide(api, state["document_id"], {"decision": "approve"})
    assert (status, body["error"]) == (403, "separation_of_duties")
    assert proc.doc(state["document_id"]).status is Status.AWAITING_APPROVAL


def test_another_owners_approver_sees_no_document(proc: Proc, api: Api) -> None:
    status, body = decide(api, waiting(proc), {"decision": "approve"}, key="bob-approver")
    assert (status, body["error"]) == (404, "not_found")


def test_a_document_created_through_the_api_records_its_submitter(api: Api, proc: Proc) -> None:
    status, body = api(
        "POST /documents",
        key="bob",
        body={"filename": "a.csv", "content_type": "text/csv", "size": 3},
    )
    assert status == 201
    assert proc.doc(body["document_id"]).submitted_by == "k-bob"


@pytest.mark.parametrize("body", [{}, {"decision": "maybe"}, {"decision": "approve", "comment": 5}])
def test_a_malformed_decision_is_a_400(proc: Proc, api: Api, body: dict[str, Any]) -> None:
    status, answer = decide(api, waiting(proc), body)
    assert (status, answer["error"]) == (400, "invalid_input")


def test_an_unknown_document_is_a_404(proc: Proc, api: Api) -> None:
    status, body = decide(api, "doc_" + "f" * 32, {"decision": "approve"})
    assert (status, body["error"]) == (404, "not_found")


def test_a_document_not_waiting_for_a_decision_is_a_409(proc: Proc, api: Api) -> None:
    state = proc.document(csv_bytes(1), "text/csv", "x.csv", status=Status.PROCESSING)
    status, body = decide(api, state["document_id"], {"decision": "approve"})
    assert (status, body["error"]) == (409, "not_awaiting_approval")


def test_a_forged_token_is_a_410_and_resumes_nothing(workflow: Workflow, api: Api) -> None:
    # The parser backend (workflow fixture) checks tokens like Step Functions does.
    document_id = waiting(workflow.proc, token="forged-token")
    status, body = decide(api, document_id, {"decision": "approve"})
    assert (status, body["error"]) == (410, "approval_token_invalid")
    # Claimed, so a second attempt cannot resume anything; the workflow's timeout rejects it.
    status, body = decide(api, document_id, {"decision": "approve"})
    assert (status, body["error"]) == (409, "already_decided")


def approve(proc: Proc, tasks: Any, document_id: str) -> Any:
    """The approver's approval, sent to the workflow through `tasks`."""
    return approval.decide(APPROVER, document_id, {"decision": "approve"}, proc.store, tasks, "api")


class _Tasks:
    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.sent: list[str] = []

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self.sent.append(token)
        raise self.failure


def test_an_expired_token_is_a_410(proc: Proc) -> None:
    document_id = waiting(proc)
    tasks = _Tasks(ApprovalExpiredError("the approval expired"))
    with pytest.raises(ApprovalExpiredError) as caught:
        approve(proc, tasks, document_id)
    assert caught.value.status_code == 410
    assert tasks.sent == [TOKEN]


def test_a_decision_step_functions_did_not_take_can_be_sent_again(proc: Proc) -> None:
    document_id = waiting(proc)
    tasks = _Tasks(errors.TransientError("Step Functions throttled"))
    with pytest.raises(errors.TransientError):
        approve(proc, tasks, document_id)
    assert proc.doc(document_id).status is Status.AWAITING_APPROVAL
    assert proc.store.approval(document_id)["token"] == TOKEN
    assert "decision" not in proc.store.approval(document_id)
