"""One error taxonomy for docflow, and its mapping onto each trigger.

Every domain error carries what a trigger needs as data: the HTTP status and error code for
the API, whether a batch item or Step Functions task may be retried. The handler decorator
(`shared.handler`) converts them at one boundary; code raising them never formats responses.
Step Functions sees the class name as the error name, so Retry/Catch clauses match on it
(`error_names()`; tests/unit/processing/test_definition.py checks the state machine against
the classes its tasks can raise). Every error class of `shared` is here; each domain package
keeps its own in its `errors` module.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class DocflowError(Exception):
    """Base of every error docflow raises on purpose."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False
    # What an HTTP caller reads in place of `message`; None when `message` is written for the
    # caller (the 4xx classes). A 5xx is the system's fault: its message names internals (a
    # table, a secret, an AWS error code) that belong in the log, never in the answer.
    public_message: ClassVar[str | None] = "Internal server error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        if self.public_message is not None:
            return {"error": self.code, "message": self.public_message}
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ClientError(DocflowError):
    """The caller sent something wrong; retrying the same input cannot succeed."""

    status_code = 400
    code = "invalid_request"
    public_message = None


class InvalidInputError(ClientError):
    code = "invalid_input"


class UnauthorizedError(ClientError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(ClientError):
    status_code = 403
    code = "forbidden"


class NotFoundError(ClientError):
    status_code = 404
    code = "not_found"


class PayloadTooLargeError(ClientError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(ClientError):
    status_code = 415
    code = "unsupported_media_type"


class RejectedError(ClientError):
    """The client's file cannot be processed as sent: corrupt, a bomb, a CSV without its columns.

    The document ends `rejected` (not `failed`) with `code` as the reason's stable prefix and a
    message that says what to fix; resending the same bytes cannot succeed, so it is never
    retried. Subclasses set `code`; processing returns it to the state machine, which routes
    the document to its Reject state (see docs/processing.md).
    """

    status_code = 422
    code = "rejected"


class ConflictError(DocflowError):
    """The request is valid but conflicts with the current state (a duplicate, a stale step)."""

    status_code = 409
    code = "conflict"
    public_message = None


class TransientError(DocflowError):
    """A dependency failed in a way that may pass on retry (throttling, timeouts, 5xx)."""

    status_code = 503
    code = "service_unavailable"
    retryable = True
    public_message = "A service docflow depends on is temporarily unavailable; retry shortly"


class PermanentError(DocflowError):
    """Processing cannot succeed for this input; retrying is pointless."""

    status_code = 422
    code = "unprocessable"
    public_message = None


class SystemFaultError(DocflowError):
    """docflow itself is at fault: a missing permission, a misconfigured resource.

    What `shared.aws.translate` makes of an AWS refusal no other class models. It is not
    the caller's doing and does not pass by itself: retrying cannot help until an operator
    fixes the system. The API answers 500 with the generic message (an incident, alarmed as
    a 5xx), the log keeps the cause with its AWS error code, and a document it stops ends
    `failed`, never `rejected`.
    """


class ClaimInProgressError(TransientError):
    """Another invocation holds the idempotency claim for this event; retry after its lease."""

    code = "claim_in_progress"


class BatchFailedError(DocflowError):
    """Every record of the batch failed; each failure was logged on its own line."""

    code = "batch_failed"
    retryable = True


def error_classes() -> frozenset[type[DocflowError]]:
    """`DocflowError` and every subclass defined by the modules imported so far."""
    found: set[type[DocflowError]] = set()
    pending: list[type[DocflowError]] = [DocflowError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending += cls.__subclasses__()
    return frozenset(found)


def error_names() -> frozenset[str]:
    """The error names Step Functions sees from docflow's tasks (a Lambda error's type is its
    class name), for the classes loaded so far; Retry/Catch clauses match on them."""
    return frozenset(cls.__name__ for cls in error_classes())


def http_response(exc: BaseException) -> dict[str, Any]:
    """The API Gateway (payload 2.0) response for an error; unexpected errors stay generic."""
    if isinstance(exc, DocflowError):
        status, body = exc.status_code, exc.to_body()
    else:
        status, body = 500, {"error": "internal_error", "message": DocflowError.public_message}
    return json_response(status, body)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":"), default=str),
    }
