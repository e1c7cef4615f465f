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
    rejection_reason,
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


def _lambda_error(name: str, message: str) -> dict[str, str]:
    cause = {"errorType": name, "errorMessage": message, "stackTrace": ["  File secret.py"]}
    return {"Error": name, "Cause": json.dumps(cause)}


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (_lambda_error("PermanentError", "source_gone: s3://b/k"), "source_gone: s3://b/k"),
        (
            _lambda_error("TransientError", "S3 is throttling"),
            "service_unavailable: S3 is throttling",
        ),
        (_lambda_error("ConflictError", ""), "conflict: ConflictError"),
        (
            _lambda_error("KeyError", "'x' <object at 0x7f00>"),
            "internal_error: processing stopped on an unexpected error; operators have the details",
        ),
        (
            {"Error": "States.Timeout", "Cause": "took too long"},
            "task_timeout: a processing step did not finish in time",
        ),
        (
            {"Error": "States.DataLimitExceeded"},
            "system_error: the processing workflow stopped on States.DataLimitExceeded",
        ),
        (
            {"Error": "Lambda.ServiceException", "Cause": "the service failed"},
            "system_error: the Lambda service could not run a processing step",
        ),
        (None, "unknown_error: the workflow failed without an error description"),
    ],
)
def test_failure_reason_is_code_first_never_a_stack_or_a_bugs_text(
    error: dict[str, str] | None, reason: str
) -> None:
    assert failure_reason(error) == reason


def test_failure_reason_is_bounded() -> None:
    assert len(failure_reason(_lambda_error("PermanentError", "y" * 5000))) == 500


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (
            {"metadata": {"rejection": {"code": "image_bomb", "message": "too big"}}},
            "image_bomb: too big",
        ),
        (
            {
                "error": {
                    "Error": "RejectedError",
                    "Cause": '{"code":"corrupt_image","message":"m"}',
                }
            },
            "corrupt_image: m",
        ),
        (
            {"error": {"Error": "RejectedError", "Cause": "not json"}},
            "rejected: the file cannot be processed",
        ),
        (
            {"error": {"Error": "RejectedError", "Cause": '{"code":"Bad Code!"}'}},
            "rejected: the file cannot be processed",
        ),
        ({"error": {"Error": "States.Timeout"}}, None),
        ({"metadata": {"jobs": []}}, None),
    ],
)
def test_rejection_reason_comes_from_extract_or_the_maps_rejected_error(
    state: dict, reason: str | None
) -> None:
    assert rejection_reason(state) == reason


def test_approval_request_needs_the_token() -> None:
    with pytest.raises(InvalidInputError, match="task_token"):
        ApprovalRequest.from_state({"document_id": DOC, "reasons": []})
    request = ApprovalRequest.from_state({"document_id": DOC, "task_token": "t", "reasons": ["r"]})
    assert request == ApprovalRequest(DOC, "t", ["r"])
