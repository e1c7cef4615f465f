"""Values the processing tasks exchange: the execution input, jobs, results and events.

Everything that crosses a state boundary is a small JSON value (keys, counts, reasons); the
bytes themselves stay in S3 under `processed/<document_id>/`, far below the 256 KB state
payload limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from docflow.documents.model import is_document_id
from shared.errors import InvalidInputError, RejectedError, error_classes

PROCESSED_PREFIX = "processed/"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
CSV_TYPES = frozenset({"text/csv"})
MAX_REASON_LENGTH = 500
MAX_MESSAGE_LENGTH = 300
_CODE_FIRST = re.compile(r"^([a-z][a-z0-9_]{0,63}): \S")


class Kind(StrEnum):
    IMAGE = "image"
    CSV = "csv"
    OTHER = "other"


class Job(StrEnum):
    THUMBNAIL = "thumbnail"
    WEB = "web"
    RECORDS = "records"


JOBS: dict[Kind, tuple[Job, ...]] = {
    Kind.IMAGE: (Job.THUMBNAIL, Job.WEB),
    Kind.CSV: (Job.RECORDS,),
    Kind.OTHER: (),
}


def kind_of(content_type: str) -> Kind:
    if content_type in IMAGE_TYPES:
        return Kind.IMAGE
    if content_type in CSV_TYPES:
        return Kind.CSV
    return Kind.OTHER


def output_prefix(document_id: str) -> str:
    return f"{PROCESSED_PREFIX}{document_id}/"


def output_key(document_id: str, name: str) -> str:
    return f"{output_prefix(document_id)}{name}"


def short_reason(text: str) -> str:
    """A reason fit for the record and the events: one line, bounded."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON_LENGTH else line[: MAX_REASON_LENGTH - 3] + "..."


@dataclass(frozen=True)
class ProcessingInput:
    """The execution input intake sends: one object version of one document."""

    document_id: str
    bucket: str
    key: str
    version_id: str | None
    content_type: str
    size: int

    @property
    def kind(self) -> Kind:
        return kind_of(self.content_type)

    @classmethod
    def from_state(cls, state: Any) -> ProcessingInput:
        if not isinstance(state, dict):
            raise InvalidInputError("task input must be a JSON object")
        missing = [
            name
            for name in ("document_id", "bucket", "key", "content_type", "size")
            if state.get(name) in (None, "")
        ]
        if missing:
            raise InvalidInputError(f"task input is missing {', '.join(missing)}")
        document_id = str(state["document_id"])
        if not is_document_id(document_id):
            raise InvalidInputError(f"task input has a malformed document_id {document_id!r}")
        size = state["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInputError("task input size must be a non-negative integer")
        version = state.get("version_id")
        return cls(
            document_id=document_id,
            bucket=str(state["bucket"]),
            key=str(state["key"]),
            version_id=str(version) if version else None,
            content_type=str(state["content_type"]),
            size=size,
        )


def job_of(state: Any) -> Job:
    """The job a Map iteration was given (`{"job": "thumbnail"}` or `"thumbnail"`)."""
    raw = state.get("job") if isinstance(state, dict) else None
    if isinstance(raw, dict):
        raw = raw.get("job")
    try:
        return Job(str(raw))
    except ValueError as exc:
        allowed = ", ".join(j.value for j in Job)
        raise InvalidInputError(
            f"unknown transform job {raw!r}; expected one of: {allowed}"
        ) from exc


def _cause_message(error: dict[str, Any]) -> str:
    """The message of a Catch's Cause: a Lambda task's error JSON, or the Cause as text."""
    cause = error.get("Cause")
    if not isinstance(cause, str) or not cause:
        return ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return str(parsed.get("errorMessage", "")) if isinstance(parsed, dict) else cause


def failure_reason(error: Any) -> str:
    """The reason a system fault gives the record: `<code>: <message>`, code first.

    From a Catch's error output (`{"Error": ..., "Cause": ...}`). A docflow error keeps its
    message, led by its code; a Step Functions error keeps its name. Any
    other exception (a bug) is not described to the client: its class name and text, which
    may carry internals, stay in the task's log. The stack is never kept.
    """
    if not isinstance(error, dict):
        return "unknown_error: the workflow failed without an error description"
    name = str(error.get("Error") or "")
    message = " ".join(_cause_message(error).split())
    codes = {cls.__name__: cls.code for cls in error_classes()}
    if name in codes:
        if _CODE_FIRST.match(message):
            return short_reason(message)
        return short_reason(f"{codes[name]}: {message or name}")
    if name == "States.Timeout":
        return "task_timeout: a processing step did not finish in time"
    if name.startswith("Lambda."):  # Lambda.ServiceException and kin: named in the log only
        return "system_error: the Lambda service could not run a processing step"
    if name.startswith("States."):
        return short_reason(f"system_error: the processing workflow stopped on {name}")
    return "internal_error: processing stopped on an unexpected error; operators have the details"


def rejection(exc: RejectedError) -> dict[str, str]:
    """What a task returns for a file refused as sent: `{"code", "message"}`."""
    message = " ".join(exc.message.split())
    if len(message) > MAX_MESSAGE_LENGTH:
        message = message[: MAX_MESSAGE_LENGTH - 3] + "..."
    return {"code": exc.code, "message": message}


def rejection_reason(state: Any) -> str | None:
    """The reason of a file a task refused, if one did; None otherwise.

    Extract returns it as `metadata.rejection`; a transform iteration returns it and its Map
    ends in a `RejectedError` Fail state whose Cause is the rejection as JSON.
    """
    if not isinstance(state, dict):
        return None
    metadata = state.get("metadata")
    found = metadata.get("rejection") if isinstance(metadata, dict) else None
    error = state.get("error")
    if found is None and isinstance(error, dict) and error.get("Error") == RejectedError.__name__:
        try:
            found = json.loads(str(error.get("Cause") or ""))
        except ValueError:
            found = {}
        if not isinstance(found, dict):
            found = {}
    if not isinstance(found, dict):
        return None
    code = str(found.get("code") or "")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", code):
        code = RejectedError.code
    message = " ".join(str(found.get("message") or "the file cannot be processed").split())
    return short_reason(f"{code}: {message}")


@dataclass(frozen=True)
class ApprovalRequest:
    """The waitForTaskToken task's payload: `{document_id, task_token, reasons}`."""

    document_id: str
    token: str
    reasons: list[str]

    @classmethod
    def from_state(cls, state: Any) -> ApprovalRequest:
        if not isinstance(state, dict):
            raise InvalidInputError("task input must be a JSON object")
        document_id, token = state.get("document_id"), state.get("task_token")
        if not isinstance(document_id, str) or not is_document_id(document_id):
            raise InvalidInputError("approval request needs a well-formed document_id")
        if not isinstance(token, str) or not token:
            raise InvalidInputError("approval request needs the task_token ($$.Task.Token)")
        reasons = state.get("reasons") or []
        if not isinstance(reasons, list):
            raise InvalidInputError("approval request reasons must be a list")
        return cls(document_id, token, [str(r) for r in reasons])
