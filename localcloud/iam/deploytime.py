"""Lambda's deploy-time checks: what Lambda verifies about a function's execution role before it
creates or updates a function, an event source mapping or an asynchronous invocation
destination, and the error it answers when the role falls short (InvalidParameterValueException,
400). Nothing is created when a check fails.

Lambda verifies that it can assume the role, and that the role allows what Lambda will do with
it on the function's behalf:

- active tracing: ``xray:PutTraceSegments`` and ``xray:PutTelemetryRecords`` (on ``"*"``: X-Ray
  actions have no resource type);
- a dead-letter target, or an on-failure or on-success destination: ``sqs:SendMessage`` or
  ``sns:Publish`` (``lambda:InvokeFunction``, ``events:PutEvents``) on that ARN;
- an event source mapping: the read actions its poller uses on the queue or stream.

Only the role's identity-based policies count: a queue policy allowing the role does not make
Lambda accept a dead-letter queue (AWS support, in gmetzker/serverless-plugin-lambda-dead-letter
issue 40). The texts are AWS's, as its users reported them:

- "The role defined for the function cannot be assumed by Lambda." (CreateFunction; for
  example danilop/LambdAuth issue 49, pdomala/LambdaCDDemo issue 1);
- "The provided execution role does not have permissions to call PutTraceSegments on XRAY"
  (serverless/serverless issue 6931, functionalone/serverless-iam-roles-per-function issue 39);
- "... to call SendMessage on SQS" (aws-samples/aws-serverless-ecommerce-platform issue 41,
  elastic/beats issue 13963), "... to call Publish on SNS" (serverless-iam-roles-per-function
  issue 5), "... to call ReceiveMessage on SQS" (aws/aws-cdk issue 6770);
- "Cannot access stream ARN. Please ensure the role can perform the GetRecords,
  GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM." for a
  DynamoDB stream (aws-amplify/amplify-js issue 4793), and with "ListShards, " for Kinesis
  (aws-samples/cross-account-amazon-dynamodb-replication issue 11).

The stream messages name ListStreams (and ListShards for Kinesis), but Lambda does not require
them when it creates a mapping: ``dynamodb:ListStreams`` and ``kinesis:ListStreams`` have no
resource type, so the grants the Serverless Framework writes on the stream ARN never match, and
its stacks deploy; its Kinesis role has no ListShards either and deploys (serverless/serverless
issue 8540, where only the poller's later ListShards calls are refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud.iam import principals
from localcloud.iam.policy import Request, Result, evaluate

LAMBDA_SERVICE = "lambda.amazonaws.com"
NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
TRACING = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
QUEUE_READS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# Each need is a set of alternatives: any one of them granted is enough.
DYNAMODB_STREAM_READS = (
    ("dynamodb:DescribeStream",),
    ("dynamodb:GetRecords",),
    ("dynamodb:GetShardIterator",),
)
KINESIS_STREAM_READS = (
    ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary"),
    ("kinesis:GetRecords",),
    ("kinesis:GetShardIterator",),
)
_DESTINATIONS = {  # the ARN's service: (the action Lambda needs, the name its message uses)
    "sqs": ("sqs:SendMessage", "SQS"),
    "sns": ("sns:Publish", "SNS"),
    # Texts for these two follow the SQS and SNS ones; they were not seen verbatim.
    "lambda": ("lambda:InvokeFunction", "Lambda"),
    "events": ("events:PutEvents", "EventBridge"),
}


@dataclass(frozen=True)
class Refusal:
    """Lambda's answer, and what was missing (for the local stack's log)."""

    message: str  # Lambda's error message, as AWS words it
    function_name: str
    role_arn: str
    action: str  # the permission Lambda could not use
    resource: str
    reason: str  # why: the evaluator's reason, or that the role does not exist

    def describe(self) -> str:
        return (
            f"{self.function_name}: {self.message} (role {self.role_arn}: {self.action} on "
            f"{self.resource} {self.reason})"
        )


def check_function(
    *,
    name: str,
    arn: str,
    role_arn: str,
    tracing_mode: str | None = None,
    dead_letter_target: str | None = None,
) -> Refusal | None:
    """CreateFunction / UpdateFunctionConfiguration: the role, tracing, the dead-letter target."""
    refusal = _assumable(name, arn, role_arn)
    if refusal is None and tracing_mode == "Active":
        for action in TRACING:
            refusal = refusal or _missing(
                name, role_arn, (action,), "*", _not_permitted(action, "XRAY")
            )
    if refusal is None and dead_letter_target:
        refusal = _destination(name, role_arn, dead_letter_target)
    return refusal


def check_event_source(
    *, function_name: str, role_arn: str, source_arn: str, on_failure: str | None = None
) -> Refusal | None:
    """CreateEventSourceMapping / UpdateEventSourceMapping: the poller's reads, the destination."""
    if not principals.role_exists(role_arn):
        return _no_role(function_name, role_arn)
    refusal: Refusal | None = None
    service = _service(source_arn)
    if service == "sqs":
        for action in QUEUE_READS:
            refusal = refusal or _missing(
                function_name, role_arn, (action,), source_arn, _not_permitted(action, "SQS")
            )
    elif service in ("dynamodb", "kinesis"):
        kinesis = service == "kinesis"
        message = (
            f"Cannot access stream {source_arn}. Please ensure the role can perform the "
            f"GetRecords, GetShardIterator, DescribeStream, {'ListShards, ' if kinesis else ''}"
            "and ListStreams Actions on your stream in IAM."
        )
        for alternatives in KINESIS_STREAM_READS if kinesis else DYNAMODB_STREAM_READS:
            refusal = refusal or _missing(
                function_name, role_arn, alternatives, source_arn, message
            )
    if refusal is None and on_failure:
        refusal = _destination(function_name, role_arn, on_failure)
    return refusal


def check_destinations(
    *, function_name: str, role_arn: str, destination_config: Mapping[str, Any] | None
) -> Refusal | None:
    """PutFunctionEventInvokeConfig / UpdateFunctionEventInvokeConfig: OnSuccess and OnFailure."""
    for outcome in ("OnSuccess", "OnFailure"):
        target = ((destination_config or {}).get(outcome) or {}).get("Destination")
        if target:
            if not principals.role_exists(role_arn):
                return _no_role(function_name, role_arn)
            refusal = _destination(function_name, role_arn, str(target))
            if refusal is not None:
                return refusal
    return None


def session_arn(role_arn: str, function_name: str) -> str:
    """The principal Lambda acts as: a session of the role named after the function."""
    account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/{function_name}"


def _no_role(function_name: str, role_arn: str) -> Refusal:
    return Refusal(
        NOT_ASSUMABLE, function_name, role_arn, "sts:AssumeRole", role_arn, "(no such role)"
    )


def _not_permitted(action: str, service_name: str) -> str:
    operation = action.split(":", 1)[1]
    return (
        f"The provided execution role does not have permissions to call {operation} "
        f"on {service_name}"
    )


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""


def _assumable(function_name: str, function_arn: str, role_arn: str) -> Refusal | None:
    """The trust policy, evaluated as the resource policy it is, for Lambda's service principal."""
    if not principals.role_exists(role_arn):
        return _no_role(function_name, role_arn)
    request = Request(
        principal=LAMBDA_SERVICE,
        action="sts:AssumeRole",
        resource=role_arn,
        context={
            "aws:SourceAccount": function_arn.split(":")[4],
            "aws:SourceArn": function_arn,
            "aws:SecureTransport": "true",
        },
    )
    result = evaluate(request, (), principals.trust_policy(role_arn))
    if result.allowed:
        return None
    return Refusal(
        NOT_ASSUMABLE, function_name, role_arn, "sts:AssumeRole", role_arn, result.reason
    )


def _destination(function_name: str, role_arn: str, target: str) -> Refusal | None:
    known = _DESTINATIONS.get(_service(target))
    if known is None:
        return None  # S3 buckets and anything else: not checked locally
    action, service_name = known
    return _missing(
        function_name, role_arn, (action,), target, _not_permitted(action, service_name)
    )


def _missing(
    function_name: str,
    role_arn: str,
    alternatives: Iterable[str],
    resource: str,
    message: str,
) -> Refusal | None:
    """A refusal unless the role's identity policies allow one of `alternatives` on `resource`."""
    results: list[tuple[str, Result]] = []
    for action in alternatives:
        result = evaluate(
            _as_function(function_name, role_arn, action, resource), _policies(role_arn)
        )
        if result.allowed:
            return None
        results.append((action, result))
    action, result = results[0]
    return Refusal(message, function_name, role_arn, action, resource, result.reason)


def _policies(role_arn: str) -> list[dict[str, Any]]:
    return principals.identity_policies(role_arn)


def _as_function(function_name: str, role_arn: str, action: str, resource: str) -> Request:
    account = role_arn.split(":")[4]
    now = datetime.now(UTC)
    return Request(
        principal=session_arn(role_arn, function_name),
        action=action,
        resource=resource,
        context={
            "aws:PrincipalArn": role_arn,
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "AssumedRole",
            "aws:userid": f"{role_arn.rsplit('/', 1)[-1]}:{function_name}",
            "aws:SecureTransport": "true",
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())),
        },
        role_arn=role_arn,
        account_id=account,
    )
