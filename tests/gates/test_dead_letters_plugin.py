"""Deliveries that fail before any function runs keep what failed (issue 11): the stage-controls
plugin's scheduled-rule dead letters and the alarm topic's subscription dead-letter queue, run
in node on synthetic input, and cfn-lint-serverless's skips, each with its reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gates import config as stage_config
from gates import tools
from tests.gates.node import monitoring_resources, node
from tests.resources import event_invoke_config, on_failure, queue, subscription


def _schedule_dead_letters(resources: dict[str, Any]) -> Any:
    script = (
        "const {scheduleDeadLetters} = require('./plugins/stage-controls/lib/schedules');"
        "const resources = JSON.parse(process.argv[1]);"
        "try { const policies = scheduleDeadLetters(resources);"
        " console.log(JSON.stringify({resources, policies})); }"
        "catch (e) { console.log(JSON.stringify({error: e.message})); }"
    )
    return node(script, resources)


def _scheduled(*, destination: bool = True, policy: bool = False) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "SweepLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "SchedulesDeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "SweepEventsRuleSchedule1": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(5 minutes)",
                "Targets": [
                    {"Arn": {"Fn::GetAtt": ["SweepLambdaFunction", "Arn"]}, "Id": "sweepSchedule"}
                ],
            },
        },
    }
    if destination:
        resources["SweepLambdaEvConf"] = event_invoke_config(
            "SweepLambdaFunction", DestinationConfig=on_failure("SchedulesDeadLetterQueue")
        )
    if policy:
        resources["SchedulesPolicy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {"Queues": [{"Ref": "SchedulesDeadLetterQueue"}]},
        }
    return resources


def test_scheduled_rule_targets_dead_letter_into_the_functions_failure_queue() -> None:
    result = _schedule_dead_letters(_scheduled())

    (target,) = result["resources"]["SweepEventsRuleSchedule1"]["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["SchedulesDeadLetterQueue", "Arn"]}
    }
    assert result["policies"] == {
        "SchedulesDeadLetterQueueScheduleRulesPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "SchedulesDeadLetterQueue"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ScheduleRulesDeadLetters",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["SchedulesDeadLetterQueue", "Arn"]},
                            "Condition": {
                                "ArnEquals": {
                                    "aws:SourceArn": [
                                        {"Fn::GetAtt": ["SweepEventsRuleSchedule1", "Arn"]}
                                    ]
                                }
                            },
                        }
                    ],
                },
            },
        }
    }


def test_scheduled_function_without_a_failure_queue_stops_packaging_with_the_fix() -> None:
    result = _schedule_dead_letters(_scheduled(destination=False))

    assert "SweepEventsRuleSchedule1" in result["error"]
    assert "destinations.onFailure" in result["error"]


def test_a_failure_queue_that_already_has_a_policy_is_refused_not_overwritten() -> None:
    result = _schedule_dead_letters(_scheduled(policy=True))

    assert "already has an AWS::SQS::QueuePolicy" in result["error"]


def test_alarm_email_subscriptions_redrive_to_a_queue_only_the_alarm_topic_may_send_to() -> None:
    config = stage_config.load_stage("prod")
    topic = {"AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}}}
    generated = monitoring_resources(topic, config, "prod")

    subscriptions = [r for r in generated.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert len(subscriptions) == len(config["monitoring"]["alarmEmails"]) > 0
    for generated_subscription in subscriptions:
        assert generated_subscription["Properties"]["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": ["AlarmTopicDeadLetterQueue", "Arn"]}
        }
    queue = generated["AlarmTopicDeadLetterQueue"]["Properties"]
    assert queue["QueueName"] == "docflow-prod-alarm-delivery-dlq"
    (statement,) = generated["AlarmTopicDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "AlarmTopic"}}}
    assert "AlarmTopicDeadLetterQueueDepthAlarm" in generated


def test_no_alarm_emails_means_no_alarm_dead_letter_queue() -> None:
    config = stage_config.load_stage("prod")
    config["monitoring"]["alarmEmails"] = []
    topic = {"AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}}}
    generated = monitoring_resources(topic, config, "prod")

    assert "AlarmTopicDeadLetterQueue" not in generated


@pytest.mark.parametrize("rule", sorted(tools.serverless_skips()))
def test_every_serverless_rule_skip_has_a_reason(rule: str) -> None:
    reason = tools.serverless_skips()[rule]
    assert isinstance(reason, str), rule
    assert len(reason.split()) >= 15, rule


def test_the_serverless_rules_skip_exactly_the_reasoned_ids_and_keep_cfnlintrc() -> None:
    # ES7000 (SNS redrive) and ES4000 (EventBridge target DLQ) must never be skipped: the
    # template fixes them; nor ES2003 (API stage throttling): config api.throttle sets it.
    assert {"ES7000", "ES4000", "ES2003"}.isdisjoint(tools.serverless_skips())
    assert set(tools.serverless_skips()) == {"ES6000", "ES1001", "ES1007"}
    assert "W3005" in tools._cfnlintrc_ignores()


def _template(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Dead": queue("docflow-dev-x-dlq"),
            "Subscription": subscription("Topic", "email", "ops@example.com", **properties),
        },
    }


def test_the_gate_reports_a_subscription_without_redrive_and_passes_it_with_one(
    tmp_path: Path,
) -> None:
    bare, redriven = tmp_path / "bare.json", tmp_path / "redriven.json"
    bare.write_text(json.dumps(_template({})))
    redriven.write_text(
        json.dumps(
            _template({"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dead", "Arn"]}}})
        )
    )

    ok, output = tools.cfn_lint_serverless(bare)
    assert not ok
    assert "ES7000" in output
    assert tools.cfn_lint_serverless(redriven) == (True, "")
