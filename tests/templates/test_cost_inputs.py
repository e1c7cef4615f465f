"""What gates/cost.py assumes about the stacks matches the compiled templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gates import cost
from gates.template import props, resources
from tests.templates.conftest import stage_settings

Load = Callable[[str], dict[str, Any]]


def test_the_estimate_counts_every_alarm_metric_prod_pays_for(load: Load) -> None:
    alarms = resources(load("prod"), "AWS::CloudWatch::Alarm").values()
    # CloudWatch bills an alarm per metric it evaluates: a metric-math alarm per MetricStat.
    billed = sum(
        len([m for m in props(a).get("Metrics", []) if "MetricStat" in m]) or 1 for a in alarms
    )
    assert cost.FIXED["cw_alarm_metric_month"] == billed


def test_the_estimate_reads_the_shards_and_cold_start_controls_from_the_stage(load: Load) -> None:
    compiled = load("prod")
    config = stage_settings("prod")
    (stream,) = resources(compiled, "AWS::Kinesis::Stream").values()
    usage = cost.stage_usage(config)

    assert usage["kinesis_shard_hour"] == props(stream)["ShardCount"] * cost.HOURS_PER_MONTH
    provisioned = [
        (props(alias)["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"], alias)
        for alias in resources(compiled, "AWS::Lambda::Alias").values()
        if "ProvisionedConcurrencyConfig" in props(alias)
    ]
    memory = {
        rid: props(fn)["MemorySize"]
        for rid, fn in resources(compiled, "AWS::Lambda::Function").items()
    }
    gb_seconds = sum(
        count * memory[props(alias)["FunctionName"]["Ref"]] / 1024 * cost.HOURS_PER_MONTH * 3600
        for count, alias in provisioned
    )
    assert provisioned
    assert usage["lambda_provisioned_gb_second"] == gb_seconds
