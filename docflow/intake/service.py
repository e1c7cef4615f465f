"""Intake of one uploaded object: type, size, malware, then accept or quarantine.

Every path ends in a defined status on the document record, and nothing is dropped: what
fails a check is moved under `quarantine/` (never deleted), and an object with no matching
document is quarantined as unregistered. The caller wraps this in an idempotency claim per
object version, and every status change is conditional, so a duplicate delivery changes
nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from docflow.documents.errors import ObjectGoneError
from docflow.documents.model import QUARANTINE_PREFIX, Document, Status, parse_incoming_key
from docflow.documents.objects import S3Objects
from docflow.documents.store import DocumentStore
from docflow.documents.workflow import Workflow
from docflow.intake.detect import SAMPLE_BYTES, detect_type
from docflow.intake.model import Upload
from docflow.intake.scan import BUILTIN_SIGNATURES, Signature, parse_signatures, scan
from shared import errors
from shared.logging import get_logger

log = get_logger(__name__)


def execution_name(document_id: str, delivery_key: str) -> str:
    """Deterministic per object version: a redelivered event names the same execution."""
    digest = hashlib.sha256(delivery_key.encode("utf-8")).hexdigest()[:16]
    return f"{document_id}-{digest}"


def late_key(document_id: str, version: str, filename: str) -> str:
    """Where a version uploaded after its document was received is kept, one key each."""
    return f"{QUARANTINE_PREFIX}{document_id}/late/{version}/{filename}"


@dataclass(frozen=True)
class IntakePolicy:
    max_bytes: int
    allowed_types: frozenset[str]
    signatures_key: str


@dataclass(frozen=True)
class IntakeResult:
    key: str
    document_id: str | None
    status: str
    reason: str | None = None


@dataclass
class Intake:
    store: DocumentStore
    objects: S3Objects
    policy: IntakePolicy
    actor: str
    signature_list: Any = None
    workflow: Workflow | None = None
    _signatures: tuple[Signature, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        extra = parse_signatures(self.signature_list) if self.signature_list is not None else ()
        self._signatures = BUILTIN_SIGNATURES + extra

    def receive(self, obj: Upload) -> IntakeResult:
        parsed = parse_incoming_key(obj.key)
        document = self.store.get(parsed[0]) if parsed else None
        if document is None or parsed is None:
            try:
                # Per version: a second stray upload to the same key must not overwrite the
                # first one's copy (an overwritten version is noncurrent, and expires).
                self._quarantine(obj, f"{QUARANTINE_PREFIX}unregistered/{obj.version}/{obj.key}")
            except ObjectGoneError:
                return self._result(obj, None, "gone", "no document, and the object is deleted")
            return self._result(obj, None, "unregistered", "no document was created for this key")
        if document.status is not Status.AWAITING_UPLOAD:
            if document.object_version == obj.version:
                # This very version was already taken in: a redelivery, nothing to do.
                return self._result(obj, document, "duplicate", f"already {document.status}")
            # A new version of an already received document: kept beside the original, one
            # key per version so a later re-upload never overwrites an earlier one.
            try:
                self._quarantine(obj, late_key(document.document_id, obj.version, parsed[1]))
            except ObjectGoneError:
                # Already moved (a retry after a move whose status change failed) or deleted.
                return self._result(obj, document, "gone", "the late version is no longer there")
            return self._result(obj, document, "ignored", f"document is already {document.status}")
        try:
            return self._check(obj, document)
        except ObjectGoneError:
            self.store.transition(
                document, Status.FAILED, self.actor, reason="object_gone: deleted before intake"
            )
            return self._result(obj, document, str(Status.FAILED), "object_gone")

    def _check(self, obj: Upload, document: Document) -> IntakeResult:
        size = self.objects.size(obj.bucket, obj.key, obj.version_id)
        refusal = size_refusal(size, document.declared_size, self.policy.max_bytes)
        if refusal is not None:
            return self._reject(obj, document, Status.REJECTED, refusal)
        digest = hashlib.sha256()
        sample = bytearray()

        def measured() -> Iterator[bytes]:
            for chunk in self.objects.chunks(obj.bucket, obj.key, obj.version_id):
                digest.update(chunk)
                if len(sample) < SAMPLE_BYTES:
                    sample.extend(chunk[: SAMPLE_BYTES - len(sample)])
                yield chunk

        found = scan(measured(), self._signatures)
        if found is not None:
            return self._reject(obj, document, Status.QUARANTINED, f"malware: {found}")
        detected = detect_type(bytes(sample))
        refusal = type_refusal(detected, document.declared_type, self.policy.allowed_types)
        if refusal is not None:
            return self._reject(obj, document, Status.REJECTED, refusal)
        facts = {
            "detected_type": detected,
            "size": size,
            "sha256": digest.hexdigest(),
            "object_version": obj.version,
        }
        accepted = self.store.transition(document, Status.ACCEPTED, self.actor, fields=facts)
        if self.workflow is None:
            return self._result(obj, accepted, str(Status.ACCEPTED))
        arn = self.workflow.start(
            execution_name(document.document_id, obj.delivery_key),
            {
                "document_id": document.document_id,
                "bucket": obj.bucket,
                "key": obj.key,
                "version_id": obj.version_id,
                "content_type": detected,
                "size": size,
            },
        )
        try:
            self.store.transition(
                accepted, Status.PROCESSING, self.actor, fields={"execution_arn": arn}
            )
        except errors.ConflictError:
            # The execution may already have moved the document on (its first task takes
            # over a document left in `accepted`): that is progress, not a failure.
            current = self.store.get(document.document_id)
            if current is None or current.status is Status.ACCEPTED:
                raise
            return self._result(obj, current, str(current.status))
        return self._result(obj, accepted, str(Status.PROCESSING))

    def _reject(self, obj: Upload, document: Document, status: Status, reason: str) -> IntakeResult:
        self._quarantine(obj, f"{QUARANTINE_PREFIX}{document.document_id}/{document.filename}")
        self.store.transition(document, status, self.actor, reason=reason)
        return self._result(obj, document, str(status), reason)

    def _quarantine(self, obj: Upload, destination: str) -> None:
        self.objects.move(obj.bucket, obj.key, obj.version_id, destination)

    @staticmethod
    def _result(
        obj: Upload, document: Document | None, status: str, reason: str | None = None
    ) -> IntakeResult:
        result = IntakeResult(obj.key, document.document_id if document else None, status, reason)
        log.info(
            "intake_finished",
            document_id=result.document_id,
            status=status,
            reason=reason,
            bytes=obj.size,
        )
        return result


def size_refusal(size: int, declared: int, max_bytes: int) -> str | None:
    """Why an object of `size` bytes is refused, or None when its size is as declared."""
    if size == 0:
        return "empty_object: the upload is 0 bytes"
    if size > max_bytes:
        return f"too_large: {size} bytes exceeds the limit of {max_bytes}"
    if size != declared:
        # S3 already holds a POST upload to its policy's exact size; this catches any other
        # way the object got there (a PUT with the caller's own credentials, a copy).
        return f"size_mismatch: declared {declared} bytes, the object is {size}"
    return None


def type_refusal(detected: str, declared: str, allowed: Collection[str]) -> str | None:
    """Why content detected as `detected` is refused, or None when it is the declared type."""
    if detected not in allowed:
        return f"type_not_allowed: content is {detected}"
    if detected != declared:
        return f"type_mismatch: declared {declared}, content is {detected}"
    return None
