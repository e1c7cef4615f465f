"""Each compatibility patch, observed through the AWS APIs of a running localcloud server.

The stack is deployed with a change set, as osls does, from a hand-made template using the
resource types serverless.yml compiles to.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from functools import partial
from typing import Any

import pytest

from tests.localcloud.conftest import ROOT, Cloud, make_zip, wait_for
from tests.resources import (
    arn_of,
    event_invoke_config,
    event_source_mapping,
    http_api,
    on_failure,
    permission,
    queue,
    subscription,
    topic_queue_policy,
)

ROLE = {"Fn::GetAtt": ["Role", "Arn"]}
RECORDER = """
import json, os, boto3
def handler(event, context):
    print("recording", context.aws_request_id)
    boto3.client("s3").put_object(
        Bucket="lc-records", Key=f"{os.environ['TAG']}/{context.aws_request_id}.json",
        Body=json.dumps(event).encode())
    return {"recorded": True}
"""
FAILING = """
def handler(event, context):
    raise RuntimeError("always fails")
"""
STEP = """
def handler(event, context):
    return {"n": event["n"] + 1}
"""
API = """
import json
def handler(event, context):
    return {"statusCode": 201, "headers": {"x-route": event["routeKey"]},
            "body": json.dumps({"event": event})}
"""
BATCH = """
def handler(event, context):
    print("batch", [r["body"] for r in event["Records"]])
    failed = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]
    return {"batchItemFailures": failed}
"""
STREAM = """
def handler(event, context):
    ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
    print("stream", ids, [r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
    if "poison" in ids:
        raise ValueError("poison")
"""
KINESIS = """
import base64
def handler(event, context):
    items = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    print("kinesis", items)
    return {"batchItemFailures": [
        {"itemIdentifier": r["kinesis"]["sequenceNumber"]}
        for r, item in zip(event["Records"], items) if item == "poison"]}
"""
WINDOWED = """
import base64, json
def handler(event, context):
    items = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    state = {"items": (event.get("state") or {}).get("items", []) + items}
    print("window", json.dumps({"window": event["window"], "final": event["isFinalInvokeForWindow"],
                                "items": items, "state": event.get("state")}))
    return {"state": state, "batchItemFailures": []}
"""
AUTHORIZER = """
def handler(event, context):
    ok = event["headers"].get("authorization") == "good"
    return {"isAuthorized": ok, "context": {"owner": "owner-1"}}
"""


def _arn(service: str, resource: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:aws:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"}


GRANTS: list[dict[str, Any]] = [
    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::lc-records/*"},
    {
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": _arn("logs", "log-group:/aws/lambda/lc-*:*"),
    },
    {
        "Effect": "Allow",
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "Resource": _arn("sqs", "lc-work"),
    },
    {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": [
            _arn("sqs", name)
            for name in ("lc-failures", "lc-kinesis-failures", "lc-stream-failures")
        ],
    },
    {
        "Effect": "Allow",
        "Action": [
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards",
        ],
        "Resource": [_arn("kinesis", "stream/lc-logs"), _arn("kinesis", "stream/lc-windowed")],
    },
    {
        "Effect": "Allow",
        "Action": [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
        ],
        "Resource": _arn("dynamodb", "table/lc-stream/stream/*"),
    },
    {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": _arn("lambda", "function:lc-step"),
    },
]


def _function(code: str, tag: str, timeout: int = 10) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": f"lc-{tag}",
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": ROLE,
            "Timeout": timeout,
            "Code": {"ZipFile": code},
            "Environment": {"Variables": {"TAG": tag}},
        },
    }


def _kinesis_stream(name: str) -> dict[str, Any]:
    return {"Type": "AWS::Kinesis::Stream", "Properties": {"Name": name, "ShardCount": 1}}


def _kinesis_mapping(stream: str, function: str, **settings: Any) -> dict[str, Any]:
    """A mapping of a Kinesis stream read from its start, reporting the items that failed."""
    return event_source_mapping(
        arn_of(stream),
        function,
        StartingPosition="TRIM_HORIZON",
        FunctionResponseTypes=["ReportBatchItemFailures"],
        **settings,
    )


def template() -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {
                                    "Service": ["lambda.amazonaws.com", "states.amazonaws.com"]
                                },
                                "Action": "sts:AssumeRole",
                            }
                        ]
                    },
                    # The local stack enforces IAM: the functions, their event sources and
                    # destinations, and the state machine get exactly what they use.
                    "Policies": [{"PolicyName": "lc", "PolicyDocument": {"Statement": GRANTS}}],
                },
            },
            "Records": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "lc-records"}},
            "Recorder": _function(RECORDER, "s3"),
            "SnsRecorder": _function(RECORDER, "sns"),
            "EventsRecorder": _function(RECORDER, "events"),
            "DocumentRule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "lc-documents",
                    "EventPattern": {"source": ["docflow.test"]},
                    "Targets": [
                        {"Id": "recorder", "Arn": {"Fn::GetAtt": ["EventsRecorder", "Arn"]}}
                    ],
                },
            },
            "Failing": _function(FAILING, "failing"),
            "Step": _function(STEP, "step"),
            "Api": _function(API, "api"),
            "Authorizer": _function(AUTHORIZER, "authorizer"),
            "RecorderPermission": permission("Recorder", "s3.amazonaws.com"),
            "Documents": {
                "Type": "AWS::S3::Bucket",
                "DependsOn": "RecorderPermission",
                "Properties": {
                    "BucketName": "lc-documents",
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "NotificationConfiguration": {
                        "LambdaConfigurations": [
                            {
                                "Event": "s3:ObjectCreated:*",
                                "Function": {"Fn::GetAtt": ["Recorder", "Arn"]},
                                "Filter": {
                                    "S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"}]}
                                },
                            }
                        ]
                    },
                },
            },
            "DocumentsPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "Documents"},
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": "arn:aws:s3:::lc-documents/*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ]
                    },
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "lc-topic"}},
            "Queue": queue("lc-queue"),
            "QueuePolicy": topic_queue_policy("Queue", "Topic"),
            "SnsPermission": permission("SnsRecorder", "sns.amazonaws.com"),
            "EventsPermission": permission("EventsRecorder", "events.amazonaws.com"),
            "ApiPermission": permission("Api", "apigateway.amazonaws.com"),
            "AuthorizerPermission": permission("Authorizer", "apigateway.amazonaws.com"),
            "QueueSubscription": subscription(
                "Topic", "sqs", arn_of("Queue"), RawMessageDelivery=True
            ),
            "LambdaSubscription": subscription("Topic", "lambda", arn_of("SnsRecorder")),
            "FailureQueue": queue("lc-failures"),
            "Batch": _function(BATCH, "batch"),
            "Stream": _function(STREAM, "stream"),
            "Kinesis": _function(KINESIS, "kinesis"),
            "LogStream": _kinesis_stream("lc-logs"),
            "KinesisFailures": queue("lc-kinesis-failures"),
            "KinesisMapping": _kinesis_mapping(
                "LogStream",
                "Kinesis",
                BatchSize=100,
                MaximumRetryAttempts=1,
                DestinationConfig=on_failure("KinesisFailures"),
            ),
            "Windowed": _function(WINDOWED, "windowed"),
            "WindowedStream": _kinesis_stream("lc-windowed"),
            "WindowedMapping": _kinesis_mapping(
                "WindowedStream", "Windowed", BatchSize=2, TumblingWindowInSeconds=3
            ),
            "StreamTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "lc-stream",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                },
            },
            "StreamFailures": queue("lc-stream-failures"),
            "StreamMapping": event_source_mapping(
                {"Fn::GetAtt": ["StreamTable", "StreamArn"]},
                "Stream",
                StartingPosition="TRIM_HORIZON",
                BatchSize=10,
                MaximumRetryAttempts=1,
                DestinationConfig=on_failure("StreamFailures"),
            ),
            "WorkDeadLetters": queue("lc-work-dlq"),
            "Work": queue(
                "lc-work",
                VisibilityTimeout=1,
                RedrivePolicy={
                    "deadLetterTargetArn": arn_of("WorkDeadLetters"),
                    "maxReceiveCount": 2,
                },
            ),
            "WorkMapping": event_source_mapping(
                arn_of("Work"),
                "Batch",
                BatchSize=10,
                FunctionResponseTypes=["ReportBatchItemFailures"],
            ),
            "FailingInvokeConfig": event_invoke_config(
                "Failing",
                Qualifier="$LATEST",
                MaximumRetryAttempts=1,
                DestinationConfig=on_failure("FailureQueue"),
            ),
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": "lc-machine",
                    "RoleArn": ROLE,
                    # serverless-step-functions names variables by hash: some start with a digit
                    "DefinitionString": {
                        "Fn::Sub": [
                            json.dumps(
                                {
                                    "StartAt": "One",
                                    "States": {
                                        "One": {
                                            "Type": "Task",
                                            "Resource": "${0a1b}",
                                            "Next": "Two",
                                        },
                                        "Two": {
                                            "Type": "Task",
                                            "Resource": "arn:aws:states:::lambda:invoke",
                                            "Parameters": {
                                                "FunctionName": "${0a1b}",
                                                "Payload.$": "$",
                                            },
                                            "OutputPath": "$.Payload",
                                            "End": True,
                                        },
                                    },
                                }
                            ),
                            {"0a1b": {"Fn::GetAtt": ["Step", "Arn"]}},
                        ]
                    },
                },
            },
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Name": "lc/api-keys",
                    "GenerateSecretString": {
                        "SecretStringTemplate": '{"keys": []}',
                        "GenerateStringKey": "bootstrap",
                        "PasswordLength": 32,
                    },
                },
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "lc-alarm",
                    "MetricName": "Errors",
                    "Namespace": "AWS/Lambda",
                    "ComparisonOperator": "GreaterThanThreshold",
                    "EvaluationPeriods": 1,
                    "Period": 60,
                    "Statistic": "Sum",
                    "Threshold": 1,
                },
            },
            **http_api(
                "lc-api",
                "Api",
                "GET /items/{id}",
                AuthorizationType="CUSTOM",
                AuthorizerId={"Ref": "HttpApiAuthorizer"},
            ),
            "HttpApiAuthorizer": {
                "Type": "AWS::ApiGatewayV2::Authorizer",
                "Properties": {
                    "ApiId": {"Ref": "HttpApi"},
                    "AuthorizerType": "REQUEST",
                    "Name": "keys",
                    "AuthorizerPayloadFormatVersion": "2.0",
                    "EnableSimpleResponses": True,
                    "IdentitySource": ["$request.header.Authorization"],
                    "AuthorizerUri": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                                {"Fn::GetAtt": ["Authorizer", "Arn"]},
                                "/invocations",
                            ],
                        ]
                    },
                },
            },
        },
        "Outputs": {
            "SecretArn": {"Value": {"Ref": "Secret"}},
            "HttpApiId": {"Value": {"Ref": "HttpApi"}},
            "AlarmName": {"Value": {"Ref": "Alarm"}},
            "Greeting": {
                "Value": {"Fn::Sub": ["${1st} ${Name}", {"1st": "hello", "Name": "docflow"}]}
            },
        },
    }


LAYERED = """
import helper
def handler(event, context):
    return {"from": helper.SOURCE}
"""


def _with_layer(layer_key: str) -> dict[str, Any]:
    resources = template()
    resources["Resources"]["Layer"] = {
        "Type": "AWS::Lambda::LayerVersion",
        "Properties": {
            "LayerName": "lc-deps",
            "Content": {"S3Bucket": "lc-artifacts", "S3Key": layer_key},
            "CompatibleRuntimes": ["python3.12"],
        },
    }
    resources["Resources"]["Group"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": "/lc/group", "RetentionInDays": 1},
    }
    resources["Outputs"]["GroupName"] = {"Value": {"Ref": "Group"}}
    layered = _function(LAYERED, "layered")
    layered["Properties"]["Layers"] = [{"Ref": "Layer"}]
    resources["Resources"]["Layered"] = layered
    return resources


def _upload_layer(cloud: Cloud, key: str, source: str) -> None:
    cloud.client("s3").put_object(
        Bucket="lc-artifacts",
        Key=key,
        Body=make_zip({"python/helper.py": f"SOURCE = {source!r}\n"}),
    )


@pytest.fixture(scope="module")
def outputs(cloud: Cloud) -> dict[str, str]:
    # What serverless does before deploying: the layer's zip goes to the deployment bucket.
    cloud.client("s3").create_bucket(Bucket="lc-artifacts")
    _upload_layer(cloud, "layer-1.zip", "the layer")
    return cloud.deploy("lc-test", _with_layer("layer-1.zip"))


def test_function_gets_its_layer_from_the_template(cloud: Cloud, outputs: dict[str, str]) -> None:
    lam = cloud.client("lambda")
    layers = lam.get_function_configuration(FunctionName="lc-layered")["Layers"]
    assert [layer["Arn"].split(":")[-2:] for layer in layers] == [["lc-deps", "1"]]
    answer = lam.invoke(FunctionName="lc-layered", Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == {"from": "the layer"}


def _printed(cloud: Cloud, function: str, prefix: str) -> list[str]:
    """The lines `function` logged that start with `prefix`, oldest first."""
    logs = cloud.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    except logs.exceptions.ResourceNotFoundException:  # before the first invocation
        return []
    return [e["message"] for e in events if e["message"].startswith(prefix)]


def _records(cloud: Cloud, tag: str) -> list[dict[str, Any]]:
    s3 = cloud.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="lc-records", Prefix=f"{tag}/").get("Contents", [])
    ]
    return [json.loads(s3.get_object(Bucket="lc-records", Key=k)["Body"].read()) for k in keys]


def test_validate_template_rejects_errors_not_warnings(cloud: Cloud) -> None:
    cfn = cloud.client("cloudformation")
    warning_only = {
        "Parameters": {"Unused": {"Type": "String", "Default": "x"}},  # cfn-lint W2001
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    cfn.validate_template(TemplateBody=json.dumps(warning_only))
    error = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"NoSuchProperty": 1}}}
    }
    with pytest.raises(cfn.exceptions.ClientError, match="NoSuchProperty"):
        cfn.validate_template(TemplateBody=json.dumps(error))


def test_change_set_deploy_shows_outputs_and_sub_variable_map(outputs: dict[str, str]) -> None:
    assert outputs["Greeting"] == "hello docflow"
    assert outputs["SecretArn"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:lc/api-keys"
    )
    assert len(outputs["HttpApiId"]) == 10
    assert outputs["AlarmName"] == "lc-alarm"  # a type moto lacks resolves by name, not "None"


def test_secret_is_created_from_the_template(cloud: Cloud, outputs: dict[str, str]) -> None:
    value = json.loads(
        cloud.client("secretsmanager").get_secret_value(SecretId="lc/api-keys")["SecretString"]
    )
    assert value["keys"] == []
    assert len(value["bootstrap"]) == 32


def test_upload_under_prefix_invokes_function_with_s3_event(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    s3 = cloud.client("s3")
    put = s3.put_object(Bucket="lc-documents", Key="incoming/a b+c.csv", Body=b"id,amount\n1,2\n")
    s3.put_object(Bucket="lc-documents", Key="elsewhere/x.csv", Body=b"ignored")
    (event,) = wait_for(lambda: _records(cloud, "s3"))
    record = event["Records"][0]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == "lc-documents"
    assert record["s3"]["object"]["key"] == "incoming/a+b%2Bc.csv"
    assert record["s3"]["object"]["versionId"] == put["VersionId"]
    assert record["s3"]["object"]["size"] == 14
    assert set(record) >= {"userIdentity", "requestParameters", "responseElements", "eventTime"}


def test_sns_subscriptions_from_template_deliver_to_sqs_and_lambda(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    sns, sqs = cloud.client("sns"), cloud.client("sqs")
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":lc-topic")
    )
    message_id = sns.publish(
        TopicArn=topic,
        Message='{"document": "d-1"}',
        Subject="document.processed",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "csv"}},
    )["MessageId"]
    queue = sqs.get_queue_url(QueueName="lc-queue")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in messages] == ['{"document": "d-1"}']  # raw delivery
    (event,) = wait_for(lambda: _records(cloud, "sns"))
    sns_record = event["Records"][0]["Sns"]
    assert (sns_record["TopicArn"], sns_record["MessageId"]) == (topic, message_id)
    assert sns_record["Subject"] == "document.processed"
    assert sns_record["MessageAttributes"] == {"kind": {"Type": "String", "Value": "csv"}}


def test_eventbridge_rule_delivers_to_a_lambda_target(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    events = cloud.client("events")
    events.put_events(
        Entries=[
            {
                "Source": "docflow.test",
                "DetailType": "document.processed",
                "Detail": '{"id": "d-1"}',
            },
            {"Source": "elsewhere", "DetailType": "other", "Detail": "{}"},
        ]
    )
    (event,) = wait_for(lambda: _records(cloud, "events"))
    assert (event["source"], event["detail-type"]) == ("docflow.test", "document.processed")
    assert event["detail"] == {"id": "d-1"}


def test_state_machine_runs_lambda_tasks_through_the_runner(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    sfn = cloud.client("stepfunctions")
    machine = next(
        m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "lc-machine"
    )
    runs = [
        sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"n": 1}')
        for _ in range(2)
    ]
    for run in runs:
        done = wait_for(
            lambda run=run: (
                (d := sfn.describe_execution(executionArn=run["executionArn"]))["status"]
                != "RUNNING"
                and d
            )
        )
        assert done["status"] == "SUCCEEDED"
        assert json.loads(done["output"]) == {"n": 3}


def test_failed_async_invocation_is_retried_then_sent_to_on_failure(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    lam, sqs = cloud.client("lambda"), cloud.client("sqs")
    answer = lam.invoke(FunctionName="lc-failing", InvocationType="Event", Payload=b'{"doc": 1}')
    assert answer["StatusCode"] == 202
    queue = sqs.get_queue_url(QueueName="lc-failures")["QueueUrl"]
    messages = wait_for(lambda: sqs.receive_message(QueueUrl=queue).get("Messages"))
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts: 1
    assert record["requestPayload"] == {"doc": 1}
    assert record["responsePayload"]["errorMessage"] == "always fails"


def test_sqs_poller_deletes_processed_and_dead_letters_failed_items(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    sqs = cloud.client("sqs")
    work = sqs.get_queue_url(QueueName="lc-work")["QueueUrl"]
    dead = sqs.get_queue_url(QueueName="lc-work-dlq")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=work,
        Entries=[{"Id": "1", "MessageBody": "good"}, {"Id": "2", "MessageBody": "poison"}],
    )
    dead_letters = wait_for(lambda: sqs.receive_message(QueueUrl=dead).get("Messages"))
    assert [m["Body"] for m in dead_letters] == ["poison"]
    batches = _printed(cloud, "lc-batch", "batch ")
    assert batches[0] == "batch ['good', 'poison']"
    assert batches[1:] == ["batch ['poison']"]  # redelivered after the visibility timeout
    attributes = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_stream_poller_delivers_in_order_retries_then_gives_up(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    ddb, sqs = cloud.client("dynamodb"), cloud.client("sqs")

    batches = partial(_printed, cloud, "lc-stream", "stream ")

    ddb.put_item(TableName="lc-stream", Item={"id": {"S": "a"}})
    wait_for(lambda: any(b.startswith("stream ['a']") for b in batches()))
    ddb.put_item(TableName="lc-stream", Item={"id": {"S": "poison"}})
    queue = sqs.get_queue_url(QueueName="lc-stream-failures")["QueueUrl"]
    failure = json.loads(
        wait_for(lambda: sqs.receive_message(QueueUrl=queue).get("Messages"))[0]["Body"]
    )
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts: 1
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    ddb.put_item(TableName="lc-stream", Item={"id": {"S": "c"}})
    wait_for(lambda: any(b.startswith("stream ['c']") for b in batches()))
    seen = batches()
    assert [b.split("]")[0] for b in seen] == [
        "stream ['a'",
        "stream ['poison'",
        "stream ['poison'",
        "stream ['c'",
    ]
    numbers = [int(b.split("['")[-1].split("'")[0]) for b in seen]
    assert numbers == sorted(numbers)
    assert numbers[0] < numbers[1] == numbers[2] < numbers[3]


def test_kinesis_poller_sends_batches_and_checkpoints_at_the_failed_record(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    kinesis, sqs = cloud.client("kinesis"), cloud.client("sqs")

    batches = partial(_printed, cloud, "lc-kinesis", "kinesis ")

    kinesis.put_records(
        StreamName="lc-logs",
        Records=[{"Data": d.encode(), "PartitionKey": "p"} for d in ("a", "b", "poison", "c")],
    )
    queue = sqs.get_queue_url(QueueName="lc-kinesis-failures")["QueueUrl"]
    messages = wait_for(lambda: sqs.receive_message(QueueUrl=queue).get("Messages"))
    failure = json.loads(messages[0]["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    kinesis.put_record(StreamName="lc-logs", Data=b"d", PartitionKey="p")
    wait_for(lambda: "kinesis ['d']" in batches())
    # how records group into batches depends on arrival; what must hold does not
    delivered = [ast.literal_eval(b.removeprefix("kinesis ")) for b in batches()]
    with_poison = [batch for batch in delivered if "poison" in batch]
    assert len(with_poison) == 2  # the first delivery and MaximumRetryAttempts: 1
    assert with_poison[1][0] == "poison"  # the retry starts at the failed record
    assert failure["KinesisBatchInfo"]["batchSize"] == len(with_poison[1])
    assert list(dict.fromkeys(item for batch in delivered for item in batch)) == [
        "a",
        "b",
        "poison",
        "c",
        "d",
    ]


def test_a_tumbling_window_carries_its_state_and_ends_with_a_final_invocation(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    kinesis = cloud.client("kinesis")

    def invocations() -> list[dict[str, Any]]:
        return [
            json.loads(line.removeprefix("window "))
            for line in _printed(cloud, "lc-windowed", "window ")
        ]

    # Three records in one window: Lambda sends them in batches of two, then, once the
    # window is over, a final invocation with no records and the state the last one returned.
    while time.time() % 3 > 1.5:  # all three inside one window
        time.sleep(0.1)
    kinesis.put_records(
        StreamName="lc-windowed",
        Records=[{"Data": d.encode(), "PartitionKey": "p"} for d in ("a", "b", "c")],
    )
    seen = wait_for(lambda: (found := invocations()) and found[-1]["final"] and found)
    assert [(i["items"], i["final"]) for i in seen] == [
        (["a", "b"], False),
        (["c"], False),
        ([], True),
    ]
    assert [i["state"] for i in seen] == [{}, {"items": ["a", "b"]}, {"items": ["a", "b", "c"]}]
    (window,) = {json.dumps(i["window"]) for i in seen}
    start, end = (
        datetime.fromisoformat(json.loads(window)[k].replace("Z", "+00:00"))
        for k in ("start", "end")
    )
    assert (end - start).total_seconds() == 3
    assert start.timestamp() % 3 == 0  # windows are aligned to their size


def test_sync_invoke_error_and_logs_in_cloudwatch(cloud: Cloud, outputs: dict[str, str]) -> None:
    lam = cloud.client("lambda")
    answer = lam.invoke(FunctionName="lc-failing", Payload=b"{}", LogType="Tail")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "always fails")
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    messages = _printed(cloud, "lc-failing", "")
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert f"END RequestId: {request_id}" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}") for m in messages)


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_http_api_routes_payload_2_and_authorizer(cloud: Cloud, outputs: dict[str, str]) -> None:
    status, headers, body = _get(
        f"{cloud.api_url}/items/42?tag=a&tag=b", {"Authorization": "good", "X-Trace": "t"}
    )
    assert status == 201
    assert headers["x-route"] == "GET /items/{id}"
    event = json.loads(body)["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "a,b"}
    assert event["headers"]["x-trace"] == "t"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["authorizer"] == {"lambda": {"owner": "owner-1"}}
    assert event["isBase64Encoded"] is False
    assert _get(f"{cloud.api_url}/items/42", {"Authorization": "bad"})[:3:2] == (
        403,
        b'{"message": "Forbidden"}',
    )
    assert _get(f"{cloud.api_url}/items/42", {})[0] == 401
    assert _get(f"{cloud.api_url}/nothing", {"Authorization": "good"})[0] == 404


def test_operation_moto_lacks_is_a_400_unsupported_operation(cloud: Cloud) -> None:
    sqs = cloud.client("sqs")
    queue = sqs.create_queue(QueueName="lc-unsupported")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    with pytest.raises(sqs.exceptions.ClientError) as raised:
        sqs.start_message_move_task(SourceArn=arn, DestinationArn=arn)
    error = raised.value.response
    assert error["Error"]["Code"] == "UnsupportedOperation"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["RetryAttempts"] == 0


def test_sent_mail_is_written_to_the_mail_log(cloud: Cloud) -> None:
    ses = cloud.client("ses")
    ses.verify_email_identity(EmailAddress="docflow@example.com")
    sent = ses.send_email(
        Source="docflow@example.com",
        Destination={"ToAddresses": ["owner@example.com"]},
        Message={"Subject": {"Data": "processed"}, "Body": {"Text": {"Data": "d-1 is done"}}},
    )
    lines = (cloud.state_dir / "mail.jsonl").read_text().splitlines()
    entry = json.loads(lines[-1])
    assert entry["message_id"] == sent["MessageId"]
    assert (entry["source"], entry["subject"], entry["body"]) == (
        "docflow@example.com",
        "processed",
        "d-1 is done",
    )
    assert entry["destinations"]["ToAddresses"] == ["owner@example.com"]


def test_redeploy_publishes_a_changed_layer_and_keeps_other_resources(
    cloud: Cloud, outputs: dict[str, str]
) -> None:
    _upload_layer(cloud, "layer-2.zip", "the new layer")
    changed = _with_layer("layer-2.zip")
    # serverless uploads new code on every deploy, so each function changes with its layer
    # (moto updates only resources whose own template changed, not dependents of a replacement)
    changed["Resources"]["Layered"]["Properties"]["Environment"]["Variables"]["DEPLOY"] = "2"
    # a change moto cannot apply (it has no update for log groups): the Ref must still resolve
    changed["Resources"]["Group"]["Properties"]["RetentionInDays"] = 3
    again = cloud.deploy("lc-test", changed)
    assert again["SecretArn"] == outputs["SecretArn"]
    lam = cloud.client("lambda")
    layers = lam.get_function_configuration(FunctionName="lc-layered")["Layers"]
    assert [layer["Arn"].split(":")[-2:] for layer in layers] == [["lc-deps", "2"]]
    answer = lam.invoke(FunctionName="lc-layered", Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == {"from": "the new layer"}
    assert again["GroupName"] == outputs["GroupName"] == "/lc/group"


def test_port_in_use_is_one_clear_line(cloud: Cloud) -> None:
    finished = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "localcloud",
            "serve",
            "--port",
            str(cloud.port),
            "--state-dir",
            str(cloud.state_dir / "other"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "Traceback" not in finished.stderr
    assert finished.stderr.strip() == (
        f"localcloud: 127.0.0.1:{cloud.port} is already in use. Stop what listens there "
        "(`make down` if it is a local stack) or choose another port with --port."
    )


def test_patches_refuse_another_moto_release() -> None:
    from localcloud.patches import MOTO_VERSION, MotoVersionError, check_moto_version

    check_moto_version(MOTO_VERSION)
    with pytest.raises(MotoVersionError, match=r"moto 5\.2\.5.*moto 5\.3\.0"):
        check_moto_version("5.3.0")


def test_moto_version_is_the_pinned_one() -> None:
    from localcloud.patches import MOTO_VERSION

    pins = (ROOT / "requirements-dev.txt").read_text()
    assert f"moto[server]=={MOTO_VERSION}\n" in pins


def test_a_stack_deployed_again_after_removal_gets_its_own_outputs(cloud: Cloud) -> None:
    """osls names every change set of a stack alike and exports its deployment bucket's name:
    `sls remove` then `sls deploy` works, and the export lives and dies with the stack."""
    cfn = cloud.client("cloudformation")

    def deploy(value: str) -> dict[str, str]:
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"Deployed": {"Value": value, "Export": {"Name": "lc-again-deployed"}}},
        }
        cfn.create_change_set(
            StackName="lc-again",
            ChangeSetName="lc-again-change-set",
            TemplateBody=json.dumps(template),
            ChangeSetType="CREATE",
        )
        cfn.execute_change_set(ChangeSetName="lc-again-change-set", StackName="lc-again")
        (stack,) = cfn.describe_stacks(StackName="lc-again")["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def exports() -> dict[str, str]:
        return {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}

    assert deploy("first") == {"Deployed": "first"}
    assert exports() == {"lc-again-deployed": "first"}
    cfn.delete_stack(StackName="lc-again")
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.describe_stacks(StackName="lc-again")
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.describe_change_set(ChangeSetName="lc-again-change-set", StackName="lc-again")
    assert exports() == {}

    assert deploy("second") == {"Deployed": "second"}
    assert exports() == {"lc-again-deployed": "second"}


def test_an_http_api_url_output_names_the_local_gateway(cloud: Cloud) -> None:
    """The URL osls outputs for an HTTP API (what `sls info` prints) is where it answers."""
    execute_api_url = {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": "HttpApi"},
                ".execute-api.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
            ],
        ]
    }
    outputs = cloud.deploy(
        "lc-api-url",
        {
            "Resources": {
                "HttpApi": {
                    "Type": "AWS::ApiGatewayV2::Api",
                    "Properties": {"Name": "lc-api-url", "ProtocolType": "HTTP"},
                },
                "Topic": {"Type": "AWS::SNS::Topic"},
            },
            "Outputs": {
                "HttpApiUrl": {"Value": execute_api_url},
                "Elsewhere": {"Value": "https://example.execute-api.us-east-1.amazonaws.com"},
            },
        },
    )

    assert outputs == {
        "HttpApiUrl": cloud.api_url,
        # Not an API of this stack: left as the template says.
        "Elsewhere": "https://example.execute-api.us-east-1.amazonaws.com",
    }
