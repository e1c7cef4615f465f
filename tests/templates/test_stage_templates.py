"""Every stage's compiled template: packaged, linted, scanned, monitored, budgeted, retained."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gates import bootstrap, iam_reference, tools
from gates.__main__ import template_findings
from gates.template import dead_letter_queue_ids, props, resources, target_id
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
        # The DynamoDB stream's consumer also alarms on its lag (tests/templates/test_alarm_gaps).
        lag = {"IteratorAge"} if rid == "SyncLambdaFunction" else set()
        assert set(on_function) == {"Errors", "Throttles", "Duration"} | lag, rid
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


@pytest.mark.parametrize("stage", STAGES)
def test_the_http_api_stage_is_throttled_as_the_stage_config_says(load: Load, stage: str) -> None:
    throttle = stage_settings(stage)["api"]["throttle"]
    stages = resources(load(stage), "AWS::ApiGatewayV2::Stage")
    assert list(stages) == ["HttpApiStage"]
    settings = props(stages["HttpApiStage"])["DefaultRouteSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (
        throttle["rateLimit"],
        throttle["burstLimit"],
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_is_bounded_by_reserved_or_event_source_concurrency(
    load: Load, stage: str
) -> None:
    compiled = load(stage)
    fanout = stage_settings(stage)["fanout"]
    capped = {
        target_id(props(m)["FunctionName"]): props(m).get("ScalingConfig", {})
        for m in resources(compiled, "AWS::Lambda::EventSourceMapping").values()
        if "ScalingConfig" in props(m)
    }
    assert capped == {
        "NotifyLambdaFunction": {"MaximumConcurrency": fanout["notify"]["maximumConcurrency"]},
        "WebhooksLambdaFunction": {"MaximumConcurrency": fanout["webhooks"]["maximumConcurrency"]},
    }
    for rid, function in resources(compiled, "AWS::Lambda::Function").items():
        reserved = props(function).get("ReservedConcurrentExecutions")
        assert reserved is not None or rid in capped, rid


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


# --- IAM: one role per function, each granting what its code and its triggers need ---------


def _statements(compiled: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    policies = props(compiled["Resources"][role_id])["Policies"]
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


def _function_roles(compiled: dict[str, Any]) -> dict[str, str]:
    """Function logical id -> the logical id of the role it runs with."""
    functions = resources(compiled, "AWS::Lambda::Function")
    return {rid: str(target_id(props(f)["Role"])) for rid, f in functions.items()}


XRAY_WRITES = {
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_runs_with_its_own_role_and_the_shared_role_is_gone(
    load: Load, stage: str
) -> None:
    compiled = load(stage)
    roles = _function_roles(compiled)

    assert len(roles) == 15
    assert len(set(roles.values())) == len(roles)
    assert "IamRoleLambdaExecution" not in compiled["Resources"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_traced_function_may_write_its_traces(load: Load, stage: str) -> None:
    """Lambda refuses to create a function with active tracing whose role lacks these."""
    compiled = load(stage)
    traced = bool(stage_settings(stage)["tracing"])
    expected = ("Active", True) if traced else (None, False)

    seen = {
        rid: (
            props(compiled["Resources"][rid]).get("TracingConfig", {}).get("Mode"),
            XRAY_WRITES in _statements(compiled, role),
        )
        for rid, role in _function_roles(compiled).items()
    }

    assert seen == dict.fromkeys(seen, expected)


@pytest.mark.parametrize("stage", STAGES)
def test_the_decision_endpoint_may_record_the_decision_and_resume_the_workflow(
    load: Load, stage: str
) -> None:
    statements = _statements(load(stage), "ApiIamRoleLambdaExecution")

    assert {
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": {"Fn::GetAtt": ["DocumentsTable", "Arn"]},
    } in statements
    # A task-token action has no resource type: only "*" matches it.
    assert {"Effect": "Allow", "Action": ["states:SendTaskSuccess"], "Resource": "*"} in statements


@pytest.mark.parametrize("stage", STAGES)
def test_stream_listing_is_granted_on_star_only_to_the_stream_consumers(
    load: Load, stage: str
) -> None:
    compiled = load(stage)
    listing = {
        role: [(a, s["Resource"]) for s in _statements(compiled, role) for a in s["Action"]]
        for role in resources(compiled, "AWS::IAM::Role")
        if "Policies" in props(compiled["Resources"][role])
    }
    granted = {
        role: [(a, r) for a, r in pairs if a.endswith(":ListStreams")]
        for role, pairs in listing.items()
    }

    assert {role: pairs for role, pairs in granted.items() if pairs} == {
        "SyncIamRoleLambdaExecution": [("dynamodb:ListStreams", "*")],
        "AnalyticsIamRoleLambdaExecution": [("kinesis:ListStreams", "*")],
    }


@pytest.mark.parametrize("function", ["ProcessTransform", "ProcessReject", "ProcessCompensate"])
def test_output_removal_grants_exactly_what_deleting_every_version_calls(
    function: str, load: Load
) -> None:
    """Objects.delete_prefix: ListObjectVersions, then DeleteObjects with version ids."""
    s3 = [
        s
        for s in _statements(load("dev"), f"{function}IamRoleLambdaExecution")
        if any(a.startswith("s3:") for a in s["Action"])
    ]
    bucket_level = [s for s in s3 if "/" not in str(s["Resource"]).split(":::")[-1]]

    assert [s["Action"] for s in bucket_level] == [["s3:ListBucketVersions"]]
    assert bucket_level[0]["Condition"] == {"StringLike": {"s3:prefix": ["processed/*"]}}
    assert ["s3:DeleteObject", "s3:DeleteObjectVersion"] in [s["Action"] for s in s3]


@pytest.mark.parametrize("stage", STAGES)
def test_static_iam_check_finds_nothing_beyond_the_reasoned_suppressions(
    load: Load, stage: str
) -> None:
    assert [str(f) for f in iam_reference.check(load(stage))] == []


def test_every_static_iam_suppression_is_still_needed(load: Load) -> None:
    found = [p for stage in STAGES for p in iam_reference.problems(load(stage))]
    # The bootstrap stack's policies are checked with the same suppressions (gates/bootstrap.py).
    found += iam_reference.problems(bootstrap.with_parameters(bootstrap.load()))
    unused = [s for s in iam_reference.load_suppressions() if not any(s.matches(p) for p in found)]
    assert unused == []
