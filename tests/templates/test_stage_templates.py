"""Every stage's compiled template: packaged, linted, scanned, monitored, budgeted, retained."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gates import tools
from gates.__main__ import template_findings
from gates.template import dead_letter_queue_ids, props, resources
from tests.templates.conftest import STAGES, Compiled, stage_settings

Load = Callable[[str], dict[str, Any]]


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_reports_no_error_or_warning(compiled: Compiled, stage: str) -> None:
    ok, output = tools.cfn_lint(compiled(stage))
    assert ok, output


@pytest.mark.parametrize("stage", STAGES)
def test_checkov_fails_no_check_beyond_the_reasoned_skips(compiled: Compiled, stage: str) -> None:
    ok, output = tools.checkov(compiled(stage))
    assert ok, output
    assert "Failed checks: 0" in output


@pytest.mark.parametrize("stage", STAGES)
def test_iam_secret_dead_letter_retention_and_alarm_gates_pass(load: Load, stage: str) -> None:
    assert [str(f) for f in template_findings(stage, load(stage))] == []


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_alarms_on_errors_throttles_and_duration_near_its_timeout(
    load: Load, stage: str
) -> None:
    compiled = load(stage)
    percent = stage_settings(stage)["monitoring"]["durationPercentOfTimeout"]
    alarms = resources(compiled, "AWS::CloudWatch::Alarm")
    functions = resources(compiled, "AWS::Lambda::Function")
    assert functions

    for rid, function in functions.items():
        on_function = {
            props(a)["MetricName"]: props(a)
            for a in alarms.values()
            if props(a).get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": rid}}]
        }
        assert set(on_function) == {"Errors", "Throttles", "Duration"}, rid
        timeout_ms = props(function)["Timeout"] * 1000
        assert on_function["Duration"]["Threshold"] == round(timeout_ms * percent / 100)
        assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in on_function.values())


@pytest.mark.parametrize("stage", STAGES)
def test_dead_letter_queues_and_the_api_have_alarms(load: Load, stage: str) -> None:
    compiled = load(stage)
    alarms = resources(compiled, "AWS::CloudWatch::Alarm")
    dlqs = dead_letter_queue_ids(compiled)
    assert "IntakeDeadLetterQueue" in dlqs
    for queue in dlqs:
        assert f"{queue}DepthAlarm" in alarms
    assert "HttpApi5xxRateAlarm" in alarms
    assert resources(compiled, "AWS::CloudWatch::Dashboard")


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_topic_subscribers_are_the_stage_recipients(load: Load, stage: str) -> None:
    subscriptions = resources(load(stage), "AWS::SNS::Subscription")
    emails = sorted(
        props(s)["Endpoint"]
        for s in subscriptions.values()
        if props(s)["Protocol"] == "email" and props(s)["TopicArn"] == {"Ref": "AlarmTopic"}
    )
    assert emails == sorted(stage_settings(stage)["monitoring"]["alarmEmails"])


@pytest.mark.parametrize("stage", STAGES)
def test_a_monthly_budget_notifies_at_80_and_100_percent(load: Load, stage: str) -> None:
    budget = props(load(stage)["Resources"]["MonthlyBudget"])

    assert budget["Budget"]["BudgetLimit"] == {
        "Amount": stage_settings(stage)["budget"]["monthlyUsd"],
        "Unit": "USD",
    }
    assert budget["Budget"]["TimeUnit"] == "MONTHLY"
    assert budget["Budget"]["CostFilters"] == {
        "TagKeyValue": [{"Fn::Join": ["$", ["user:stage", stage]]}]
    }
    actual = sorted(
        n["Notification"]["Threshold"]
        for n in budget["NotificationsWithSubscribers"]
        if n["Notification"]["NotificationType"] == "ACTUAL"
    )
    assert actual == [80, 100]


@pytest.mark.parametrize("stage", STAGES)
def test_reserved_concurrency_comes_from_the_stage_config(load: Load, stage: str) -> None:
    functions = load(stage)["Resources"]
    for name, reserved in stage_settings(stage)["reservedConcurrency"].items():
        function = props(functions[f"{name[0].upper()}{name[1:]}LambdaFunction"])
        assert function.get("ReservedConcurrentExecutions") == reserved, name


def test_prod_retains_documents_with_recovery_and_protection(load: Load) -> None:
    compiled = load("prod")["Resources"]
    table, bucket = compiled["DocumentsTable"], compiled["DocumentsBucket"]

    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props(table)["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props(table)["DeletionProtectionEnabled"] is True
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props(bucket)["VersioningConfiguration"] == {"Status": "Enabled"}


@pytest.mark.parametrize("stage", ["local", "dev"])
def test_dev_and_local_retain_nothing(load: Load, stage: str) -> None:
    compiled = load(stage)
    for rid, store in resources(compiled, "AWS::DynamoDB::Table", "AWS::S3::Bucket").items():
        assert store.get("DeletionPolicy", "Delete") != "Retain", rid
        assert props(store).get("DeletionProtectionEnabled") in (None, False), rid
    documents = props(compiled["Resources"]["DocumentsTable"])
    assert documents["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}


@pytest.mark.parametrize("stage", STAGES)
def test_log_groups_keep_logs_for_the_stage_retention(load: Load, stage: str) -> None:
    days = stage_settings(stage)["logRetentionDays"]
    groups = resources(load(stage), "AWS::Logs::LogGroup")
    assert groups
    assert {rid: props(g).get("RetentionInDays") for rid, g in groups.items()} == dict.fromkeys(
        groups, days
    )
