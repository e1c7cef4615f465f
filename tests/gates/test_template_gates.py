"""Each template gate passes a clean template and fails a seeded violation, by name."""

from __future__ import annotations

from typing import Any

import pytest

from gates import dlq, iam, monitoring, retention, secrets
from gates.findings import Finding
from gates.template import dead_letter_queue_ids
from tests.resources import (
    arn_of,
    event_invoke_config,
    event_source_mapping,
    monthly_budget,
    on_failure,
    permission,
    queue,
    subscription,
)


def _role(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "FnRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [
                        {"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}
                    ]
                },
            }
        }
    }


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _gates(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.gate, f.where) for f in findings]


# --- IAM ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        _allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        _allow("dynamodb:GetItem", {"Fn::GetAtt": ["Table", "Arn"]}),
        _allow("s3:GetObject", {"Fn::Sub": "arn:${AWS::Partition}:s3:::bucket-${AWS::Region}/*"}),
        _allow(
            "logs:PutLogEvents",
            {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                "log-group:/aws/lambda/docflow-dev*:*:*"
            },
        ),
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"},
    ],
    ids=["xray-needs-star", "getatt", "objects-of-one-bucket", "stage-log-groups", "deny"],
)
def test_iam_gate_accepts_scoped_and_aws_required_wildcards(statement: dict[str, Any]) -> None:
    assert iam.check(_role(statement)) == []


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (_allow("dynamodb:GetItem", "*"), "wildcard resource '*' for dynamodb:GetItem"),
        (_allow(["xray:PutTraceSegments", "s3:GetObject"], "*"), "for s3:GetObject"),
        (_allow("s3:*", {"Fn::GetAtt": ["Bucket", "Arn"]}), "wildcard action 's3:*'"),
        (_allow("*", {"Fn::GetAtt": ["Bucket", "Arn"]}), "wildcard action '*'"),
        (
            _allow(
                "dynamodb:Query",
                {
                    "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
                    "table/*"
                },
            ),
            "wildcard resource",
        ),
        (_allow("s3:GetObject", "arn:aws:s3:::*"), "wildcard resource 'arn:aws:s3:::*'"),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"},
            "Allow with NotResource",
        ),
        (
            _allow("sqs:SendMessage", {"Ref": "Queue"}, Principal="*"),
            "Allow to every principal without a condition",
        ),
    ],
    ids=[
        "star",
        "mixed",
        "service-star",
        "action-star",
        "every-table",
        "every-bucket",
        "not-resource",
        "public-principal",
    ],
)
def test_iam_gate_fails_a_seeded_wildcard(statement: dict[str, Any], message: str) -> None:
    findings = iam.check(_role(statement))

    assert [f.where for f in findings] == ["FnRole policy p statement 0"]
    assert message in findings[0].message


def test_iam_gate_fails_an_administrator_managed_policy() -> None:
    template = _role(_allow("sqs:SendMessage", {"Ref": "Queue"}))
    template["Resources"]["FnRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/AdministratorAccess"
    ]
    assert len(iam.check(template)) == 2  # wildcard action and wildcard resource


# --- secrets -----------------------------------------------------------------------------


def _function(**variables: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "ApiLambdaFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Environment": {"Variables": variables}},
            }
        }
    }


def test_secret_gate_accepts_secret_names_and_references() -> None:
    template = _function(
        API_KEYS_SECRET="docflow/dev/api-keys",
        WEBHOOK_SIGNING_SECRET_ARN={"Ref": "WebhookSecret"},
        SMTP_PASSWORD_PARAMETER="/docflow/dev/smtp-password",
        ALLOWED_TYPES="image/png,image/jpeg,text/csv,application/pdf",
        LOG_LEVEL="INFO",
    )
    assert secrets.check(template) == []


@pytest.mark.parametrize(
    ("variables", "where", "message"),
    [
        ({"DB_PASSWORD": "hunter2"}, "DB_PASSWORD", "holds a literal value"),
        ({"API_TOKEN": "Zm9vYmFyYmF6cXV4"}, "API_TOKEN", "holds a literal value"),
        (
            {"UPSTREAM": "kQ8vT2xR9mZ4bN7cW1yH5gJ3fL6dS0aPqE"},
            "UPSTREAM",
            "looks like key material",
        ),
    ],
)
def test_secret_gate_fails_a_seeded_secret_in_the_environment(
    variables: dict[str, str], where: str, message: str
) -> None:
    findings = secrets.check(_function(**variables))

    assert [f.where for f in findings] == [f"ApiLambdaFunction environment {where}"]
    assert message in findings[0].message


def test_secret_gate_finds_known_credential_formats_anywhere() -> None:
    template = _function(LOG_LEVEL="INFO")
    template["Outputs"] = {"Leak": {"Value": "AKIA" + "ABCDEFGHIJKLMNOP"}}
    template["Resources"]["Key"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"SecretString": "-----BEGIN RSA PRIVATE KEY-----\nabc"},
    }

    findings = secrets.check(template)

    assert sorted(_gates(findings)) == [
        ("secrets", "Key"),
        ("secrets", "template Outputs.Leak.Value"),
        ("secrets", "template Resources.Key.Properties.SecretString"),
    ]


# --- dead letters ------------------------------------------------------------------------


def _queue(name: str, redrive: str | None = None) -> dict[str, Any]:
    if redrive:
        return queue(
            name, RedrivePolicy={"deadLetterTargetArn": arn_of(redrive), "maxReceiveCount": 5}
        )
    return queue(name)


def _async_function(with_destination: bool) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "IntakeLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "IntakeS3Permission": permission("IntakeLambdaFunction", "s3.amazonaws.com"),
        "IntakeDlq": _queue("docflow-dev-intake-dlq"),
    }
    if with_destination:
        resources["IntakeLambdaEvConf"] = event_invoke_config(
            "IntakeLambdaFunction", DestinationConfig=on_failure("IntakeDlq")
        )
    return {"Resources": resources}


def test_dlq_gate_accepts_redrive_policies_and_on_failure_destinations() -> None:
    template = _async_function(with_destination=True)
    template["Resources"]["Work"] = _queue("docflow-dev-work", redrive="WorkDlq")
    template["Resources"]["WorkDlq"] = _queue("docflow-dev-work-dead")
    assert dlq.check(template) == []


def test_dlq_gate_fails_a_queue_without_a_dead_letter_queue() -> None:
    template = {"Resources": {"Work": _queue("docflow-dev-work")}}
    assert _gates(dlq.check(template)) == [("dlq", "Work")]


def test_dlq_gate_fails_an_async_function_without_a_failure_destination() -> None:
    findings = dlq.check(_async_function(with_destination=False))
    assert _gates(findings) == [("dlq", "IntakeLambdaFunction")]
    assert "s3.amazonaws.com" in findings[0].message


def test_dlq_gate_fails_an_alias_invoked_while_the_destination_stays_on_latest() -> None:
    # A canary moves S3's invocations to an alias; settings on $LATEST no longer apply to them.
    template = _async_function(with_destination=True)
    resources = template["Resources"]
    resources["IntakeLambdaFunctionAliasLive"] = {
        "Type": "AWS::Lambda::Alias",
        "Properties": {"FunctionName": {"Ref": "IntakeLambdaFunction"}, "Name": "Live"},
    }
    resources["IntakeS3Permission"]["Properties"]["FunctionName"] = {
        "Ref": "IntakeLambdaFunctionAliasLive"
    }
    resources["IntakeLambdaEvConf"]["Properties"]["Qualifier"] = "$LATEST"

    findings = dlq.check(template)
    assert _gates(findings) == [("dlq", "IntakeLambdaFunctionAliasLive")]
    assert findings[0].message.endswith("(none for qualifier Live)")

    resources["IntakeLambdaEvConf"]["Properties"]["Qualifier"] = "Live"
    assert dlq.check(template) == []


def test_dlq_gate_fails_a_stream_mapping_without_on_failure() -> None:
    template = {
        "Resources": {
            "Logs": {"Type": "AWS::Kinesis::Stream", "Properties": {}},
            "Mapping": event_source_mapping(arn_of("Logs")),
        }
    }
    assert _gates(dlq.check(template)) == [("dlq", "Mapping")]


# --- retention ---------------------------------------------------------------------------


def _table(policy: str, pitr: bool, protected: bool = False) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": {
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": pitr},
            "DeletionProtectionEnabled": protected,
        },
    }


def _bucket(policy: str, versioned: bool) -> dict[str, Any]:
    status = "Enabled" if versioned else "Suspended"
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": {"VersioningConfiguration": {"Status": status}},
    }


def test_retention_gate_accepts_a_retaining_prod_and_a_disposable_dev() -> None:
    prod = {"Resources": {"T": _table("Retain", True, True), "B": _bucket("Retain", True)}}
    dev = {"Resources": {"T": _table("Delete", False), "B": _bucket("Delete", True)}}
    assert retention.check(prod, retain=True, deletion_protection=True) == []
    assert retention.check(dev, retain=False) == []


def test_retention_gate_fails_a_prod_that_would_lose_data() -> None:
    template = {"Resources": {"T": _table("Delete", False), "B": _bucket("Retain", False)}}

    messages = sorted(str(f) for f in retention.check(template, True, deletion_protection=True))

    assert messages == [
        "[retention] B: bucket versioning is not enabled",
        "[retention] T: DeletionPolicy is 'Delete', expected 'Retain'",
        "[retention] T: UpdateReplacePolicy is 'Delete', expected 'Retain'",
        "[retention] T: deletion protection is off",
        "[retention] T: point-in-time recovery is off",
    ]


def test_retention_gate_fails_a_dev_that_would_leave_orphans() -> None:
    template = {"Resources": {"B": _bucket("Retain", True)}}
    assert len(retention.check(template, retain=False)) == 2


# --- monitoring and cost -----------------------------------------------------------------


def _alarm(metric: str, target: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "MetricName": metric,
            "Dimensions": [{"Name": "X", "Value": {"Ref": target}}],
            "AlarmActions": [{"Ref": "AlarmTopic"}],
        },
    }


def _monitored() -> dict[str, Any]:
    resources: dict[str, Any] = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Sub": subscription("AlarmTopic", "email", "ops@example.com"),
        "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": "docflow-dev-fn", "ReservedConcurrentExecutions": 5},
        },
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {}},
        "Budget": monthly_budget(),
    }
    for metric in ("Errors", "Throttles", "Duration"):
        resources[f"Fn{metric}"] = _alarm(metric, "Fn")
    for metric in (
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsThrottled",
        "ExecutionsAborted",
    ):
        resources[f"Machine{metric}"] = _alarm(metric, "Machine")
    return {"Resources": resources}


_CONFIG = {"monitoring": {"alarmEmails": ["ops@example.com"]}, "reservedConcurrency": {"fn": 5}}


def test_monitoring_gate_accepts_a_fully_monitored_template() -> None:
    assert monitoring.check(_monitored(), _CONFIG, "dev") == []


@pytest.mark.parametrize(
    ("remove", "expected"),
    [
        ("FnDuration", "[monitoring] Fn: no alarm on Duration (duration near the timeout)"),
        ("MachineExecutionsTimedOut", "[monitoring] Machine: no alarm on ExecutionsTimedOut"),
        ("Budget", "[cost] dev: no AWS::Budgets::Budget"),
        ("Dashboard", "[monitoring] dev: no CloudWatch dashboard"),
        ("Sub", "[monitoring] alarm topic: ops@example.com is not subscribed"),
    ],
)
def test_monitoring_gate_fails_when_a_seeded_piece_is_missing(remove: str, expected: str) -> None:
    template = _monitored()
    del template["Resources"][remove]

    messages = [str(f) for f in monitoring.check(template, _CONFIG, "dev")]

    assert len(messages) == 1, messages
    assert messages[0].startswith(expected), messages


def test_monitoring_gate_fails_a_budget_without_the_80_percent_notice() -> None:
    template = _monitored()
    notices = template["Resources"]["Budget"]["Properties"]["NotificationsWithSubscribers"]
    del notices[0]
    assert [str(f) for f in monitoring.check(template, _CONFIG, "dev")] == [
        "[cost] Budget: no notification at 80 %"
    ]


def test_monitoring_gate_fails_a_function_without_any_concurrency_bound() -> None:
    template = _monitored()
    del template["Resources"]["Fn"]["Properties"]["ReservedConcurrentExecutions"]
    config = {**_CONFIG, "reservedConcurrency": {}}
    assert [str(f) for f in monitoring.check(template, config, "dev")] == [
        "[cost] Fn: no reserved concurrency and no event source maximum concurrency: set "
        "reservedConcurrency.<function> in the stage config"
    ]
    # An SQS consumer whose every mapping caps the poller is bounded.
    template["Resources"]["Mapping"] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {"FunctionName": {"Ref": "Fn"}, "ScalingConfig": {"MaximumConcurrency": 2}},
    }
    assert monitoring.check(template, config, "dev") == []


def test_monitoring_gate_fails_reserved_concurrency_that_differs_from_the_config() -> None:
    config = {**_CONFIG, "reservedConcurrency": {"fn": 50}}
    assert [str(f) for f in monitoring.check(_monitored(), config, "dev")] == [
        "[cost] Fn: ReservedConcurrentExecutions 5, stage says 50"
    ]


def test_a_queue_used_as_an_on_failure_destination_is_a_dead_letter_queue() -> None:
    template = {
        "Resources": {
            "Logs": {"Type": "AWS::Kinesis::Stream", "Properties": {}},
            "SyncFailures": _queue("docflow-dev-sync-failures"),
            "Mapping": event_source_mapping(
                arn_of("Logs"), DestinationConfig=on_failure("SyncFailures")
            ),
        }
    }
    assert dlq.check(template) == []
    assert dead_letter_queue_ids(template) == {"SyncFailures"}


def test_an_eventbridge_target_dead_letter_queue_protects_a_scheduled_function() -> None:
    template = {
        "Resources": {
            "DigestLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Permission": permission("DigestLambdaFunction", "events.amazonaws.com"),
            "Schedule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Targets": [{"Arn": {"Fn::GetAtt": ["DigestLambdaFunction", "Arn"]}}]
                },
            },
        }
    }
    assert _gates(dlq.check(template)) == [("dlq", "DigestLambdaFunction")]

    target = template["Resources"]["Schedule"]["Properties"]["Targets"][0]
    target["DeadLetterConfig"] = {"Arn": {"Fn::GetAtt": ["DigestDlq", "Arn"]}}
    assert dlq.check(template) == []


def test_retention_gate_accepts_a_store_that_states_why_it_is_transient() -> None:
    table = _table("Delete", False)
    template = {"Resources": {"T": table}}
    assert len(retention.check(template, retain=True)) == 3

    table["Metadata"] = {"RetentionExempt": "cache of values recomputed on demand"}
    assert retention.check(template, retain=True) == []
    table["Metadata"] = {"RetentionExempt": "  "}
    assert len(retention.check(template, retain=True)) == 3
