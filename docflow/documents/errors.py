"""The errors the document adapters raise (S3 objects, the workflow)."""

from __future__ import annotations

from shared import errors


class ObjectGoneError(errors.PermanentError):
    """The object (version) was deleted before it could be read or moved."""

    code = "source_gone"


class ApprovalExpiredError(errors.ConflictError):
    """The workflow stopped waiting for this decision (timed out or already resumed)."""

    status_code = 410
    code = "approval_expired"


class ApprovalTokenInvalidError(errors.ConflictError):
    """Step Functions does not recognise the recorded token."""

    status_code = 410
    code = "approval_token_invalid"
