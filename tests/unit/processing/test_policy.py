from __future__ import annotations

from decimal import Decimal

from docflow.processing.model import Kind
from docflow.processing.policy import PolicyDecision, PolicyFacts, PolicyRules, evaluate

RULES = PolicyRules(Decimal("10000"), 5_000_000, frozenset({"alice"}))


def test_a_small_csv_from_an_allowed_sender_passes() -> None:
    facts = PolicyFacts("alice", Kind.CSV, 100, Decimal("10000"))
    assert evaluate(RULES, facts) == PolicyDecision(False, ())


def test_a_csv_total_over_the_threshold_needs_approval() -> None:
    decision = evaluate(RULES, PolicyFacts("alice", Kind.CSV, 100, Decimal("10000.01")))
    assert decision.to_dict() == {
        "approval_required": True,
        "reasons": ["amount_over_threshold: total 10000.01 exceeds 10000"],
    }


def test_a_large_image_needs_approval_but_a_large_csv_does_not_for_size() -> None:
    assert evaluate(RULES, PolicyFacts("alice", Kind.IMAGE, 5_000_001)).reasons == (
        "image_over_size: 5000001 bytes exceeds 5000000",
    )
    assert evaluate(RULES, PolicyFacts("alice", Kind.CSV, 50_000_000, Decimal(1))).reasons == ()


def test_an_unknown_sender_needs_approval_and_reasons_accumulate() -> None:
    decision = evaluate(RULES, PolicyFacts("mallory", Kind.CSV, 1, Decimal("20000")))
    assert decision.reasons == (
        "amount_over_threshold: total 20000 exceeds 10000",
        "sender_not_allowed: mallory is not on the sender allow list",
    )


def test_a_wildcard_allow_list_trusts_every_sender() -> None:
    rules = PolicyRules(Decimal("10000"), 5_000_000, frozenset({"*"}))
    assert not evaluate(rules, PolicyFacts("mallory", Kind.OTHER, 1)).approval_required
