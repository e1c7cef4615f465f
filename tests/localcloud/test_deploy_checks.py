"""Lambda's deploy-time checks on the local stack, through the Lambda and CloudFormation APIs.

moto runs in process (mock_aws) with the patches these checks take part in; every class and
module attribute they replace is put back after this module, so the functional tests that use
moto in process see moto as it is.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaBackend, LambdaFunction, LayerVersion
from moto.awslambda.utils import get_backend
from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.iam.models import Role

from localcloud.iam import enforce, principals
from localcloud.iam.audit import Audit
from localcloud.patches import awslambda, cloudformation, lambda_checks
from localcloud.patches.context import LocalCloud
from tests.localcloud.conftest import make_zip
from tests.resources import arn_of, event_invoke_config, event_source_mapping, on_failure, queue
from tests.support import refusal

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_NAME = "fn-role"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
CODE = make_zip({"index.py": "def handler(event, context):\n    return event\n"})
TRUST_LAMBDA: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
XRAY = {
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


def missing_grant(operation: str, service: str) -> str:
    """Lambda's message for an execution role that may not call `operation` on `service`."""
    return f"The provided execution role does not have permissions to call {operation} on {service}"


XRAY_TEXT = missing_grant("PutTraceSegments", "XRAY")

REPLACED: tuple[tuple[Any, str], ...] = (
    (LambdaBackend, "create_function"),
    (LambdaBackend, "create_event_source_mapping"),
    (LambdaBackend, "update_event_source_mapping"),
    (LambdaBackend, "put_function_event_invoke_config"),
    (LambdaFunction, "create_from_cloudformation_json"),
    (LambdaFunction, "update_from_cloudformation_json"),
    (LambdaFunction, "update_configuration"),
    (LayerVersion, "physical_resource_id"),
    (LayerVersion, "update_from_cloudformation_json"),
    (LayerVersion, "cloudformation_name_type"),
    (awslambda.EventInvokeConfig, "create_from_cloudformation_json"),
    (parsing, "parse_and_create_resource"),
    (parsing, "parse_and_update_resource"),
    (ResourceMap, "update"),
    (CloudFormationBackend, "execute_change_set"),
    (CloudFormationBackend, "create_stack"),
    (CloudFormationBackend, "update_stack"),
    (Role, "update_from_cloudformation_json"),
)
_MISSING = object()


@pytest.fixture(scope="module", autouse=True)
def patched() -> Iterator[None]:
    """The patches as the server applies them (in PATCHES order), undone afterwards."""
    saved = [(owner, name, vars(owner).get(name, _MISSING)) for owner, name in REPLACED]
    cloud = cast(LocalCloud, None)  # none of these patches uses the runner
    for patch in (
        awslambda.cloudformation_properties,
        awslambda.event_invoke_config,
        cloudformation.keep_resources_moto_cannot_update,
        lambda_checks.cfn_resource_failures,
        lambda_checks.cfn_iam_role_update,
        lambda_checks.cfn_update_dependencies_first,
        lambda_checks.lambda_deploy_checks,
    ):
        patch(cloud)
    parsing.get_model_map.cache_clear()  # moto must see localcloud's EventInvokeConfig model
    try:
        yield
    finally:
        for owner, name, value in saved:
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def make_role(*statements: dict[str, Any], trust: dict[str, Any] = TRUST_LAMBDA) -> str:
    iam = client("iam")
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(
            RoleName=ROLE_NAME, PolicyName="grants", PolicyDocument=json.dumps(document)
        )
    return ROLE_ARN


def create_function(name: str = "docflow-local-api", **settings: Any) -> dict[str, Any]:
    return client("lambda").create_function(  # type: ignore[no-any-return]
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="index.handler",
        Code={"ZipFile": CODE},
        **settings,
    )


def lambda_error(message: str) -> tuple[int, str, str]:
    return (400, "InvalidParameterValueException", message)


def function_names() -> list[str]:
    return [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]]


# -- CreateFunction / UpdateFunctionConfiguration -------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_active_tracing_without_the_xray_grant_is_refused_and_nothing_is_created(
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_role()

    with caplog.at_level(logging.WARNING, logger="localcloud.lambda"):
        answer = refusal(lambda: create_function(TracingConfig={"Mode": "Active"}))

    assert answer == lambda_error(XRAY_TEXT)
    assert function_names() == []
    assert [r.getMessage() for r in caplog.records] == [
        f"lambda refused docflow-local-api: {XRAY_TEXT} (role {ROLE_ARN}: xray:PutTraceSegments "
        "on * because no identity-based policy allows the xray:PutTraceSegments action)"
    ]


@pytest.mark.usefixtures("aws")
def test_active_tracing_with_the_xray_grant_is_created() -> None:
    make_role(XRAY)

    created = create_function(TracingConfig={"Mode": "Active"})

    assert created["TracingConfig"] == {"Mode": "Active"}
    assert function_names() == ["docflow-local-api"]


@pytest.mark.usefixtures("aws")
def test_each_xray_write_action_is_needed() -> None:
    make_role({**XRAY, "Action": "xray:PutTraceSegments"})

    answer = refusal(lambda: create_function(TracingConfig={"Mode": "Active"}))

    assert answer == lambda_error(missing_grant("PutTelemetryRecords", "XRAY"))


@pytest.mark.usefixtures("aws")
def test_an_explicit_deny_of_xray_refuses_tracing_despite_a_grant() -> None:
    make_role(XRAY, {"Effect": "Deny", "Action": "xray:*", "Resource": "*"})

    assert refusal(lambda: create_function(TracingConfig={"Mode": "Active"})) == lambda_error(
        XRAY_TEXT
    )


@pytest.mark.usefixtures("aws")
def test_pass_through_tracing_needs_no_xray_grant() -> None:
    make_role()

    assert create_function(TracingConfig={"Mode": "PassThrough"})["FunctionName"]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "trust",
    [
        {
            "Statement": [
                {**TRUST_LAMBDA["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}
            ]
        },
        {"Statement": [{**TRUST_LAMBDA["Statement"][0], "Effect": "Deny"}]},
        {"Statement": [{**TRUST_LAMBDA["Statement"][0], "Action": "sts:TagSession"}]},
        {
            "Statement": [
                {
                    **TRUST_LAMBDA["Statement"][0],
                    "Condition": {"StringEquals": {"aws:SourceAccount": "210987654321"}},
                }
            ]
        },
    ],
    ids=["other-service", "denied", "other-action", "other-source-account"],
)
def test_a_role_lambda_cannot_assume_is_refused(trust: dict[str, Any]) -> None:
    make_role(XRAY, trust=trust)

    answer = refusal(create_function)

    assert answer == lambda_error("The role defined for the function cannot be assumed by Lambda.")
    assert function_names() == []


@pytest.mark.usefixtures("aws")
def test_a_trust_policy_limited_to_the_functions_account_is_assumable() -> None:
    statement = {
        **TRUST_LAMBDA["Statement"][0],
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    make_role(trust={"Statement": [statement]})

    assert create_function()["FunctionName"] == "docflow-local-api"


@pytest.mark.usefixtures("aws")
def test_a_dead_letter_queue_without_send_message_is_refused() -> None:
    make_role()
    queue = client("sqs").create_queue(QueueName="api-dlq")["QueueUrl"]
    arn = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    dlq = arn["Attributes"]["QueueArn"]

    answer = refusal(lambda: create_function(DeadLetterConfig={"TargetArn": dlq}))

    assert answer == lambda_error(missing_grant("SendMessage", "SQS"))
    assert function_names() == []


@pytest.mark.usefixtures("aws")
def test_a_dead_letter_topic_needs_publish_on_that_topic() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:api-dlq"
    make_role({"Effect": "Allow", "Action": "sns:Publish", "Resource": f"{topic}-other"})

    answer = refusal(lambda: create_function(DeadLetterConfig={"TargetArn": topic}))

    assert answer == lambda_error(missing_grant("Publish", "SNS"))


@pytest.mark.usefixtures("aws")
def test_enabling_tracing_on_an_existing_function_is_checked_and_refused() -> None:
    make_role()
    create_function()

    answer = refusal(
        lambda: client("lambda").update_function_configuration(
            FunctionName="docflow-local-api", TracingConfig={"Mode": "Active"}
        )
    )

    assert answer == lambda_error(XRAY_TEXT)
    configuration = client("lambda").get_function_configuration(FunctionName="docflow-local-api")
    assert configuration["TracingConfig"] == {"Mode": "PassThrough"}


@pytest.mark.usefixtures("aws")
def test_switching_to_a_role_without_the_grant_is_refused() -> None:
    make_role(XRAY)
    create_function(TracingConfig={"Mode": "Active"})
    client("iam").create_role(RoleName="bare", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))

    answer = refusal(
        lambda: client("lambda").update_function_configuration(
            FunctionName="docflow-local-api", Role=f"arn:aws:iam::{ACCOUNT}:role/bare"
        )
    )

    assert answer == lambda_error(XRAY_TEXT)
    configuration = client("lambda").get_function_configuration(FunctionName="docflow-local-api")
    assert configuration["Role"] == ROLE_ARN


@pytest.mark.usefixtures("aws")
def test_a_refusal_is_only_logged_when_iam_runs_in_report_mode(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(enforce, "_enforcer", enforce.Enforcer(Audit(None), mode="report"))
    make_role()

    with caplog.at_level(logging.WARNING, logger="localcloud.lambda"):
        create_function(TracingConfig={"Mode": "Active"})

    assert function_names() == ["docflow-local-api"]
    assert (
        caplog.records[0]
        .getMessage()
        .startswith(f"lambda would refuse docflow-local-api: {XRAY_TEXT}")
    )


# -- CreateEventSourceMapping ----------------------------------------------------------------------


def queue_arn(name: str) -> str:
    url = client("sqs").create_queue(QueueName=name)["QueueUrl"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def map_events(source_arn: str, function: str, **settings: Any) -> dict[str, Any]:
    return client("lambda").create_event_source_mapping(  # type: ignore[no-any-return]
        EventSourceArn=source_arn, FunctionName=function, **settings
    )


def mappings() -> list[str]:
    found = client("lambda").list_event_source_mappings()["EventSourceMappings"]
    return [m["EventSourceArn"] for m in found]


@pytest.mark.usefixtures("aws")
def test_an_sqs_mapping_without_receive_message_is_refused() -> None:
    queue = queue_arn("notify")
    make_role(
        {
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": queue,
        }
    )
    create_function("docflow-local-notify")

    answer = refusal(lambda: map_events(queue, "docflow-local-notify"))

    assert answer == lambda_error(missing_grant("ReceiveMessage", "SQS"))
    assert mappings() == []


@pytest.mark.usefixtures("aws")
def test_an_sqs_mapping_with_the_three_read_actions_is_created() -> None:
    queue = queue_arn("notify")
    reads = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    make_role({"Effect": "Allow", "Action": reads, "Resource": queue})
    create_function("docflow-local-notify")

    map_events(queue, "docflow-local-notify")

    assert mappings() == [queue]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("missing", ["sqs:DeleteMessage", "sqs:GetQueueAttributes"])
def test_an_sqs_mapping_needs_each_read_action(missing: str) -> None:
    queue = queue_arn("notify")
    reads = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} - {missing}
    make_role({"Effect": "Allow", "Action": sorted(reads), "Resource": queue})
    create_function("docflow-local-notify")

    answer = refusal(lambda: map_events(queue, "docflow-local-notify"))

    operation = missing.split(":")[1]
    assert answer == lambda_error(missing_grant(operation, "SQS"))


def documents_stream() -> str:
    table = client("dynamodb").create_table(
        TableName="documents",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(table["TableDescription"]["LatestStreamArn"])


@pytest.mark.usefixtures("aws")
def test_a_dynamodb_stream_mapping_without_get_shard_iterator_is_refused() -> None:
    stream = documents_stream()
    make_role(
        {
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords"],
            "Resource": "arn:aws:dynamodb:*:*:table/documents/stream/*",
        }
    )
    create_function("docflow-local-sync")

    answer = refusal(lambda: map_events(stream, "docflow-local-sync", StartingPosition="LATEST"))

    assert answer == lambda_error(
        f"Cannot access stream {stream}. Please ensure the role can perform the GetRecords, "
        "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
    )


def log_stream() -> str:
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName="logs", ShardCount=1)
    return str(
        kinesis.describe_stream_summary(StreamName="logs")["StreamDescriptionSummary"]["StreamARN"]
    )


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("stream_of", "reads", "function", "start"),
    [
        (
            documents_stream,
            # As the Serverless Framework grants it: ListStreams on the stream ARN, where it
            # never matches; the mapping needs the other three only.
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            "docflow-local-sync",
            "TRIM_HORIZON",
        ),
        (
            log_stream,
            # DescribeStreamSummary does for DescribeStream.
            ["kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator"],
            "docflow-local-analytics",
            "LATEST",
        ),
    ],
    ids=["dynamodb-needs-no-list-streams", "kinesis-accepts-describe-stream-summary"],
)
def test_a_stream_mapping_whose_role_has_the_read_actions_is_created(
    stream_of: Callable[[], str], reads: list[str], function: str, start: str
) -> None:
    stream = stream_of()
    make_role({"Effect": "Allow", "Action": reads, "Resource": stream})
    create_function(function)

    map_events(stream, function, StartingPosition=start)

    assert mappings() == [stream]


@pytest.mark.usefixtures("aws")
def test_a_kinesis_mapping_without_get_records_is_refused() -> None:
    stream = log_stream()
    reads = ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:ListShards"]
    make_role({"Effect": "Allow", "Action": reads, "Resource": stream})
    create_function("docflow-local-analytics")

    answer = refusal(
        lambda: map_events(stream, "docflow-local-analytics", StartingPosition="LATEST")
    )

    assert answer == lambda_error(
        f"Cannot access stream {stream}. Please ensure the role can perform the GetRecords, "
        "GetShardIterator, DescribeStream, ListShards, and ListStreams Actions on your stream "
        "in IAM."
    )


@pytest.mark.usefixtures("aws")
def test_a_mappings_on_failure_destination_needs_send_message() -> None:
    stream = log_stream()
    failures = queue_arn("analytics-failures")
    reads = ["kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator"]
    make_role({"Effect": "Allow", "Action": reads, "Resource": stream})
    create_function("docflow-local-analytics")

    answer = refusal(
        lambda: map_events(
            stream,
            "docflow-local-analytics",
            StartingPosition="LATEST",
            DestinationConfig={"OnFailure": {"Destination": failures}},
        )
    )

    assert answer == lambda_error(missing_grant("SendMessage", "SQS"))


# -- PutFunctionEventInvokeConfig ----------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_an_on_failure_destination_without_send_message_is_refused() -> None:
    make_role()
    create_function("docflow-local-intake")
    destination = queue_arn("intake-dlq")

    answer = refusal(
        lambda: client("lambda").put_function_event_invoke_config(
            FunctionName="docflow-local-intake",
            DestinationConfig={"OnFailure": {"Destination": destination}},
        )
    )

    assert answer == lambda_error(missing_grant("SendMessage", "SQS"))


@pytest.mark.usefixtures("aws")
def test_an_on_failure_destination_with_send_message_is_kept() -> None:
    destination = queue_arn("intake-dlq")
    make_role({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": destination})
    create_function("docflow-local-intake")

    client("lambda").put_function_event_invoke_config(
        FunctionName="docflow-local-intake",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": destination}},
    )

    kept = client("lambda").get_function_event_invoke_config(FunctionName="docflow-local-intake")
    assert kept["DestinationConfig"] == {"OnFailure": {"Destination": destination}}


# -- CloudFormation ------------------------------------------------------------------------------


def stack_template(*statements: dict[str, Any], function: dict[str, Any] | None = None) -> str:
    """A role and a function as the Serverless Framework compiles them (role after function)."""
    properties = {
        "FunctionName": "docflow-local-api",
        "Runtime": "python3.12",
        "Handler": "index.handler",
        "Role": {"Fn::GetAtt": ["ApiIamRoleLambdaExecution", "Arn"]},
        "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
        "TracingConfig": {"Mode": "Active"},
        **(function or {}),
    }
    return json.dumps(
        {
            "Resources": {
                "ApiLambdaFunction": {
                    "Type": "AWS::Lambda::Function",
                    "DependsOn": ["ApiIamRoleLambdaExecution"],
                    "Properties": properties,
                },
                "ApiIamRoleLambdaExecution": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": TRUST_LAMBDA,
                        "Policies": [
                            {
                                "PolicyName": "api",
                                "PolicyDocument": {
                                    "Version": "2012-10-17",
                                    "Statement": [
                                        {
                                            "Effect": "Allow",
                                            "Action": "logs:PutLogEvents",
                                            "Resource": "*",
                                        },
                                        *statements,
                                    ],
                                },
                            }
                        ],
                    },
                },
            }
        }
    )


def deploy(template: str, kind: str) -> None:
    """A change set, created then executed, as osls deploys."""
    cfn = client("cloudformation")
    name = f"cs{time.time_ns()}"
    cfn.create_change_set(
        StackName="docflow-local", ChangeSetName=name, TemplateBody=template, ChangeSetType=kind
    )
    cfn.execute_change_set(StackName="docflow-local", ChangeSetName=name)


def stack() -> dict[str, Any]:
    return client("cloudformation").describe_stacks(StackName="docflow-local")["Stacks"][0]  # type: ignore[no-any-return]


def failures() -> list[tuple[str, str, str, str]]:
    events = client("cloudformation").describe_stack_events(StackName="docflow-local")
    return [
        (e["LogicalResourceId"], e["ResourceType"], e["ResourceStatus"], e["ResourceStatusReason"])
        for e in reversed(events["StackEvents"])
        if e["ResourceStatus"].endswith("FAILED")
    ]


def handler_reason(reason: str) -> str:
    """The text between the handler's quotes, without its request id."""
    assert reason.startswith('Resource handler returned message: "')
    assert reason.endswith("HandlerErrorCode: InvalidRequest)")
    return reason.split('"')[1].split(" (Service: Lambda, Status Code: 400, Request ID: ")[0]


@pytest.mark.usefixtures("aws")
def test_a_stack_whose_function_lacks_the_xray_grant_fails_naming_function_and_permission() -> None:
    deploy(stack_template(), "CREATE")

    assert (stack()["StackStatus"], stack()["StackStatusReason"]) == (
        "CREATE_FAILED",
        "The following resource(s) failed to create: [ApiLambdaFunction]. ",
    )
    [resource, whole] = failures()
    assert resource[:3] == ("ApiLambdaFunction", "AWS::Lambda::Function", "CREATE_FAILED")
    assert handler_reason(resource[3]) == XRAY_TEXT
    assert whole[2:] == (
        "CREATE_FAILED",
        "The following resource(s) failed to create: [ApiLambdaFunction]. ",
    )
    assert function_names() == []


@pytest.mark.usefixtures("aws")
def test_a_stack_whose_role_grants_xray_is_created() -> None:
    deploy(stack_template(XRAY), "CREATE")

    assert stack()["StackStatus"] == "CREATE_COMPLETE"
    configuration = client("lambda").get_function_configuration(FunctionName="docflow-local-api")
    assert configuration["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.usefixtures("aws")
def test_removing_the_grant_on_a_redeploy_fails_the_update(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deploy(stack_template(XRAY), "CREATE")
    # Every `sls deploy` changes the function (its code's S3 key); here its description.
    with caplog.at_level(logging.WARNING, logger="localcloud.lambda"):
        deploy(stack_template(function={"Description": "v2"}), "UPDATE")

    assert stack()["StackStatus"] == "UPDATE_FAILED"
    [resource, _] = failures()
    assert resource[:3] == ("ApiLambdaFunction", "AWS::Lambda::Function", "UPDATE_FAILED")
    refused = [r for r in caplog.records if r.getMessage().startswith("lambda refused")]
    assert len(refused) == 1  # checked once: the role was updated before the function
    assert handler_reason(resource[3]) == XRAY_TEXT
    role = client("iam").list_roles()["Roles"][0]["Arn"]
    [document] = principals.identity_policies(role)  # the role has its new policies
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}
    ]


@pytest.mark.usefixtures("aws")
def test_adding_the_grant_with_tracing_on_a_redeploy_succeeds() -> None:
    deploy(stack_template(function={"TracingConfig": {"Mode": "PassThrough"}}), "CREATE")

    deploy(stack_template(XRAY), "UPDATE")

    assert (stack()["StackStatus"], failures()) == ("UPDATE_COMPLETE", [])
    configuration = client("lambda").get_function_configuration(FunctionName="docflow-local-api")
    assert configuration["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.usefixtures("aws")
def test_a_stack_dead_letter_queue_with_send_message_keeps_its_dead_letter_config() -> None:
    dlq = {"Fn::GetAtt": ["ApiDeadLetters", "Arn"]}
    template = json.loads(
        stack_template(
            XRAY,
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq},
            function={"DeadLetterConfig": {"TargetArn": dlq}},
        )
    )
    template["Resources"]["ApiDeadLetters"] = queue("api-dead-letters")

    deploy(json.dumps(template), "CREATE")

    assert stack()["StackStatus"] == "CREATE_COMPLETE"
    fn = get_backend(ACCOUNT, REGION).get_function("docflow-local-api")
    assert getattr(fn, "localcloud_dead_letter_config", None) == {
        "TargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:api-dead-letters"
    }


@pytest.mark.usefixtures("aws")
def test_a_stack_mapping_without_the_queue_reads_fails_naming_the_mapping() -> None:
    template = json.loads(stack_template(XRAY))
    template["Resources"]["NotifyQueue"] = queue("notify")
    template["Resources"]["ApiEventSourceMappingSQSNotifyQueue"] = {
        **event_source_mapping(arn_of("NotifyQueue"), "ApiLambdaFunction"),
        "DependsOn": ["ApiIamRoleLambdaExecution"],
    }

    deploy(json.dumps(template), "CREATE")

    [resource, _] = failures()
    assert resource[:3] == (
        "ApiEventSourceMappingSQSNotifyQueue",
        "AWS::Lambda::EventSourceMapping",
        "CREATE_FAILED",
    )
    assert handler_reason(resource[3]) == (
        "Invalid request provided: " + missing_grant("ReceiveMessage", "SQS")
    )


@pytest.mark.usefixtures("aws")
def test_a_stack_event_invoke_config_without_send_message_fails() -> None:
    template = json.loads(stack_template(XRAY))
    template["Resources"]["IntakeDeadLetterQueue"] = queue("intake-dlq")
    template["Resources"]["ApiLambdaEvConf"] = event_invoke_config(
        "ApiLambdaFunction",
        Qualifier="$LATEST",
        MaximumRetryAttempts=2,
        DestinationConfig=on_failure("IntakeDeadLetterQueue"),
    )

    deploy(json.dumps(template), "CREATE")

    [resource, _] = failures()
    assert resource[:3] == ("ApiLambdaEvConf", "AWS::Lambda::EventInvokeConfig", "CREATE_FAILED")
    assert handler_reason(resource[3]) == missing_grant("SendMessage", "SQS")


@pytest.mark.usefixtures("aws")
def test_a_resource_failing_for_a_reason_other_than_aws_says_it_is_the_emulator() -> None:
    template = json.loads(stack_template(XRAY))
    template["Resources"]["Broken"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": {"Fn::Select": [3, ["a"]]}},
    }

    deploy(json.dumps(template), "CREATE")

    [resource, _] = failures()
    assert resource[:3] == ("Broken", "AWS::SQS::Queue", "CREATE_FAILED")
    assert resource[3].startswith("localcloud: IndexError")
