"""The static IAM check: policies against the IAM service authorization reference (parliament),
with intrinsics resolved as CloudFormation resolves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gates import iam_reference
from gates.iam_reference import Suppression
from gates.template import Resolver, UnresolvedError
from tests.resources import topic_queue_policy

_RESOURCES: dict[str, Any] = {
    "Documents": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "docflow-documents"}},
    "Work": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "docflow-work"}},
    "Events": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "docflow-events"}},
    "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {}},
    "Logs": {"Type": "AWS::Kinesis::Stream", "Properties": {"Name": "docflow-logs"}},
    "Keys": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "docflow/api-keys"}},
    "Processing": {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"StateMachineName": "docflow-processing"},
    },
    "Worker": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "docflow-worker"}},
    "WorkerLive": {
        "Type": "AWS::Lambda::Alias",
        "Properties": {"FunctionName": {"Ref": "Worker"}, "Name": "Live"},
    },
}


def _template(*statements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Policies": [
                {
                    "PolicyName": "p",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
                }
            ]
        },
    }
    return {"Resources": {**_RESOURCES, "FnRole": role, **extra}}


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _check(template: dict[str, Any]) -> list[str]:
    return [str(f) for f in iam_reference.check(template, suppressions=[])]


# --- resolving intrinsics ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Documents"}, "docflow-documents"),
        (
            {"Fn::GetAtt": ["Documents", "Arn"]},
            "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-documents",
        ),
        (
            {"Fn::GetAtt": "Documents.StreamArn"},
            "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-documents"
            "/stream/2026-01-01T00:00:00.000",
        ),
        ({"Ref": "Work"}, "https://sqs.us-east-1.amazonaws.com/123456789012/docflow-work"),
        ({"Fn::GetAtt": ["Work", "Arn"]}, "arn:aws:sqs:us-east-1:123456789012:docflow-work"),
        ({"Ref": "Events"}, "arn:aws:sns:us-east-1:123456789012:docflow-events"),
        ({"Fn::GetAtt": ["Uploads", "Arn"]}, "arn:aws:s3:::Uploads"),  # generated name
        (
            {"Fn::GetAtt": ["Logs", "Arn"]},
            "arn:aws:kinesis:us-east-1:123456789012:stream/docflow-logs",
        ),
        (
            {"Ref": "Keys"},
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:docflow/api-keys-AbCdEf",
        ),
        (
            {"Ref": "Processing"},
            "arn:aws:states:us-east-1:123456789012:stateMachine:docflow-processing",
        ),
        (
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::b-${AWS::AccountId}/${!literal}/*"},
            "arn:aws:s3:::b-123456789012/${literal}/*",
        ),
        (
            {"Fn::Sub": "${Documents.Arn}/index/by_owner"},
            "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-documents/index/by_owner",
        ),
        (
            {"Fn::Sub": ["${Fn}:*", {"Fn": {"Fn::GetAtt": ["Worker", "Arn"]}}]},
            "arn:aws:lambda:us-east-1:123456789012:function:docflow-worker:*",
        ),
        (
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sqs:::", {"Ref": "Events"}]]},
            "arn:aws:sqs:::arn:aws:sns:us-east-1:123456789012:docflow-events",
        ),
        (
            {"Ref": "WorkerLive"},
            "arn:aws:lambda:us-east-1:123456789012:function:docflow-worker:Live",
        ),
    ],
    ids=[
        "table-ref-is-name",
        "table-arn",
        "stream-arn",
        "queue-ref-is-url",
        "queue-arn",
        "topic-ref-is-arn",
        "bucket-arn",
        "kinesis-arn",
        "secret-ref-is-arn",
        "state-machine-ref-is-arn",
        "sub-pseudo-and-escape",
        "sub-getatt",
        "sub-variable-map",
        "join",
        "alias-ref-is-arn",
    ],
)
def test_intrinsics_resolve_as_cloudformation_answers_them(value: Any, expected: str) -> None:
    assert Resolver({"Resources": _RESOURCES}).resolve(value) == expected


def test_an_unknown_reference_is_an_error_naming_it() -> None:
    with pytest.raises(UnresolvedError, match="Missing is neither a resource"):
        Resolver({"Resources": _RESOURCES}).resolve({"Fn::GetAtt": ["Missing", "Arn"]})


def test_a_stream_label_loses_its_colons_for_parliament() -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
    assert iam_reference.normalise_resource(arn) == (
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00.00.00.000"
    )
    queue = "arn:aws:sqs:us-east-1:123456789012:q"
    assert iam_reference.normalise_resource(queue) == queue


# --- what the check accepts --------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        _allow("states:SendTaskSuccess", "*"),
        _allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        _allow("dynamodb:GetItem", {"Fn::GetAtt": ["Documents", "Arn"]}),
        _allow("dynamodb:Query", {"Fn::Sub": "${Documents.Arn}/index/by_owner"}),
        _allow(
            ["dynamodb:GetRecords", "dynamodb:DescribeStream"],
            {"Fn::GetAtt": ["Documents", "StreamArn"]},
        ),
        _allow("sqs:SendMessage", {"Fn::GetAtt": ["Work", "Arn"]}),
        _allow("sns:Publish", {"Ref": "Events"}),
        _allow("secretsmanager:GetSecretValue", {"Ref": "Keys"}),
        _allow(
            "s3:ListBucketVersions",
            {"Fn::GetAtt": ["Uploads", "Arn"]},
            Condition={"StringLike": {"s3:prefix": ["processed/*"]}},
        ),
        _allow("states:StartExecution", {"Ref": "Processing"}),
    ],
    ids=[
        "task-token-on-star",
        "xray-on-star",
        "table",
        "index",
        "stream-with-label",
        "queue-arn",
        "topic-ref",
        "secret-ref",
        "bucket-with-prefix-condition",
        "state-machine",
    ],
)
def test_policies_that_match_the_reference_pass(statement: dict[str, Any]) -> None:
    assert _check(_template(statement)) == []


# --- what the check finds ----------------------------------------------------------------


def test_a_task_token_action_scoped_to_a_state_machine_is_a_resource_mismatch() -> None:
    findings = _check(_template(_allow("states:SendTaskSuccess", {"Ref": "Processing"})))

    assert findings == [
        "[iam-reference] FnRole policy p statement 0: RESOURCE_MISMATCH: states:SendTaskSuccess "
        'matches no resource (it has no resource type: only Resource "*" matches); the '
        "statement names arn:aws:states:us-east-1:123456789012:stateMachine:docflow-processing"
    ]


def test_an_object_action_on_a_bucket_arn_is_a_resource_mismatch() -> None:
    findings = _check(_template(_allow("s3:GetObject", {"Fn::GetAtt": ["Uploads", "Arn"]})))

    assert len(findings) == 1
    assert (
        "s3:GetObject matches no resource (it needs a resource like arn:*:s3:::*/*)"
        in (findings[0])
    )


def test_an_unknown_action_is_found() -> None:
    findings = _check(_template(_allow("states:SendTaskSucess", "*")))

    assert findings == [
        "[iam-reference] FnRole policy p statement 0: UNKNOWN_ACTION: "
        "Unknown action states:SendTaskSucess"
    ]


def test_an_unknown_service_prefix_is_found() -> None:
    assert _check(_template(_allow("dynamo:GetItem", "*"))) == [
        "[iam-reference] FnRole policy p statement 0: UNKNOWN_PREFIX: Unknown prefix dynamo "
        "(dynamo:GetItem)"
    ]


@pytest.mark.parametrize(
    ("resource", "shown"),
    [
        ({"Ref": "Documents"}, "Does not have 6 parts (docflow-documents)"),
        (
            {"Ref": "Work"},
            "Does not have 6 parts (https://sqs.us-east-1.amazonaws.com/123456789012/docflow-work)",
        ),
        ("arn:aws:sqs:us-east-1:12345:docflow-work", "Account expected to be of form like"),
    ],
    ids=["ref-to-a-table-is-its-name", "ref-to-a-queue-is-its-url", "short-account"],
)
def test_a_malformed_arn_is_found(resource: Any, shown: str) -> None:
    findings = _check(_template(_allow("sqs:SendMessage", resource)))

    assert len(findings) == 1
    assert findings[0].startswith("[iam-reference] FnRole policy p statement 0: INVALID_ARN: ")
    assert shown in findings[0]


def test_a_condition_key_the_action_does_not_support_is_found() -> None:
    statement = _allow(
        "s3:ListBucket",
        {"Fn::GetAtt": ["Uploads", "Arn"]},
        Condition={"StringLike": {"s3:prefx": ["incoming/*"]}},
    )
    assert _check(_template(statement)) == [
        "[iam-reference] FnRole policy p statement 0: UNKNOWN_CONDITION_FOR_ACTION: "
        "Unknown condition s3:prefx for action s3:ListBucket"
    ]


def test_a_policy_without_version_is_found() -> None:
    template = _template(_allow("sns:Publish", {"Ref": "Events"}))
    del template["Resources"]["FnRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Version"]

    assert _check(template) == [
        "[iam-reference] FnRole policy p: NO_VERSION: Policy does not contain a Version element"
    ]


def test_resource_policies_are_checked() -> None:
    misspelt = topic_queue_policy("Work", "Events", action="sqs:SendMessages")
    findings = _check(_template(WorkPolicy=misspelt))

    assert findings == [
        "[iam-reference] WorkPolicy statement 0: UNKNOWN_ACTION: Unknown action sqs:SendMessages"
    ]


def test_a_lambda_permission_is_checked_as_the_function_policy_statement() -> None:
    permission = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Fn::GetAtt": ["Worker", "Arn"]},
            "Action": "lambda:InvokeFunctions",
            "Principal": "events.amazonaws.com",
            "SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/r"
            },
        },
    }
    findings = _check(_template(WorkerPermission=permission))

    assert findings == [
        "[iam-reference] WorkerPermission (function policy) statement 0: UNKNOWN_ACTION: "
        "Unknown action lambda:InvokeFunctions"
    ]


def test_an_intrinsic_it_cannot_resolve_is_a_finding_not_a_pass() -> None:
    statement = _allow("sns:Publish", {"Fn::If": ["IsProd", {"Ref": "Events"}, "*"]})

    assert _check(_template(statement)) == [
        "[iam-reference] FnRole policy p: UNRESOLVED: Fn::If is not resolved statically: "
        "teach gates.template.Resolver"
    ]


# --- suppressions ------------------------------------------------------------------------


def test_a_suppression_accepts_only_the_finding_it_names() -> None:
    template = _template(
        _allow("states:SendTaskSuccess", {"Ref": "Processing"}),
        _allow("states:SendTaskSucess", "*"),
    )
    accepted = Suppression(
        issue="RESOURCE_MISMATCH",
        action="states:SendTask*",
        where="^FnRole policy p statement 0$",
        reason="a test",
    )

    findings = [str(f) for f in iam_reference.check(template, suppressions=[accepted])]

    assert findings == [
        "[iam-reference] FnRole policy p statement 1: UNKNOWN_ACTION: "
        "Unknown action states:SendTaskSucess"
    ]


def test_a_suppression_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.yml"
    path.write_text("- issue: RESOURCE_MISMATCH\n  action: states:SendTaskSuccess\n")

    with pytest.raises(ValueError, match="needs `issue` and a `reason`"):
        iam_reference.load_suppressions(path)


def test_every_repository_suppression_states_its_reason() -> None:
    suppressions = iam_reference.load_suppressions()
    assert {s.issue: len(s.reason.split()) >= 8 for s in suppressions} == {
        s.issue: True for s in suppressions
    }
