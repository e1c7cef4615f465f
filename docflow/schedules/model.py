"""Sweep rules, the digest's content, and the time arithmetic both share.

A sweep rule reads `status:minutes:action`: a document in `status` whose last change is older
than `minutes` is re-driven (a new execution of the processing workflow) or failed. A
re-drive is bounded: after `max_attempts` re-drives the next sweep fails the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from docflow.documents.index import IndexEntry
from docflow.documents.model import FINAL_STATUSES, Status

if TYPE_CHECKING:
    from docflow.notify.model import Email

Action = Literal["redrive", "fail"]
_ACTIONS: frozenset[str] = frozenset({"redrive", "fail"})
# A re-drive starts the workflow from the upload again; that only makes sense before it ran.
REDRIVABLE = frozenset({Status.ACCEPTED, Status.PROCESSING})


@dataclass(frozen=True)
class SweepRule:
    status: Status
    after_minutes: int
    action: Action

    def cutoff(self, now: datetime) -> str:
        return iso(now - timedelta(minutes=self.after_minutes))


def iso(moment: datetime) -> str:
    """The documents' timestamp format (`now_iso`), so strings compare in time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rules(raw: tuple[str, ...]) -> list[SweepRule]:
    rules = []
    for text in raw:
        try:
            status_text, minutes_text, action = text.split(":")
            status, minutes = Status(status_text), int(minutes_text)
        except ValueError as exc:
            raise ValueError(f"sweep rule {text!r} is not status:minutes:action") from exc
        if action not in _ACTIONS or minutes <= 0 or status in FINAL_STATUSES:
            raise ValueError(
                f"sweep rule {text!r}: action must be redrive or fail, minutes positive, "
                "status not final"
            )
        if action == "redrive" and status not in REDRIVABLE:
            raise ValueError(f"sweep rule {text!r}: only {sorted(REDRIVABLE)} can be re-driven")
        rules.append(SweepRule(status, minutes, "redrive" if action == "redrive" else "fail"))
    return rules


def sweep_action(rule: SweepRule, attempts: int, max_attempts: int) -> Action:
    return "redrive" if rule.action == "redrive" and attempts < max_attempts else "fail"


@dataclass(frozen=True)
class Digest:
    stage: str
    generated_at: str
    lookback_hours: int
    counts: dict[str, int]
    recent_failures: list[IndexEntry] = field(default_factory=list)
    failures_total: int = 0
    waiting: list[IndexEntry] = field(default_factory=list)

    def email(self, sender_label: str, recipients: tuple[str, ...]) -> list[Email]:
        # Imported here: the sweep shares this module and never sends an e-mail.
        from docflow.notify.model import Email

        lines = [
            f"docflow {self.stage} digest, {self.generated_at}",
            "",
            "Documents by status:",
            *(f"  {status:<18} {count:>8}" for status, count in self.counts.items()),
            "",
            f"Failures in the last {self.lookback_hours} h: {self.failures_total}",
            *(
                f"  {e.document_id}  {e.owner}  {e.filename}  {e.reason or 'no reason'}"
                for e in self.recent_failures
            ),
            "",
            f"Approvals waiting: {self.counts.get(str(Status.AWAITING_APPROVAL), 0)}",
            *(
                f"  {e.document_id}  {e.owner}  {e.filename}  since {e.updated_at}"
                for e in self.waiting
            ),
            "",
            f"-- {sender_label}",
        ]
        subject = (
            f"docflow {self.stage} digest: {self.failures_total} failed, "
            f"{self.counts.get(str(Status.AWAITING_APPROVAL), 0)} awaiting approval"
        )
        body = "\n".join(lines) + "\n"
        return [Email(to=recipient, subject=subject, body=body) for recipient in recipients]
