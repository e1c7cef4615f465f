"""One error taxonomy for docflow, and its mapping onto each trigger.

Every domain error carries what a trigger needs as data: the HTTP status and error code for
the API, whether a batch item or Step Functions task may be retried. The handler decorator
(`shared.handler`) converts them at one boundary; code raising them never formats responses.
Step Functions sees the class name as the error name, so Retry/Catch clauses match on it.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class DocflowError(Exception):
    """Base of every error docflow raises on purpose."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ClientError(DocflowError):
    """The caller sent something wrong; retrying the same input cannot succeed."""

    status_code = 400
    code = "invalid_request"


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


class TransientError(DocflowError):
    """A dependency failed in a way that may pass on retry (throttling, timeouts, 5xx)."""

    status_code = 503
    code = "service_unavailable"
    retryable = True


class PermanentError(DocflowError):
    """Processing cannot succeed for this input; retrying is pointless."""

    status_code = 422
    code = "unprocessable"


ERROR_NAMES: frozenset[str] = frozenset(
    cls.__name__
    for cls in (
        DocflowError,
        ClientError,
        InvalidInputError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        RejectedError,
        ConflictError,
        TransientError,
        PermanentError,
    )
)
"""Error names Step Functions Retry/Catch clauses may use (checked by a contract test)."""


def http_response(exc: BaseException) -> dict[str, Any]:
    """The API Gateway (payload 2.0) response for an error; unexpected errors stay generic."""
    if isinstance(exc, DocflowError):
        status, body = exc.status_code, exc.to_body()
    else:
        status, body = 500, {"error": "internal_error", "message": "Internal server error"}
    return json_response(status, body)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":"), default=str),
    }
