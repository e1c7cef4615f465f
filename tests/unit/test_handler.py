"""The handler decorator's error boundary, read through the log events it emits.

`structlog.testing.capture_logs` records each event as the decorator logged it (before
rendering), so these tests hold whatever the JSON lines look like.
"""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from shared import errors
from shared import handler as handler_module
from shared.handler import Trigger, lambda_handler
from shared.settings import Settings
from tests.support import event


@pytest.fixture(autouse=True)
def _uncached_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A logger capture_logs can see, whichever test of this process ran before.

    shared.logging caches each logger on its first use (`cache_logger_on_first_use`) with the
    processor list configured then; capture_logs swaps the entries of the current list. After
    a test that configures structlog anew (tests/unit/test_shared.py), the handler module's
    cached logger would keep the old list and nothing would be captured."""
    monkeypatch.setattr(handler_module, "log", structlog.get_logger("docflow.handler"))


class _Context:
    aws_request_id, function_name, function_version = "req-7", "docflow-test-fn", "$LATEST"


def _failing(trigger: Trigger, failure: BaseException) -> Any:
    @lambda_handler(trigger=trigger, settings=Settings.load({}))
    def handler(event: Any, context: Any) -> Any:
        raise failure

    return handler


def _events(logs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(entry["event"], entry["log_level"]) for entry in logs]


def test_an_unexpected_error_answers_a_generic_500_and_logs_its_traceback() -> None:
    handler = _failing("http", KeyError("internal detail: table docflow-dev-documents"))
    with capture_logs() as logs:
        response = handler(event("http_create_document"), _Context())

    assert response == errors.json_response(
        500, {"error": "internal_error", "message": "Internal server error"}
    )
    assert "internal detail" not in response["body"]
    assert _events(logs) == [("invocation_crashed", "error"), ("invocation_finished", "info")]
    crashed, finished = logs
    assert (crashed["error"], crashed["exc_info"]) == ("KeyError", True)
    assert (finished["trigger"], finished["outcome"]) == ("http", "unexpected_error")


@pytest.mark.parametrize("trigger", ["event", "task", "batch"])
def test_an_unexpected_error_of_any_other_trigger_is_logged_and_raised_again(
    trigger: Trigger,
) -> None:
    failure = RuntimeError("bug")
    handler = _failing(trigger, failure)
    with capture_logs() as logs, pytest.raises(RuntimeError) as raised:
        handler({"document_id": "doc_1"}, _Context())

    assert raised.value is failure
    assert _events(logs) == [("invocation_crashed", "error"), ("invocation_finished", "info")]
    assert logs[0]["exc_info"] is True
    assert (logs[1]["trigger"], logs[1]["outcome"]) == (trigger, "unexpected_error")


def test_a_docflow_error_of_a_task_is_raised_again_under_its_own_name() -> None:
    # Step Functions matches Retry/Catch on the error's class name: it must not be wrapped.
    failure = errors.TransientError("the documents table is throttled")
    handler = _failing("task", failure)
    with capture_logs() as logs, pytest.raises(errors.TransientError) as raised:
        handler({"document_id": "doc_1"}, _Context())

    assert raised.value is failure
    assert _events(logs) == [("invocation_failed", "warning"), ("invocation_finished", "info")]
    assert (logs[0]["error"], logs[0]["reason"]) == (
        "TransientError",
        "the documents table is throttled",
    )
    assert logs[1]["outcome"] == "service_unavailable"


def test_a_system_fault_answers_500_and_logs_its_cause_as_an_error() -> None:
    cause = PermissionError("AccessDeniedException on dynamodb:UpdateItem")
    fault = errors.SystemFaultError("moving document doc_1 failed: permission denied")
    fault.__cause__ = cause
    handler = _failing("http", fault)
    with capture_logs() as logs:
        response = handler(event("http_create_document"), _Context())

    assert response["statusCode"] == 500
    assert "permission denied" not in response["body"]
    failed = logs[0]
    assert (failed["event"], failed["log_level"], failed["cause"]) == (
        "invocation_failed",
        "error",
        "PermissionError",
    )
    assert failed["cause_message"] == "AccessDeniedException on dynamodb:UpdateItem"


def test_a_client_error_answers_its_status_and_message() -> None:
    handler = _failing("http", errors.NotFoundError("document doc_1 not found"))
    with capture_logs() as logs:
        response = handler(event("http_get_document"), _Context())

    assert response == errors.json_response(
        404, {"error": "not_found", "message": "document doc_1 not found"}
    )
    assert _events(logs) == [("invocation_failed", "warning"), ("invocation_finished", "info")]
    assert logs[1]["outcome"] == "not_found"


def test_the_invocation_context_is_cleared_after_a_failure() -> None:
    handler = _failing("task", RuntimeError("bug"))
    with pytest.raises(RuntimeError):
        handler({"document_id": "doc_1"}, _Context())
    assert structlog.contextvars.get_contextvars() == {}
