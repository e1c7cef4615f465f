"""What IAM authorises for a request: the action, the resource ARN and context keys per service.

Requests are built by botocore itself (its serializers and signer, never sent), so the test
reads them as the local endpoint does.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSRequest

from localcloud.iam.requests import HttpRequest, Need, classify, signer_of

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _captured(service: str, operation: str, **params: Any) -> HttpRequest:
    """The HTTP request botocore would send for `operation`, as the middleware reads it."""
    client = boto3.client(
        service,
        region_name=REGION,
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="ASIAEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="token",
    )
    seen: dict[str, AWSRequest] = {}

    def capture(request: AWSRequest, **_: Any) -> None:
        seen["request"] = request
        raise _CapturedError

    client.meta.events.register("before-send", capture)
    with pytest.raises(_CapturedError):
        getattr(client, operation)(**params)
    sent = seen["request"]
    url = urlsplit(sent.url)
    body = sent.body if isinstance(sent.body, bytes) else (sent.body or "").encode()
    from urllib.parse import unquote

    return HttpRequest(
        method=sent.method,
        path=unquote(url.path),
        raw_path=url.path,
        query=parse_qs(url.query, keep_blank_values=True),
        headers={
            k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in sent.headers.items()
        },
        body=body,
    )


class _CapturedError(Exception):
    pass


def needs(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    request = _captured(service, operation, **params)
    signer = signer_of(request)
    assert signer is not None
    return [(n.action, n.resource) for n in classify(request, signer, ACCOUNT).needs]


TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/docs"


def test_dynamodb_actions_name_the_table_or_its_index() -> None:
    assert needs("dynamodb", "update_item", TableName="docs", Key={"id": {"S": "1"}}) == [
        ("dynamodb:UpdateItem", TABLE)
    ]
    assert needs(
        "dynamodb",
        "query",
        TableName="docs",
        IndexName="by_owner",
        KeyConditionExpression="o = :o",
        ExpressionAttributeValues={":o": {"S": "x"}},
    ) == [("dynamodb:Query", f"{TABLE}/index/by_owner")]


def test_a_transaction_needs_each_item_action_on_its_table() -> None:
    items = [
        {"Put": {"TableName": "docs", "Item": {"id": {"S": "1"}}}},
        {
            "Update": {
                "TableName": "other",
                "Key": {"id": {"S": "1"}},
                "UpdateExpression": "SET a = :a",
                "ExpressionAttributeValues": {":a": {"S": "x"}},
            }
        },
    ]
    assert needs("dynamodb", "transact_write_items", TransactItems=items) == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"),
    ]


def test_s3_object_actions_follow_versions_copies_and_batch_deletes() -> None:
    bucket = "arn:aws:s3:::b"
    assert needs("s3", "get_object", Bucket="b", Key="incoming/a b.png") == [
        ("s3:GetObject", f"{bucket}/incoming/a b.png")
    ]
    assert needs("s3", "get_object", Bucket="b", Key="k", VersionId="v1") == [
        ("s3:GetObjectVersion", f"{bucket}/k")
    ]
    assert needs("s3", "head_object", Bucket="b", Key="k") == [("s3:GetObject", f"{bucket}/k")]
    assert needs(
        "s3",
        "copy_object",
        Bucket="b",
        Key="quarantine/k",
        CopySource={"Bucket": "b", "Key": "incoming/k"},
    ) == [("s3:PutObject", f"{bucket}/quarantine/k"), ("s3:GetObject", f"{bucket}/incoming/k")]
    assert needs(
        "s3",
        "delete_objects",
        Bucket="b",
        Delete={"Objects": [{"Key": "p/1"}, {"Key": "p/2", "VersionId": "v2"}]},
    ) == [("s3:DeleteObject", f"{bucket}/p/1"), ("s3:DeleteObjectVersion", f"{bucket}/p/2")]
    assert needs("s3", "get_bucket_policy", Bucket="b") == [("s3:GetBucketPolicy", bucket)]


def test_s3_listing_carries_the_prefix_condition_key() -> None:
    request = _captured("s3", "list_object_versions", Bucket="b", Prefix="processed/d1/")
    signer = signer_of(request)
    assert signer is not None
    (need,) = classify(request, signer, ACCOUNT).needs
    assert need == Need("s3:ListBucketVersions", "arn:aws:s3:::b", {"s3:prefix": "processed/d1/"})


def test_batch_operations_are_authorised_as_their_single_action() -> None:
    url = f"http://127.0.0.1:4566/{ACCOUNT}/work"
    assert needs(
        "sqs", "send_message_batch", QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}]
    ) == [("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:work")]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:events"
    assert needs("sns", "publish", TopicArn=topic, Message="m") == [("sns:Publish", topic)]


def test_actions_without_a_resource_type_are_authorised_on_star() -> None:
    assert needs("stepfunctions", "send_task_success", taskToken="t", output="{}") == [
        ("states:SendTaskSuccess", "*")
    ]
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m"
    assert needs("stepfunctions", "start_execution", stateMachineArn=machine) == [
        ("states:StartExecution", machine)
    ]


def test_lambda_invoke_names_the_function_and_its_qualifier() -> None:
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    assert needs("lambda", "invoke", FunctionName="f") == [("lambda:InvokeFunction", function)]
    assert needs("lambda", "invoke", FunctionName="f", Qualifier="live") == [
        ("lambda:InvokeFunction", f"{function}:live")
    ]


def test_ses_send_is_authorised_on_the_sending_identity_with_its_address() -> None:
    request = _captured(
        "ses",
        "send_email",
        Source="docflow <noreply@example.com>",
        Destination={"ToAddresses": ["a@example.org"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )
    signer = signer_of(request)
    assert signer is not None
    (need,) = classify(request, signer, ACCOUNT).needs
    assert need.action == "ses:SendEmail"
    assert need.resource == f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com"
    assert need.context["ses:FromAddress"] == "noreply@example.com"


def test_secrets_kinesis_and_logs_name_their_resources() -> None:
    assert needs(
        "secretsmanager",
        "get_secret_value",
        SecretId="arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf",
    ) == [
        (
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf",
        )
    ]
    assert needs("kinesis", "put_record", StreamName="logs", Data=b"x", PartitionKey="p") == [
        ("kinesis:PutRecord", f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/logs")
    ]
    assert json.loads(json.dumps(needs("sts", "get_caller_identity"))) == [
        ["sts:GetCallerIdentity", "*"]
    ]
