"""What callers read of an error, and what the log keeps of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from shared import aws, errors
from shared.handler import lambda_handler
from shared.settings import Settings
from tests.support import event

SDK_WORDS = ("Exception", "AccessDenied", "Throttling", "Error", "(", "botocore")


def _client_error(code: str, operation: str = "UpdateItem") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} says no to arn:aws:dynamodb:x"}}, operation
    )


def _all_error_classes() -> set[type[errors.DocflowError]]:
    found: set[type[errors.DocflowError]] = set()
    pending: list[type[errors.DocflowError]] = [errors.DocflowError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending += cls.__subclasses__()
    return found


@pytest.mark.parametrize(
    ("failure", "expected", "status", "says"),
    [
        (_client_error("AccessDeniedException"), errors.SystemFaultError, 500, "permission denied"),
        (_client_error("AccessDenied", "PutObject"), errors.SystemFaultError, 500, "permission"),
        (_client_error("ValidationException"), errors.SystemFaultError, 500, "refused"),
        (_client_error("KMS.DisabledException"), errors.SystemFaultError, 500, "refused"),
        (ParamValidationError(report="bad"), errors.SystemFaultError, 500, "unexpectedly"),
        (
            UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate"),
            errors.SystemFaultError,
            500,
            "",
        ),
        (_client_error("ThrottlingException"), errors.TransientError, 503, "temporarily"),
        (EndpointConnectionError(endpoint_url="http://x"), errors.TransientError, 503, ""),
        (_client_error("ResourceNotFoundException"), errors.NotFoundError, 404, "not found"),
        (_client_error("ConditionalCheckFailedException"), errors.ConflictError, 409, "changed"),
    ],
)
def test_sdk_failures_map_onto_the_taxonomy_in_words_without_codes(
    failure: Exception, expected: type[errors.DocflowError], status: int, says: str
) -> None:
    translated = aws.translate(failure, "moving document doc_1 from processing to processed")
    assert (type(translated), translated.status_code) == (expected, status)
    assert translated.message.startswith("moving document doc_1 from processing to processed")
    assert says in translated.message
    for word in SDK_WORDS:
        assert word not in translated.message, translated.message


def test_a_system_fault_is_a_generic_500_and_not_retried() -> None:
    fault = aws.translate(_client_error("AccessDeniedException"), "creating document")
    response = errors.http_response(fault)
    assert (response["statusCode"], json.loads(response["body"])) == (
        500,
        {"error": "internal_error", "message": "Internal server error"},
    )
    assert not fault.retryable
    assert not isinstance(fault, errors.PermanentError | errors.ClientError)
    assert "SystemFaultError" in errors.error_names()


def test_a_transient_fault_answers_503_without_naming_internals() -> None:
    fault = aws.translate(_client_error("ThrottlingException"), "reading secret docflow-keys")
    body = json.loads(errors.http_response(fault)["body"])
    assert body["error"] == "service_unavailable"
    assert "docflow-keys" not in body["message"]


def test_every_5xx_class_answers_a_generic_message_and_every_4xx_its_own() -> None:
    for cls in _all_error_classes():
        if cls.status_code >= 500:
            assert cls.public_message, f"{cls.__name__} would answer its internal message"
        else:
            assert cls.public_message is None, f"{cls.__name__} hides its message from callers"


def test_client_errors_answer_their_message_and_details() -> None:
    response = errors.http_response(errors.InvalidInputError("size must be positive", field="size"))
    assert json.loads(response["body"]) == {
        "error": "invalid_input",
        "message": "size must be positive",
        "details": {"field": "size"},
    }


def _http_handler(failure: BaseException) -> Any:
    @lambda_handler(trigger="http", settings=Settings.load({}))
    def handler(event: Any, context: Any) -> Any:
        raise aws.translate(
            failure, "moving document doc_1 from awaiting_upload to accepted"
        ) from (failure)

    return handler


class _Context:
    aws_request_id, function_name, function_version = "req-1", "docflow-test-api", "$LATEST"


def test_the_caller_reads_a_generic_answer_and_the_log_keeps_the_aws_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = _http_handler(_client_error("AccessDeniedException"))
    response = handler(event("http_create_document"), _Context())
    assert (response["statusCode"], json.loads(response["body"])) == (
        500,
        {"error": "internal_error", "message": "Internal server error"},
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failed = next(line for line in lines if line["message"] == "invocation_failed")
    assert failed["level"] == "ERROR"
    assert failed["error"] == "SystemFaultError"
    assert failed["reason"] == (
        "moving document doc_1 from awaiting_upload to accepted failed: permission denied"
    )
    assert failed["cause"] == "ClientError"
    assert "AccessDeniedException" in failed["cause_message"]
    assert "UpdateItem" in failed["cause_message"]
