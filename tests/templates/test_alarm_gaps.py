"""Issue 12's alarm gaps, closed on every stage: the sync stream consumer's lag, the fan-out
queues' oldest message, and throttled or aborted executions of the state machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gates.template import props, resources
from tests.templates.conftest import STAGES, stage_settings

Load = Callable[[str], dict[str, Any]]


def _alarms_on(compiled: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    return {
        rid: props(a)
        for rid, a in resources(compiled, "AWS::CloudWatch::Alarm").items()
        if props(a).get("MetricName") == metric
    }


@pytest.mark.parametrize("stage", STAGES)
def test_the_sync_stream_consumer_alarms_when_it_falls_behind(load: Load, stage: str) -> None:
    alarms = _alarms_on(load(stage), "IteratorAge")
    assert {
        rid: (a["Namespace"], a["Dimensions"], a["Statistic"]) for rid, a in alarms.items()
    } == {
        "SyncLambdaFunctionIteratorAgeAlarm": (
            "AWS/Lambda",
            [{"Name": "FunctionName", "Value": {"Ref": "SyncLambdaFunction"}}],
            "Maximum",
        )
    }
    threshold = stage_settings(stage)["monitoring"]["iteratorAgeMs"]
    assert alarms["SyncLambdaFunctionIteratorAgeAlarm"]["Threshold"] == threshold


@pytest.mark.parametrize("stage", STAGES)
def test_the_fan_out_queues_alarm_on_their_oldest_message(load: Load, stage: str) -> None:
    alarms = _alarms_on(load(stage), "ApproximateAgeOfOldestMessage")
    threshold = stage_settings(stage)["monitoring"]["oldestMessageSeconds"]
    assert {rid: (a["Dimensions"], a["Threshold"]) for rid, a in alarms.items()} == {
        f"{queue}OldestMessageAlarm": (
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
            threshold,
        )
        for queue in ("NotifyQueue", "WebhooksQueue")
    }
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


@pytest.mark.parametrize("stage", STAGES)
def test_the_state_machine_alarms_on_throttled_and_aborted_executions(
    load: Load, stage: str
) -> None:
    compiled = load(stage)
    machines = sorted(resources(compiled, "AWS::StepFunctions::StateMachine"))
    assert machines == ["ProcessingStateMachine"]
    for metric in ("ExecutionsThrottled", "ExecutionsAborted"):
        alarms = _alarms_on(compiled, metric)
        assert [a["Dimensions"] for a in alarms.values()] == [
            [{"Name": "StateMachineArn", "Value": {"Ref": "ProcessingStateMachine"}}]
        ], metric
        assert [(a["Statistic"], a["Threshold"]) for a in alarms.values()] == [("Sum", 1)]
