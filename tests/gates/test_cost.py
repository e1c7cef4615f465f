"""The cost estimate in docs/operations.md comes from gates/cost.py's prices and usage."""

from __future__ import annotations

import pytest

from gates import cost
from gates.tools import ROOT


def test_the_documented_estimate_for_100000_documents() -> None:
    estimate = cost.estimate(100_000)

    assert round(estimate.total, 2) == 54.14
    assert round(estimate.lines["Step Functions"], 2) == 25.00
    docs = (ROOT / "docs" / "operations.md").read_text()
    assert "**~54**" in docs
    assert cost.PRICES_AS_OF in docs


def test_no_documents_costs_only_the_fixed_monitoring_and_polling() -> None:
    lines = cost.estimate(0).lines
    assert {k: round(v, 2) for k, v in lines.items() if v} == {"SQS": 0.40, "CloudWatch": 9.00}


def test_variable_cost_scales_linearly() -> None:
    fixed = cost.estimate(0).total
    assert cost.estimate(300_000).total - fixed == pytest.approx(
        3 * (cost.estimate(100_000).total - fixed)
    )


def test_a_negative_volume_is_refused() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        cost.estimate(-1)
