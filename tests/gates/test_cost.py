"""The cost estimate in docs/operations.md comes from gates/cost.py's prices and usage."""

from __future__ import annotations

import copy

import pytest

from gates import config as stage_config
from gates import cost
from gates.tools import ROOT

PROD = stage_config.load_stage("prod")


def test_the_documented_estimate_for_100000_documents() -> None:
    estimate = cost.estimate(100_000, PROD)

    assert round(estimate.total, 2) == 96.23
    assert round(estimate.lines["Step Functions"], 2) == 25.00
    assert round(estimate.lines["SES"], 2) == 11.00
    docs = (ROOT / "docs" / "operations.md").read_text()
    assert "**~96**" in docs
    assert cost.PRICES_AS_OF in docs


def test_no_documents_costs_only_what_runs_whatever_the_volume() -> None:
    lines = cost.estimate(0, PROD).lines
    assert {k: round(v, 2) for k, v in lines.items() if round(v, 2)} == {
        "SQS": 0.40,
        "CloudWatch": 9.40,
        "Kinesis": 21.90,  # 2 shards all month
        "Cold-start controls": 8.76,  # 2 api environments of 512 MB kept initialised
    }


def test_shards_and_cold_start_controls_come_from_the_stage_config() -> None:
    config = copy.deepcopy(PROD)
    config["analytics"]["shardCount"] = 4
    config["coldStart"] = {"intake": {"snapStart": True}}
    lines = cost.estimate(0, config).lines

    assert round(lines["Kinesis"], 2) == round(4 * 730 * 0.015, 2)
    # SnapStart's cache: intake's 1024 MB for the month; no provisioned environments.
    assert round(lines["Cold-start controls"], 2) == round(730 * 3600 * 0.0000015046, 2)
    config["coldStart"] = {}
    assert cost.estimate(0, config).lines["Cold-start controls"] == 0


def test_variable_cost_scales_linearly() -> None:
    fixed = cost.estimate(0, PROD).total
    assert cost.estimate(300_000, PROD).total - fixed == pytest.approx(
        3 * (cost.estimate(100_000, PROD).total - fixed)
    )


def test_a_negative_volume_is_refused() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        cost.estimate(-1, PROD)
