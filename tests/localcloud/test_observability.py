"""CloudWatch pieces of the local stack (issue 13): embedded metric format, filter patterns,
subscription delivery to Kinesis and the gateway's access log format."""

from __future__ import annotations

import gzip
import io
import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import emf, gateway
from localcloud.filter_patterns import FilterPatternError, compile_pattern
from tests.localcloud.conftest import Cloud

REGION = "us-east-1"
NOW_MS = int(time.time() * 1000)


def _emf(**root: Any) -> str:
    line = {
        "_aws": {
            "Timestamp": 1764237600000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "docflow/logs",
                    "Dimensions": [["Route", "Service"], ["Service"]],
                    "Metrics": [
                        {"Name": "Requests", "Unit": "Count"},
                        {"Name": "LatencyP99", "Unit": "Milliseconds"},
                    ],
                }
            ],
        },
        "Route": "GET /documents",
        "Service": "docflow",
        "Requests": 12,
        "LatencyP99": [3.5, 4.0],
        "shard": "shardId-000000000000",
        **root,
    }
    return json.dumps(line)


def test_an_emf_line_yields_each_metric_once_per_dimension_set() -> None:
    data = emf.parse(_emf())
    assert [(d.name, d.dimensions, d.values, d.unit) for d in data] == [
        ("Requests", (("Route", "GET /documents"), ("Service", "docflow")), (12.0,), "Count"),
        ("Requests", (("Service", "docflow"),), (12.0,), "Count"),
        (
            "LatencyP99",
            (("Route", "GET /documents"), ("Service", "docflow")),
            (3.5, 4.0),
            "Milliseconds",
        ),
        ("LatencyP99", (("Service", "docflow"),), (3.5, 4.0), "Milliseconds"),
    ]
    assert {d.namespace for d in data} == {"docflow/logs"}
    assert {d.timestamp_ms for d in data} == {1764237600000}


@pytest.mark.parametrize(
    "line",
    [
        _emf(Requests="twelve"),  # a metric must hold numbers
        _emf(Route=5),  # a dimension must hold a string
        _emf(LatencyP99=list(range(101))),  # at most 100 values
        _emf(_aws={"Timestamp": "now", "CloudWatchMetrics": []}),
        _emf(_aws={"Timestamp": 1, "CloudWatchMetrics": {}}),
        json.dumps(
            {
                "_aws": {
                    "Timestamp": 1,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "n",
                            "Dimensions": [],
                            "Metrics": [{"Name": "x", "Unit": "Parsecs"}],
                        }
                    ],
                },
                "x": 1,
            }
        ),
    ],
)
def test_a_line_breaking_the_format_yields_no_metrics(line: str) -> None:
    with pytest.raises(emf.EmfError):
        emf.parse(line)
    assert emf.extract(line) == []


def test_lines_that_are_not_emf_yield_nothing() -> None:
    for line in ("START RequestId: x", '{"level": "INFO", "message": "_aws"}', "{", '"_aws"'):
        assert emf.extract(line) == []


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        ("", "anything", None),
        ("ERROR", "an ERROR here", "an error here"),
        ('"bad thing"', "a bad thing happened", "a bad  thing"),
        ("ERROR -retry", "ERROR final", "ERROR will retry"),
        ("?ERROR ?WARN", "WARN x", "INFO x"),
        ('{ $.level = "ERROR" }', '{"level": "ERROR"}', '{"level": "INFO"}'),
        ("{ $.level = ERROR }", '{"level": "ERROR"}', '{"level": "INFO"}'),
        ('{ $.routeKey = "GET *" }', '{"routeKey": "GET /documents"}', '{"routeKey": "POST /d"}'),
        ("{ $.latency > 100 }", '{"latency": 250}', '{"latency": "250"}'),
        (
            '{ ($.status >= 500) && ($.routeKey != "-") }',
            '{"status": 503, "routeKey": "GET /a"}',
            '{"status": 503, "routeKey": "-"}',
        ),
        ('{ $.a = 1 || $.b = "x" }', '{"b": "x"}', '{"a": 2, "b": "y"}'),
        ("{ $.ok IS TRUE }", '{"ok": true}', '{"ok": 1}'),
        ("{ $.owner NOT EXISTS }", "{}", '{"owner": "alice"}'),
        ("{ $.items[0].id = 7 }", '{"items": [{"id": 7}]}', '{"items": []}'),
    ],
)
def test_filter_patterns_match_as_cloudwatch_logs_does(
    pattern: str, matching: str, other: str | None
) -> None:
    matches = compile_pattern(pattern)
    assert matches(matching)
    if other is not None:
        assert not matches(other)


@pytest.mark.parametrize("pattern", ["[ip, user]", "{ $.a = 1", '{ $.a > "x" }', "{ nonsense }"])
def test_patterns_not_emulated_or_invalid_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)


def test_the_access_log_format_is_filled_with_the_requests_context_variables() -> None:
    template = (
        '{"requestId":"$context.requestId","routeKey":"$context.routeKey",'
        '"status":"$context.status","owner":"$context.authorizer.owner",'
        '"path":"$context.path"}'
    )
    line = gateway.render_access_log(
        template,
        {"requestId": "R1", "routeKey": "GET /documents/{id}", "status": "200", "path": '/a"b'},
    )
    assert json.loads(line) == {
        "requestId": "R1",
        "routeKey": "GET /documents/{id}",
        "status": "200",
        "owner": "-",  # API Gateway writes "-" for a variable it has no value for
        "path": '/a"b',
    }


def _delivery_role(cloud: Cloud, stream_arn: str) -> str:
    """A role CloudWatch Logs may assume for this account's log groups, allowed to put records
    on the stream: the server refuses a subscription filter without one, as AWS does."""
    iam = cloud.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            }
        ],
    }
    role = iam.create_role(RoleName="cwl", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": stream_arn}],
    }
    iam.put_role_policy(RoleName="cwl", PolicyName="put", PolicyDocument=json.dumps(allow))
    return str(role["Arn"])


def _records(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    shard = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return [
        json.loads(gzip.decompress(r["Data"]))
        for r in kinesis.get_records(ShardIterator=iterator)["Records"]
    ]


# The patched moto runs in the server subprocess (the `cloud` fixture of conftest.py): applied in
# this process, the patches would stay on for every later test of the worker.
def test_a_kinesis_subscription_delivers_the_matching_events_as_cloudwatch_logs_does(
    cloud: Cloud,
) -> None:
    logs = cloud.client("logs")
    kinesis = cloud.client("kinesis")
    kinesis.create_stream(StreamName="logs", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="logs")["StreamDescription"]["StreamARN"]
    logs.create_log_group(logGroupName="/aws/http-api/x")
    logs.create_log_stream(logGroupName="/aws/http-api/x", logStreamName="s")
    logs.put_subscription_filter(
        logGroupName="/aws/http-api/x",
        filterName="errors",
        filterPattern='{ $.status = "500" }',
        destinationArn=arn,
        roleArn=_delivery_role(cloud, arn),
    )
    logs.put_log_events(
        logGroupName="/aws/http-api/x",
        logStreamName="s",
        logEvents=[
            # CloudWatch Logs takes events of the last 14 days only.
            {"timestamp": NOW_MS, "message": json.dumps({"status": "500"})},
            {"timestamp": NOW_MS + 1, "message": json.dumps({"status": "200"})},
        ],
    )
    control, data = _records(kinesis, "logs")
    assert control["messageType"] == "CONTROL_MESSAGE"
    assert control["logEvents"][0]["message"].startswith("CWL CONTROL MESSAGE")
    assert {k: v for k, v in data.items() if k != "logEvents"} == {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/http-api/x",
        "logStream": "s",
        "subscriptionFilters": ["errors"],
    }
    assert [json.loads(e["message"]) for e in data["logEvents"]] == [{"status": "500"}]


def test_emf_lines_in_a_lambda_log_group_become_metrics(cloud: Cloud) -> None:
    logs = cloud.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/docflow-local-analytics")
    logs.create_log_stream(logGroupName="/aws/lambda/docflow-local-analytics", logStreamName="s")
    logs.put_log_events(
        logGroupName="/aws/lambda/docflow-local-analytics",
        logStreamName="s",
        logEvents=[{"timestamp": NOW_MS, "message": _emf()}],
    )
    cloudwatch = cloud.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="docflow/logs")["Metrics"]
    assert sorted((m["MetricName"], len(m["Dimensions"])) for m in listed) == [
        ("LatencyP99", 1),
        ("LatencyP99", 2),
        ("Requests", 1),
        ("Requests", 2),
    ]


@mock_aws
def test_the_gateway_writes_one_access_line_per_request_to_the_stages_log_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from localcloud.patches import cloudformation

    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/aws/http-api/docflow-local")
    group_arn = logs.describe_log_groups()["logGroups"][0]["arn"]
    template = (
        '{"requestId":"$context.requestId","routeKey":"$context.routeKey",'
        '"status":"$context.status","responseLatency":"$context.responseLatency"}'
    )
    api = {
        "name": "docflow-local",
        "account": "123456789012",
        "region": REGION,
        "routes": {},
        "integrations": {},
        "authorizers": {},
        "stages": {
            "$default": {"AccessLogSettings": {"DestinationArn": group_arn, "Format": template}}
        },
    }
    monkeypatch.setitem(cloudformation.HTTP_APIS, "api1", api)
    answered: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/nowhere",
        "HTTP_HOST": "api1.localhost",
        "wsgi.input": io.BytesIO(b""),
    }
    gateway.application(environ, lambda status, headers: answered.append(status))

    assert answered == ["404 Not Found"]
    (event,) = logs.filter_log_events(logGroupName="/aws/http-api/docflow-local")["events"]
    line = json.loads(event["message"])
    assert (line["routeKey"], line["status"]) == ("-", "404")
    assert line["requestId"]
    assert int(line["responseLatency"]) >= 0
