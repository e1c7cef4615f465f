"""Which processed documents need a human decision before they are published.

Rules come from the stage config: a CSV whose total amount exceeds the threshold, an image
larger than the size limit, and any document whose owner (the sender) is not on the allow
list (`*` on the list allows every sender).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from docflow.processing.model import Kind


@dataclass(frozen=True)
class PolicyRules:
    amount_threshold: Decimal
    image_max_bytes: int
    sender_allow_list: frozenset[str]


@dataclass(frozen=True)
class PolicyFacts:
    owner: str
    kind: Kind
    size: int
    total_amount: Decimal | None = None


@dataclass(frozen=True)
class PolicyDecision:
    approval_required: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"approval_required": self.approval_required, "reasons": list(self.reasons)}


def evaluate(rules: PolicyRules, facts: PolicyFacts) -> PolicyDecision:
    reasons: list[str] = []
    if (
        facts.kind is Kind.CSV
        and facts.total_amount is not None
        and facts.total_amount > rules.amount_threshold
    ):
        reasons.append(
            f"amount_over_threshold: total {facts.total_amount} exceeds {rules.amount_threshold}"
        )
    if facts.kind is Kind.IMAGE and facts.size > rules.image_max_bytes:
        reasons.append(f"image_over_size: {facts.size} bytes exceeds {rules.image_max_bytes}")
    if "*" not in rules.sender_allow_list and facts.owner not in rules.sender_allow_list:
        reasons.append(f"sender_not_allowed: {facts.owner} is not on the sender allow list")
    return PolicyDecision(bool(reasons), tuple(reasons))
