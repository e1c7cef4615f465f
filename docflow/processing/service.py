"""The workflow's tasks: each takes the state it is given and returns a small JSON value.

Every task is safe to retry (Step Functions retries transient errors): outputs are written
under fixed keys, status changes are conditional and a task that finds its own effect
already done moves on. A file the client got wrong (`RejectedError`: corrupt, a bomb, a CSV
without its columns) is not a failure: extract and transform return it as `rejection`, the
state machine routes the document to Reject (`rejected`, `document.rejected`) and the
execution succeeds, so no function error and no failed execution is counted for it.
Whatever else cannot succeed raises a `PermanentError` (or another `DocflowError`), which the
state machine's Catch sends to compensation (`failed`, `document.failed`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from docflow.documents.events import DocumentEvents, EventType
from docflow.documents.model import FINAL_STATUSES, Document, Status, now_iso
from docflow.documents.objects import S3Objects
from docflow.documents.store import DocumentStore
from docflow.processing.model import (
    JOBS,
    Job,
    Kind,
    ProcessingInput,
    failure_reason,
    output_key,
    output_prefix,
    rejection,
    rejection_reason,
    short_reason,
)
from shared import errors
from shared.logging import get_logger

if TYPE_CHECKING:
    from docflow.processing.config import ProcessingSettings

log = get_logger(__name__)

HANDOVER_SECONDS = 60.0
SPOOL_BYTES = 8 * 1024 * 1024


def _age_seconds(timestamp: str) -> float:
    try:
        then = datetime.fromisoformat(timestamp)
    except ValueError:
        return float("inf")
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return (datetime.now(UTC) - then).total_seconds()


def _without_token(approval: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in approval.items() if k != "token"}


@dataclass
class Processing:
    documents: DocumentStore
    objects: S3Objects
    events: DocumentEvents
    # The image, CSV and policy code is imported by the tasks that use it (extract,
    # transform, check_policy), not here: every task function loads this module at init.
    config: ProcessingSettings
    actor: str = "processing"

    # -- helpers ---------------------------------------------------------------------------

    def _document(self, document_id: str) -> Document:
        document = self.documents.get(document_id)
        if document is None:
            raise errors.PermanentError(f"document_missing: no record for {document_id}")
        return document

    def _working(self, document_id: str) -> Document:
        """The document, moved to `processing` if nobody else will.

        Intake starts the execution, then moves the document from accepted to processing
        with a conditional write; taking it first would fail that write and make intake
        retry. So a document accepted moments ago is left to intake (a TransientError: the
        task retries), while one accepted long ago (intake died after starting, and the
        sweep re-drove it) is taken here.
        """
        document = self._document(document_id)
        if document.status is Status.ACCEPTED and _age_seconds(document.updated_at) < (
            HANDOVER_SECONDS
        ):
            raise errors.TransientError(
                f"handover: document {document_id} was accepted moments ago; "
                "intake moves it to processing"
            )
        if document.status is Status.ACCEPTED:
            try:
                return self.documents.transition(document, Status.PROCESSING, self.actor)
            except errors.ConflictError:
                document = self._document(document_id)  # intake moved it meanwhile
        if document.status is not Status.PROCESSING:
            raise errors.ConflictError(
                f"not_processing: document {document_id} is {document.status}, not processing"
            )
        return document

    def _discard_if_abandoned(self, document_id: str) -> bool:
        """Remove what a transform just wrote if the workflow gave the document up meanwhile.

        A Map iteration still running when another fails can write after compensation
        started. Compensation (and Reject) mark the document before they delete, so either
        their delete sees this write, or this check sees the status. A rejected document is
        no error of this task (True: the output is discarded, the Map already ended).
        """
        document = self._document(document_id)
        if document.status in {Status.FAILED, Status.REJECTED}:
            self.objects.delete_prefix(self.config.documents_bucket, output_prefix(document_id))
            if document.status is Status.REJECTED:
                log.info("output_discarded", document_id=document_id, status=str(document.status))
                return True
            raise errors.ConflictError(
                f"abandoned: document {document_id} is {document.status}; output discarded"
            )
        return False

    # -- tasks -----------------------------------------------------------------------------

    def extract(self, source: ProcessingInput) -> dict[str, Any]:
        """Metadata from the source, and the transform jobs its type needs.

        A file refused from its header (a bomb, missing columns) returns its `rejection` and
        no jobs; the state machine sends the document to Reject.
        """
        self._working(source.document_id)
        kind = source.kind
        facts: dict[str, Any] = {"content_type": source.content_type, "size": source.size}
        try:
            facts.update(self._facts(source))
        except errors.RejectedError as exc:
            log.info("file_refused", document_id=source.document_id, step="extract", code=exc.code)
            return {"kind": str(kind), "jobs": [], "facts": facts, "rejection": rejection(exc)}
        jobs = [job.value for job in JOBS[kind]]
        log.info("metadata_extracted", document_id=source.document_id, kind=str(kind), jobs=jobs)
        return {"kind": str(kind), "jobs": jobs, "facts": facts}

    def _facts(self, source: ProcessingInput) -> dict[str, Any]:
        if source.kind is Kind.IMAGE:
            from docflow.processing import images

            data = self.objects.read(source.bucket, source.key, source.version_id)
            return images.inspect_image(data, self.config.image_limits()).to_dict()
        if source.kind is Kind.CSV:
            from docflow.processing import tables

            header = tables.read_header(
                self.objects.chunks(
                    source.bucket, source.key, source.version_id, tables.HEADER_SAMPLE_BYTES
                ),
                self.config.csv_schema(),
            )
            return {"delimiter": header.delimiter, "columns": list(header.columns)}
        return {}

    def transform(self, source: ProcessingInput, job: Job) -> dict[str, Any]:
        """One job's output; a file refused while decoding returns its `rejection` instead."""
        try:
            return self._transform(source, job)
        except errors.RejectedError as exc:
            log.info(
                "file_refused",
                document_id=source.document_id,
                step="transform",
                job=job.value,
                code=exc.code,
            )
            return {"job": job.value, "rejection": rejection(exc)}

    def _transform(self, source: ProcessingInput, job: Job) -> dict[str, Any]:
        if job is Job.RECORDS:
            return self._records(source)
        from docflow.processing import images

        data = self.objects.read(source.bucket, source.key, source.version_id)
        rendition = images.render(data, job.value, self.config.image_limits())
        key = output_key(source.document_id, f"{job.value}.{rendition.extension}")
        self.objects.put(self.config.documents_bucket, key, rendition.data, rendition.content_type)
        if self._discard_if_abandoned(source.document_id):
            return {"job": job.value, "discarded": True}
        log.info(
            "image_rendered",
            document_id=source.document_id,
            job=job.value,
            bytes=len(rendition.data),
        )
        return {
            "job": job.value,
            "key": key,
            "content_type": rendition.content_type,
            "bytes": len(rendition.data),
            "width": rendition.width,
            "height": rendition.height,
        }

    def _records(self, source: ProcessingInput) -> dict[str, Any]:
        from docflow.processing import tables

        # Spooled to /tmp beyond a few MB: a million rows never sit in memory, and nothing is
        # uploaded until the whole file validated, so a failure leaves no partial output.
        with (
            tempfile.SpooledTemporaryFile(SPOOL_BYTES) as records_file,
            tempfile.SpooledTemporaryFile(SPOOL_BYTES) as errors_file,
        ):
            summary = tables.normalise_csv(
                self.objects.chunks(source.bucket, source.key, source.version_id),
                self.config.csv_schema(),
                lambda line: records_file.write(line.encode("utf-8")),
                lambda line: errors_file.write(line.encode("utf-8")),
            )
            records_key = output_key(source.document_id, "records.jsonl")
            errors_key = output_key(source.document_id, "errors.jsonl")
            self.objects.upload(
                self.config.documents_bucket, records_key, records_file, "application/x-ndjson"
            )
            self.objects.upload(
                self.config.documents_bucket, errors_key, errors_file, "application/x-ndjson"
            )
        if self._discard_if_abandoned(source.document_id):
            return {"job": Job.RECORDS.value, "discarded": True}
        log.info(
            "csv_normalised",
            document_id=source.document_id,
            rows=summary.rows,
            valid_rows=summary.valid_rows,
            error_rows=summary.error_rows,
        )
        return {
            "job": Job.RECORDS.value,
            "key": records_key,
            "errors_key": errors_key,
            **summary.to_dict(),
        }

    def check_policy(self, source: ProcessingInput, outputs: list[Any]) -> dict[str, Any]:
        from docflow.processing.policy import PolicyFacts, evaluate

        document = self._document(source.document_id)
        total: Decimal | None = None
        for output in outputs:
            if isinstance(output, dict) and output.get("total_amount") is not None:
                total = Decimal(str(output["total_amount"]))
        decision = evaluate(
            self.config.policy_rules(), PolicyFacts(document.owner, source.kind, source.size, total)
        )
        log.info(
            "policy_checked",
            document_id=source.document_id,
            approval_required=decision.approval_required,
            reasons=list(decision.reasons),
        )
        return decision.to_dict()

    def request_approval(self, document_id: str, token: str, reasons: list[str]) -> dict[str, Any]:
        """Record the task token on the document and tell the approver a decision is due."""
        if not token:
            raise errors.InvalidInputError("request_approval needs the task token")
        document = self._document(document_id)
        listed = [short_reason(str(r)) for r in reasons]
        approval: dict[str, Any] = {
            "token": token,
            "reasons": listed,
            "requested_at": now_iso(),
            "timeout_seconds": self.config.approval_timeout_seconds,
        }
        if document.status is Status.PROCESSING:
            document = self.documents.transition(
                document,
                Status.AWAITING_APPROVAL,
                self.actor,
                reason=short_reason("; ".join(listed)) or None,
                fields={"approval": approval},
            )
        elif document.status is Status.AWAITING_APPROVAL:
            self.documents.replace_approval(document_id, approval)  # a retried request
        else:
            raise errors.ConflictError(
                f"not_processing: document {document_id} is {document.status}; "
                "it cannot wait for approval"
            )
        self.events.publish(
            EventType.APPROVAL_REQUESTED,
            document_id,
            {
                "owner": document.owner,
                "filename": document.filename,
                "status": str(Status.AWAITING_APPROVAL),
                "reasons": approval["reasons"],
                "timeout_seconds": self.config.approval_timeout_seconds,
            },
        )
        return {"requested_at": approval["requested_at"]}

    def finalize(self, state: dict[str, Any]) -> dict[str, Any]:
        """Store the results (manifest under processed/, the record), publish processed."""
        source = ProcessingInput.from_state(state)
        document = self._document(source.document_id)
        metadata = state.get("metadata") or {}
        outputs = [o for o in state.get("outputs") or [] if isinstance(o, dict)]
        results: dict[str, Any] = {
            "kind": metadata.get("kind", str(source.kind)),
            "facts": metadata.get("facts", {}),
            "outputs": {str(o.get("job")): o for o in outputs},
            "manifest": output_key(source.document_id, "manifest.json"),
        }
        if state.get("policy"):
            results["policy"] = state["policy"]
        approval = state.get("approval")
        if isinstance(approval, dict) and approval.get("decision"):
            results["approval"] = _without_token(approval)
        self.objects.put(
            self.config.documents_bucket,
            results["manifest"],
            json.dumps({"document_id": source.document_id, **results}, default=str).encode(),
            "application/json",
        )
        if document.status in {Status.PROCESSING, Status.AWAITING_APPROVAL}:
            document = self.documents.transition(
                document, Status.PROCESSED, self.actor, fields={"results": results}
            )
        elif document.status is not Status.PROCESSED:
            raise errors.ConflictError(
                f"not_processing: document {source.document_id} is {document.status}"
            )
        self.events.publish(
            EventType.PROCESSED,
            source.document_id,
            {
                "owner": document.owner,
                "filename": document.filename,
                "status": str(Status.PROCESSED),
                "results": results,
            },
        )
        return {"status": str(Status.PROCESSED), "manifest": results["manifest"]}

    def reject(self, state: dict[str, Any]) -> dict[str, Any]:
        """A file refused as sent, the approver's no, or no decision in time: mark rejected.

        Rejected first, then the outputs removed: a transform still writing sees the status
        and discards its own output (see _discard_if_abandoned).
        """
        document_id = ProcessingInput.from_state(state).document_id
        approval = state.get("approval") if isinstance(state.get("approval"), dict) else None
        error = state.get("error")
        refused = rejection_reason(state)
        if refused is not None:
            reason, outcome = refused, "refused"
        elif approval and approval.get("decision") == "rejected":
            comment = approval.get("comment") or "no comment"
            reason = f"rejected_by_approver: {approval.get('decided_by', 'approver')}: {comment}"
            outcome = "rejected"
        elif isinstance(error, dict) and error.get("Error") == "States.Timeout":
            reason = (
                "approval_expired: no decision within "
                f"{self.config.approval_timeout_seconds} seconds"
            )
            outcome = "expired"
        else:
            reason, outcome = failure_reason(error), "rejected"
        reason = short_reason(reason)
        document = self._document(document_id)
        if document.status not in FINAL_STATUSES:
            fields = {}
            if outcome != "refused":
                fields["approval"] = {
                    **_without_token(self.documents.approval(document_id)),
                    "outcome": outcome,
                }
            document = self.documents.transition(
                document, Status.REJECTED, self.actor, reason=reason, fields=fields
            )
        elif document.status is not Status.REJECTED:
            raise errors.ConflictError(
                f"already_final: document {document_id} is {document.status}, cannot reject it"
            )
        removed = self.objects.delete_prefix(
            self.config.documents_bucket, output_prefix(document_id)
        )
        recorded = document.reason or reason
        self.events.publish(
            EventType.REJECTED,
            document_id,
            {
                "owner": document.owner,
                "filename": document.filename,
                "status": str(Status.REJECTED),
                "reason": recorded,
                "reason_code": recorded.split(":", 1)[0],
            },
        )
        log.info(
            "document_rejected",
            document_id=document_id,
            outcome=outcome,
            reason_code=recorded.split(":", 1)[0],
            removed_outputs=removed,
        )
        return {"status": str(Status.REJECTED), "reason": recorded}

    def compensate(self, state: dict[str, Any]) -> dict[str, Any]:
        """The saga's undo: remove partial outputs, mark the document failed, publish failed."""
        document_id = ProcessingInput.from_state(state).document_id
        reason = failure_reason(state.get("error"))
        document = self.documents.get(document_id)
        if document is not None and document.status in {Status.PROCESSED, Status.REJECTED}:
            # Its outcome is already recorded and published; its outputs are not partial.
            log.warning(
                "compensation_skipped",
                document_id=document_id,
                status=str(document.status),
                reason=reason,
            )
            return {"status": str(document.status), "compensated": False}
        owner = None
        if document is not None:
            owner = document.owner
            # Failed first, then delete: a transform still writing sees the status and
            # discards its own output (see _discard_if_abandoned).
            if document.status not in FINAL_STATUSES:
                fields = {}
                approval = self.documents.approval(document_id)
                if approval:
                    fields["approval"] = _without_token(approval)
                document = self.documents.transition(
                    document, Status.FAILED, self.actor, reason=reason, fields=fields
                )
            reason = document.reason or reason
        removed = self.objects.delete_prefix(
            self.config.documents_bucket, output_prefix(document_id)
        )
        self.events.publish(
            EventType.FAILED,
            document_id,
            {
                "owner": owner,
                "status": str(Status.FAILED),
                "reason": reason,
                "reason_code": reason.split(":", 1)[0],
                "removed_outputs": removed,
            },
        )
        error = state.get("error")
        log.warning(
            "document_failed",
            document_id=document_id,
            reason=reason,
            error=error.get("Error") if isinstance(error, dict) else None,
            removed_outputs=removed,
        )
        return {
            "status": str(Status.FAILED),
            "reason": reason,
            "removed_outputs": removed,
            "compensated": True,
        }
