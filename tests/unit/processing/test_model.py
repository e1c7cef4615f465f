from __future__ import annotations

import json

import pytest

from docflow.processing.model import (
    ApprovalRequest,
    Job,
    Kind,
    ProcessingInput,
    failure_reason,
    job_of,
    kind_of,
)
from shared.errors import InvalidInputError

DOC = "doc_" + "a" * 32
STATE = {
    "document_id": DOC,
    "bucket": "b",
    "key": f"incoming/{DOC}/x.csv",
    "version_id": None,
    "content_type": "text/csv",
    "size": 10,
}


def test_execution_input_parses_into_a_typed_value() -> None:
    parsed = ProcessingInput.from_state({**STATE, "metadata": {"ignored": True}})
    assert parsed == ProcessingInput(DOC, "b", f"incoming/{DOC}/x.csv", None, "text/csv", 10)
    assert parsed.kind is Kind.CSV


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"document_id": "../etc"}, "malformed document_id"),
        ({"bucket": ""}, "missing bucket"),
        ({"size": "10"}, "size must be"),
        ({"size": True}, "size must be"),
    ],
)
def test_malformed_input_is_an_invalid_input_error(change: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ProcessingInput.from_state({**STATE, **change})


def test_types_map_to_kinds() -> None:
    assert [kind_of(t) for t in ("image/png", "image/jpeg", "text/csv", "application/pdf")] == [
        Kind.IMAGE,
        Kind.IMAGE,
        Kind.CSV,
        Kind.OTHER,
    ]


def test_map_items_name_their_job() -> None:
    assert job_of({"job": "thumbnail"}) is Job.THUMBNAIL
    with pytest.raises(InvalidInputError, match="unknown transform job 'resize'"):
        job_of({"job": "resize"})


def test_failure_reason_keeps_type_and_message_never_the_stack() -> None:
    cause = json.dumps(
        {
            "errorType": "PermanentError",
            "errorMessage": "csv_columns: missing amount",
            "stackTrace": ["  File secret.py line 1"],
        }
    )
    reason = failure_reason({"Error": "PermanentError", "Cause": cause})
    assert reason == "PermanentError: csv_columns: missing amount"
    assert failure_reason({"Error": "States.Timeout", "Cause": "took too long"}) == (
        "States.Timeout: took too long"
    )
    assert failure_reason(None).startswith("unknown_error")
    assert len(failure_reason({"Error": "X", "Cause": "y" * 5000})) == 500


def test_approval_request_needs_the_token() -> None:
    with pytest.raises(InvalidInputError, match="task_token"):
        ApprovalRequest.from_state({"document_id": DOC, "reasons": []})
    request = ApprovalRequest.from_state({"document_id": DOC, "task_token": "t", "reasons": ["r"]})
    assert request == ApprovalRequest(DOC, "t", ["r"])
