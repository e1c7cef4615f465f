"""Service limits of the local stack, each refused as the service refuses it, over loopback.

The figures come from `localcloud.limits`; each test sends one byte under and one byte over.
"""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from localcloud import limits
from tests.localcloud.conftest import Cloud, wait_for
from tests.resources import http_api, permission
from tests.support import lambda_role, log_writes, refusal

ECHO = """
import json
def handler(event, context):
    if isinstance(event, dict) and "answer_bytes" in event:
        return "x" * (event["answer_bytes"] - 2)  # a JSON string of exactly that many bytes
    if isinstance(event, dict) and event.get("version") == "2.0":
        query = event.get("queryStringParameters") or {}
        if "answer_bytes" in query:
            return {"statusCode": 200, "body": "x" * int(query["answer_bytes"])}
        print("http request", len(event.get("body") or ""))
        return {"statusCode": 200, "body": json.dumps({"body": len(event.get("body") or "")})}
    return {"event_bytes": len(json.dumps(event))}
"""


def template() -> dict[str, Any]:
    return {
        "Resources": {
            # IAM is enforced locally: the function writes its logs with its role.
            "Role": lambda_role(log_writes()),
            "Echo": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "lc-limits-echo",
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Timeout": 30,
                    "MemorySize": 512,
                    "Code": {"ZipFile": ECHO},
                },
            },
            "EchoPermission": permission("Echo", "apigateway.amazonaws.com"),
            **http_api("lc-limits", "Echo", "ANY /echo"),
        }
    }


@pytest.fixture(scope="module")
def echo(cloud: Cloud) -> str:
    cloud.deploy("lc-limits", template())
    return "lc-limits-echo"


def _string_payload(size: int) -> bytes:
    return b'"' + b"a" * (size - 2) + b'"'


def http_requests_seen(cloud: Cloud) -> int:
    events = cloud.client("logs").filter_log_events(logGroupName="/aws/lambda/lc-limits-echo")
    return sum(e["message"].startswith("http request") for e in events["events"])


# -- Lambda ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invocation_type", "fits", "over", "answer", "message"),
    [
        (
            "RequestResponse",
            limits.LAMBDA_SYNC_REQUEST_MAX,
            6_291_457,
            (200, b'{"event_bytes": 6291456}'),
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        ),
        (
            "Event",
            limits.LAMBDA_ASYNC_REQUEST_MAX,
            1_048_577,
            (202, b""),
            "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)",
        ),
    ],
    ids=["synchronous-6-mb", "asynchronous-1-mb"],
)
def test_an_invoke_over_its_limit_is_refused_before_it_runs(
    cloud: Cloud,
    echo: str,
    invocation_type: str,
    fits: int,
    over: int,
    answer: tuple[int, bytes],
    message: str,
) -> None:
    client = cloud.client("lambda")
    largest = client.invoke(
        FunctionName=echo, InvocationType=invocation_type, Payload=_string_payload(fits)
    )
    assert (largest["StatusCode"], largest["Payload"].read()) == answer
    refused = refusal(
        lambda: client.invoke(
            FunctionName=echo, InvocationType=invocation_type, Payload=_string_payload(over)
        )
    )
    assert refused == (413, "RequestEntityTooLargeException", message)


def test_a_response_over_the_limit_is_the_functions_error(cloud: Cloud, echo: str) -> None:
    client = cloud.client("lambda")
    largest = client.invoke(
        FunctionName=echo, Payload=json.dumps({"answer_bytes": limits.LAMBDA_SYNC_RESPONSE_MAX})
    )
    assert "FunctionError" not in largest
    assert len(largest["Payload"].read()) == 6_291_556  # moto refused answers over 6,000,000
    too_large = client.invoke(FunctionName=echo, Payload=json.dumps({"answer_bytes": 6_291_557}))
    assert too_large["StatusCode"] == 200
    assert too_large["FunctionError"] == "Unhandled"
    assert json.loads(too_large["Payload"].read()) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


# -- HTTP API ---------------------------------------------------------------------------------

TOO_LARGE = {"message": "Request Entity Too Large"}


def _post(cloud: Cloud, body: bytes, content_type: str | None = None) -> tuple[int, Any]:
    """POST /echo with `body`: the status and the JSON it answered."""
    headers = {"content-type": content_type} if content_type else {}
    answer = requests.post(f"{cloud.api_url}/echo", data=body, headers=headers, timeout=60)
    return answer.status_code, answer.json()


def test_an_http_api_body_over_10_mb_is_refused_without_invoking(cloud: Cloud, echo: str) -> None:
    before = http_requests_seen(cloud)
    assert _post(cloud, b"a" * (limits.HTTP_API_PAYLOAD_MAX + 1)) == (413, TOO_LARGE)
    assert _post(cloud, b"a" * 1000, "text/plain") == (200, {"body": 1000})
    # Only the second request reached the function.
    assert wait_for(lambda: http_requests_seen(cloud) == before + 1)


def test_an_http_api_event_over_lambdas_6_mb_is_refused_with_413(cloud: Cloud, echo: str) -> None:
    before = http_requests_seen(cloud)
    # 4.8 MB of binary: under API Gateway's 10 MB, but base64 in the event makes 6.4 MB.
    body = bytes(range(256)) * (4_800_000 // 256)
    assert _post(cloud, body, "application/octet-stream") == (413, TOO_LARGE)
    assert _post(cloud, b"a" * 5_000_000, "text/plain") == (200, {"body": 5_000_000})
    assert wait_for(lambda: http_requests_seen(cloud) == before + 1)
    assert len(base64.b64encode(body)) > limits.LAMBDA_SYNC_REQUEST_MAX


def test_an_http_api_answer_over_lambdas_limit_is_a_500(cloud: Cloud, echo: str) -> None:
    answer = requests.get(f"{cloud.api_url}/echo", params={"answer_bytes": 6_300_000}, timeout=60)
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal Server Error"})


@pytest.mark.parametrize("length", ["abc", "-1", "1e3"])
def test_a_malformed_content_length_is_a_400_in_json(cloud: Cloud, length: str) -> None:
    address = urlparse(cloud.api_url)
    connection = http.client.HTTPConnection(str(address.hostname), address.port, timeout=30)
    connection.putrequest("POST", "/echo")
    connection.putheader("Content-Length", length)
    connection.endheaders()
    answer = connection.getresponse()
    assert (answer.status, answer.getheader("content-type")) == (400, "application/json")
    assert json.loads(answer.read()) == {"message": "Bad Request"}
    connection.close()


# -- SQS and Kinesis --------------------------------------------------------------------------


def test_an_sqs_message_over_1_mib_is_refused_counting_bytes_and_attributes(cloud: Cloud) -> None:
    sqs = cloud.client("sqs")
    queue = sqs.create_queue(QueueName="lc-limits")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="a" * limits.SQS_MESSAGE_MAX)
    attribute = {"owner": {"DataType": "String", "StringValue": "alice"}}  # 5 + 6 + 5 bytes
    too_large = [
        {"MessageBody": "a" * (limits.SQS_MESSAGE_MAX + 1)},
        {"MessageBody": "é" * (limits.SQS_MESSAGE_MAX // 2 + 1)},  # 524,289 characters
        {"MessageBody": "a" * (limits.SQS_MESSAGE_MAX - 15), "MessageAttributes": attribute},
    ]
    for message in too_large:
        assert refusal(lambda message=message: sqs.send_message(QueueUrl=queue, **message)) == (
            400,
            "InvalidParameterValue",
            "One or more parameters are invalid. Reason: Message must be shorter than "
            "1048576 bytes.",
        )
    assert refusal(
        lambda: sqs.send_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": "one", "MessageBody": "a" * 600_000},
                {"Id": "two", "MessageBody": "é" * 250_000},
            ],
        )
    ) == (
        400,
        "AWS.SimpleQueueService.BatchRequestTooLong",  # SQS's query-compatible error code
        "Batch requests cannot be longer than 1048576 bytes. You have sent 1100000 bytes.",
    )


def test_a_kinesis_record_over_1_mib_is_refused(cloud: Cloud) -> None:
    kinesis = cloud.client("kinesis")
    kinesis.create_stream(StreamName="lc-limits", ShardCount=1)
    wait_for(
        lambda: (
            kinesis.describe_stream(StreamName="lc-limits")["StreamDescription"]["StreamStatus"]
            == "ACTIVE"
        )
    )
    key = "pk"
    kinesis.put_record(StreamName="lc-limits", PartitionKey=key, Data=b"a" * (1_048_576 - 2))
    assert refusal(
        lambda: kinesis.put_record(
            StreamName="lc-limits", PartitionKey=key, Data=b"a" * (1_048_576 - 1)
        )
    ) == (
        400,
        "ValidationException",
        "1 validation error detected: Value at 'data' failed to satisfy constraint: "
        "Member must have length less than or equal to 1048576",
    )
    assert refusal(
        lambda: kinesis.put_records(
            StreamName="lc-limits",
            Records=[
                {"PartitionKey": key, "Data": b"small"},
                {"PartitionKey": key, "Data": b"a" * 1_048_576},
            ],
        )
    ) == (
        400,
        "ValidationException",
        "1 validation error detected: Value at 'records.2.member.data' failed to satisfy "
        "constraint: Member must have length less than or equal to 1048576",
    )
