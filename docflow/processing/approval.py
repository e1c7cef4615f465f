"""`POST /documents/{id}/decision`: an approver resumes a workflow waiting on a task token.

The token never leaves the server: it is read from the document record. The decision first
claims the document (a conditional move from `awaiting_approval` to `processing`), so a
decision sent twice, or two approvers racing, resume the workflow at most once; then it
sends the task success carrying the decision. Approval and rejection both resume the
workflow, which stores or rejects (removing outputs) accordingly.

Separation of duties: the key that submitted a document (recorded on it at submission as
`submitted_by`) may not decide on it, whatever its roles: 403 `separation_of_duties`. A
record without a submitter (written before submitters were recorded) is refused the same
way, since nobody can show the approver is not the submitter; such a document waits for its
approval timeout and ends rejected as expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from docflow.api.auth import Principal
from docflow.documents.model import Document, Status, now_iso
from docflow.documents.store import DocumentStore
from docflow.processing.errors import (
    AlreadyDecidedError,
    NotAwaitingApprovalError,
    SeparationOfDutiesError,
)
from shared import errors

MAX_COMMENT_LENGTH = 1000
DECISIONS = {"approve": "approved", "reject": "rejected"}


class TaskResumer(Protocol):
    """Resumes the waiting task (`docflow.documents.workflow.Tasks`; a fake in tests)."""

    def succeed(self, token: str, output: dict[str, Any]) -> None: ...


def check_separation_of_duties(principal: Principal, document: Document) -> None:
    """Refuse a decision by the key that submitted the document (or by anyone, unrecorded)."""
    if document.submitted_by is None:
        raise SeparationOfDutiesError(
            f"document {document.document_id} records no submitter, so no key may decide on "
            "it; it will expire and be rejected (resubmit it)"
        )
    if document.submitted_by == principal.key_id:
        raise SeparationOfDutiesError(
            f"API key {principal.key_id} submitted document {document.document_id} and may "
            "not decide on it: use another key of the owner with the approve role"
        )


@dataclass(frozen=True)
class Decision:
    outcome: str
    comment: str | None


def parse_decision(body: dict[str, Any]) -> Decision:
    """The decision a JSON body states, or a 400 saying what to send; any value is typed."""
    raw = body.get("decision")
    # A string first: a list or an object is unhashable, and `in` on a dict would raise.
    if not isinstance(raw, str) or raw not in DECISIONS:
        raise errors.InvalidInputError('decision must be "approve" or "reject"')
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_LENGTH):
        raise errors.InvalidInputError(
            f"comment must be a string of at most {MAX_COMMENT_LENGTH} characters"
        )
    return Decision(DECISIONS[raw], (comment.strip() or None) if comment else None)


def decide(
    principal: Principal,
    document_id: str,
    body: dict[str, Any],
    documents: DocumentStore,
    tasks: TaskResumer,
    actor: str,
) -> dict[str, Any]:
    if "approve" not in principal.roles:
        raise errors.ForbiddenError("this API key may not decide on documents")
    decision = parse_decision(body)
    document = documents.get_owned(document_id, principal.owner)
    check_separation_of_duties(principal, document)
    approval = documents.approval(document_id)
    if document.status is not Status.AWAITING_APPROVAL:
        if approval.get("decision"):
            raise AlreadyDecidedError(
                f"document {document_id} was already {approval['decision']} "
                f"by {approval.get('decided_by', 'an approver')}"
            )
        raise NotAwaitingApprovalError(
            f"document {document_id} is {document.status}; only a document awaiting "
            "approval takes a decision"
        )
    token = approval.get("token")
    if not token:
        raise NotAwaitingApprovalError(f"document {document_id} has no pending approval")
    decided = {
        "decision": decision.outcome,
        "decided_by": principal.key_id,
        "decided_at": now_iso(),
        **({"comment": decision.comment} if decision.comment else {}),
    }
    try:
        claimed = documents.transition(
            document,
            Status.PROCESSING,
            actor,
            reason=f"{decision.outcome} by {principal.key_id}",
            fields={"approval": {**{k: v for k, v in approval.items() if k != "token"}, **decided}},
        )
    except errors.ConflictError as exc:
        raise AlreadyDecidedError(
            f"document {document_id} received another decision at the same time"
        ) from exc
    try:
        tasks.succeed(str(token), decided)
    except errors.TransientError:
        # Not delivered: put the document back so the approver can simply retry.
        documents.transition(
            claimed,
            Status.AWAITING_APPROVAL,
            actor,
            reason="decision not delivered; waiting again",
            fields={"approval": approval},
        )
        raise
    return {**claimed.public_view(), "decision": decision.outcome}
