"""The sweep (stuck documents re-driven or failed) and the digest (a day in numbers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from docflow.documents.events import EventType
from docflow.documents.model import Document, Status
from docflow.schedules.model import Digest, SweepRule, iso, sweep_action
from shared import errors
from shared.logging import get_logger

if TYPE_CHECKING:
    from docflow.documents.events import DocumentEvents
    from docflow.documents.index import StatusIndex
    from docflow.documents.store import DocumentStore
    from docflow.documents.workflow import Workflow
    from docflow.notify.model import Email

log = get_logger(__name__)


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


@dataclass
class SweepReport:
    redriven: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    moved_on: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SweepPolicy:
    rules: list[SweepRule]
    max_attempts: int
    batch_limit: int
    documents_bucket: str


class Sweeper:
    ACTOR = "sweep"

    def __init__(
        self,
        index: StatusIndex,
        documents: DocumentStore,
        executions: Workflow,
        events: DocumentEvents,
        policy: SweepPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.index = index
        self.documents = documents
        self.executions = executions
        self.events = events
        self.policy = policy
        self._clock = clock

    def sweep(self) -> SweepReport:
        report = SweepReport()
        now = self._clock()
        for rule in self.policy.rules:
            cutoff = rule.cutoff(now)
            for entry in self.index.entries(
                str(rule.status), before=cutoff, limit=self.policy.batch_limit
            ):
                self._sweep_one(rule, entry.document_id, cutoff, now, report)
        return report

    def _sweep_one(
        self, rule: SweepRule, document_id: str, cutoff: str, now: datetime, report: SweepReport
    ) -> None:
        # The index is eventually consistent: confirm on the item before acting.
        document = self.documents.get(document_id)
        if document is None or document.status != rule.status or document.updated_at >= cutoff:
            report.moved_on.append(document_id)
            return
        attempts = self.documents.sweep_attempts(document_id)
        if sweep_action(rule, attempts, self.policy.max_attempts) == "redrive":
            self._redrive(document, attempts + 1, now, report)
        else:
            self._fail(document, rule, attempts, now, report)

    def _redrive(
        self, document: Document, attempt: int, now: datetime, report: SweepReport
    ) -> None:
        if not self.documents.claim_redrive(document, attempt, iso(now)):
            report.moved_on.append(document.document_id)
            return
        if document.execution_arn:
            self.executions.stop(document.execution_arn, "re-driven by the sweep")
        arn = self.executions.start(
            f"{document.document_id}-sweep-{attempt}",
            {
                "document_id": document.document_id,
                "bucket": self.policy.documents_bucket,
                "key": document.object_key,
                "version_id": document.object_version,
                "content_type": document.detected_type or document.declared_type,
                "size": document.size if document.size is not None else document.declared_size,
            },
        )
        self.documents.record_execution(document.document_id, arn)
        log.info("document_redriven", document_id=document.document_id, attempt=attempt)
        report.redriven.append(document.document_id)

    def _fail(
        self,
        document: Document,
        rule: SweepRule,
        attempts: int,
        now: datetime,
        report: SweepReport,
    ) -> None:
        reason = f"stuck: {rule.status} for over {rule.after_minutes} min" + (
            f" after {attempts} re-drives" if attempts else ""
        )
        try:
            self.documents.transition(document, Status.FAILED, self.ACTOR, reason=reason)
        except errors.ConflictError:
            report.moved_on.append(document.document_id)
            return
        if document.execution_arn:
            self.executions.stop(document.execution_arn, reason)
        # The event the processing workflow's compensation publishes (same event id).
        self.events.publish(
            EventType.FAILED, document.document_id, {"reason": reason}, occurred_at=iso(now)
        )
        log.warning("document_swept_failed", document_id=document.document_id, reason=reason)
        report.failed.append(document.document_id)


def build_digest(
    index: StatusIndex,
    stage: str,
    lookback_hours: int,
    now: datetime,
    listed: int = 20,
) -> Digest:
    since = iso(now - timedelta(hours=lookback_hours))
    failed = str(Status.FAILED)
    waiting = str(Status.AWAITING_APPROVAL)
    return Digest(
        stage=stage,
        generated_at=iso(now),
        lookback_hours=lookback_hours,
        counts={str(status): index.count(str(status)) for status in Status},
        recent_failures=index.entries(failed, since=since, limit=listed, newest_first=True),
        failures_total=index.count(failed, since=since),
        waiting=index.entries(waiting, limit=listed),
    )


def send_digest(digest: Digest, mailer: Mailer, recipients: tuple[str, ...]) -> list[str]:
    return [mailer.send(email) for email in digest.email("docflow", recipients)]
