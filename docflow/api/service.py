"""Use cases behind the HTTP routes; values in, values out, collaborators passed in."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol

from docflow.api.auth import Principal
from docflow.documents.model import (
    Document,
    HistoryEntry,
    Status,
    incoming_key,
    is_document_id,
    new_document_id,
    now_iso,
)
from docflow.documents.store import DocumentStore
from shared import errors

MAX_FILENAME_LENGTH = 200
MAX_PAGE_SIZE = 100
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


@dataclass(frozen=True)
class UploadPolicy:
    max_bytes: int
    allowed_types: frozenset[str]
    url_ttl_seconds: int


class Presigner(Protocol):
    def presigned_post(
        self, key: str, content_type: str, size: int, ttl_seconds: int
    ) -> dict[str, Any]: ...


def _shown(value: Any) -> str:
    """A caller's value quoted in a message, short whatever they sent."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _filename_problem(filename: str) -> str | None:
    if not filename.strip() or filename in {".", ".."}:
        return "filename must name a file (not empty, '.' or '..')"
    if "/" in filename or "\\" in filename or len(filename) > MAX_FILENAME_LENGTH:
        return (
            f"filename must not contain '/' or '\\' and be at most {MAX_FILENAME_LENGTH} characters"
        )
    # Control characters and line or paragraph separators break keys, headers and logs;
    # surrogates are not characters at all (no store accepts them).
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in filename):
        return "filename must not contain control characters, separators or surrogates"
    return None


def _validate_new_document(body: dict[str, Any], policy: UploadPolicy) -> tuple[str, str, int]:
    filename, content_type, size = body.get("filename"), body.get("content_type"), body.get("size")
    missing = [
        name
        for name, value in (("filename", filename), ("content_type", content_type), ("size", size))
        if value is None
    ]
    if missing:
        raise errors.InvalidInputError(f"missing required field(s): {', '.join(missing)}")
    if not isinstance(filename, str):
        raise errors.InvalidInputError("filename must be a non-empty string")
    problem = _filename_problem(filename)
    if problem:
        raise errors.InvalidInputError(problem)
    if not isinstance(content_type, str) or content_type not in policy.allowed_types:
        allowed = ", ".join(sorted(policy.allowed_types))
        raise errors.UnsupportedMediaTypeError(
            f"content_type {_shown(content_type)} is not accepted; use one of: {allowed}"
        )
    if isinstance(size, float) and size.is_integer():
        # JSON has one number type: 2073.0 is the integer 2073 (as JSON Schema reads it), and
        # some encoders write integers that way.
        size = int(size)
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise errors.InvalidInputError("size must be a positive integer number of bytes")
    if size > policy.max_bytes:
        raise errors.PayloadTooLargeError(
            f"size {_shown(size)} exceeds the limit of {policy.max_bytes} bytes"
        )
    return filename, content_type, size


def create_document(
    principal: Principal,
    body: dict[str, Any],
    store: DocumentStore,
    presigner: Presigner,
    policy: UploadPolicy,
    actor: str,
) -> dict[str, Any]:
    """Record a new document and hand back an upload bound to its declared type and size."""
    if "submit" not in principal.roles:
        raise errors.ForbiddenError("this API key may not submit documents")
    filename, content_type, size = _validate_new_document(body, policy)
    document_id = new_document_id()
    created = now_iso()
    key = incoming_key(document_id, filename)
    document = Document(
        document_id=document_id,
        owner=principal.owner,
        filename=filename,
        declared_type=content_type,
        declared_size=size,
        status=Status.AWAITING_UPLOAD,
        created_at=created,
        updated_at=created,
        object_key=key,
        history=(HistoryEntry(Status.AWAITING_UPLOAD, created, actor),),
        submitted_by=principal.key_id,
    )
    store.create(document)
    upload = presigner.presigned_post(key, content_type, size, policy.url_ttl_seconds)
    return {**document.public_view(), "upload": {**upload, "expires_in": policy.url_ttl_seconds}}


def parse_document_id(value: str) -> str:
    """A document id from a path, or the 404 a missing document gets.

    A value that cannot be an id (too long, odd characters) never reaches the table, which
    would refuse it with an error of its own.
    """
    if not is_document_id(value):
        raise errors.NotFoundError(
            "document not found: document ids are doc_ followed by 32 hexadecimal digits"
        )
    return value


def get_document(principal: Principal, document_id: str, store: DocumentStore) -> dict[str, Any]:
    return store.get_owned(parse_document_id(document_id), principal.owner).public_view()


def list_documents(
    principal: Principal, query: dict[str, str], store: DocumentStore
) -> dict[str, Any]:
    status: Status | None = None
    if "status" in query:
        try:
            status = Status(query["status"])
        except ValueError as exc:
            allowed = ", ".join(s.value for s in Status)
            raise errors.InvalidInputError(
                f"unknown status {_shown(query['status'])}; use one of: {allowed}"
            ) from exc
    try:
        limit = int(query.get("limit", "25"))
    except ValueError as exc:
        raise errors.InvalidInputError("limit must be an integer") from exc
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise errors.InvalidInputError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    cursor = query.get("next")
    if cursor is not None and not cursor:
        # `next=` is no cursor any page handed out; read as "from the start" it would hide a
        # client's bug (a lost cursor) behind a first page.
        raise errors.InvalidInputError(
            "next must be the cursor a previous page handed out; omit it for the first page"
        )
    documents, cursor = store.list_owned(principal.owner, status, limit, cursor)
    return {"items": [d.public_view() for d in documents], "next": cursor}
