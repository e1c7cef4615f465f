"""The observability wiring of every stage's template (issue 13): the HTTP API's access log,
its subscription into the log stream with a least-privilege role, and saved Logs Insights
queries over every function's log group."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from gates.template import props, resources
from tests.templates.conftest import STAGES

Load = Callable[[str], dict[str, Any]]
ACCESS_LOG_GROUP = re.compile(r"^/aws/http-api/docflow-(local|dev|prod)$")


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_stage_writes_json_access_logs_the_analytics_reads(load: Load, stage: str) -> None:
    template = load(stage)
    (stage_resource,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    settings = props(stage_resource)["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["HttpApiLogGroup", "Arn"]}
    assert ACCESS_LOG_GROUP.match(props(template["Resources"]["HttpApiLogGroup"])["LogGroupName"])
    # A JSON object whose every value is one API Gateway variable, as a string.
    line = json.loads(settings["Format"])
    assert all(re.fullmatch(r"\$context\.[A-Za-z.]+", value) for value in line.values()), line
    assert {
        key: line[key] for key in ("requestId", "routeKey", "status", "responseLatency", "owner")
    } == {
        "requestId": "$context.requestId",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLatency": "$context.responseLatency",
        "owner": "$context.authorizer.owner",
    }
    # No personal data: neither the caller's address nor its user agent.
    assert not {"$context.identity.sourceIp", "$context.identity.userAgent"} & set(line.values())


@pytest.mark.parametrize("stage", STAGES)
def test_the_access_log_is_subscribed_to_the_log_stream_with_a_least_privilege_role(
    load: Load, stage: str
) -> None:
    template = load(stage)
    (subscription,) = resources(template, "AWS::Logs::SubscriptionFilter").values()
    assert {
        k: v for k, v in props(subscription).items() if k not in ("FilterName", "FilterPattern")
    } == {
        "LogGroupName": {"Ref": "HttpApiLogGroup"},
        "DestinationArn": {"Fn::GetAtt": ["LogStream", "Arn"]},
        "RoleArn": {"Fn::GetAtt": ["AccessLogSubscriptionRole", "Arn"]},
    }
    role = props(template["Resources"]["AccessLogSubscriptionRole"])
    (trust,) = _statements(role["AssumeRolePolicyDocument"])
    group = props(template["Resources"]["HttpApiLogGroup"])["LogGroupName"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "logs.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {
                "aws:SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                    f"log-group:{group}:*"
                }
            },
        },
    }
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    assert _statements(policy["PolicyDocument"]) == [
        {
            "Effect": "Allow",
            "Action": ["kinesis:PutRecord"],
            "Resource": {"Fn::GetAtt": ["LogStream", "Arn"]},
        }
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_subscription_role_writes_to_the_log_stream(load: Load, stage: str) -> None:
    template = load(stage)
    writers = set()
    for rid, role in resources(template, "AWS::IAM::Role").items():
        for policy in props(role).get("Policies", []):
            for statement in _statements(policy["PolicyDocument"]):
                if any(a.startswith("kinesis:Put") for a in _actions(statement)):
                    writers.add(rid)
    assert writers == {"AccessLogSubscriptionRole"}


def _group_name(template: dict[str, Any], value: Any) -> str:
    """A LogGroupNames entry: a plain name, or a Ref to a log group of the template."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        group = template["Resources"][value["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup", value
        return str(props(group)["LogGroupName"])
    assert isinstance(value, str), value
    return value


@pytest.mark.parametrize("stage", STAGES)
def test_saved_queries_read_every_functions_log_group(load: Load, stage: str) -> None:
    template = load(stage)
    functions = {
        f"/aws/lambda/{props(fn)['FunctionName']}"
        for fn in resources(template, "AWS::Lambda::Function").values()
    }
    queries = {
        props(q)["Name"]: props(q)
        for q in resources(template, "AWS::Logs::QueryDefinition").values()
    }
    assert sorted(queries) == [
        f"docflow-{stage}/errors by reason",
        f"docflow-{stage}/one document's journey",
    ]
    for query in queries.values():
        names = [_group_name(template, v) for v in query["LogGroupNames"]]
        assert sorted(names) == sorted(functions)
    journey = queries[f"docflow-{stage}/one document's journey"]["QueryString"]
    assert 'filter document_id = "' in journey
    assert "sort @timestamp asc" in journey
    errors = queries[f"docflow-{stage}/errors by reason"]["QueryString"]
    assert 'filter level = "ERROR"' in errors
    assert "by function_name, error, reason" in errors
