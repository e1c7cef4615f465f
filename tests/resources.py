"""CloudFormation resources as osls compiles them, for the tests' hand-made templates.

Each builder returns one resource (or, for an HTTP API, the resources that make one route); a
test adds the properties its case is about with keyword arguments.
"""

from __future__ import annotations

from typing import Any


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def queue(name: str, **properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name, **properties}}


def on_failure(queue_id: str) -> dict[str, Any]:
    """A DestinationConfig sending what failed to the queue `queue_id`."""
    return {"OnFailure": {"Destination": arn_of(queue_id)}}


def permission(function: str, principal: str) -> dict[str, Any]:
    """What lets a service invoke a function (a resource-based policy statement)."""
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": arn_of(function),
            "Action": "lambda:InvokeFunction",
            "Principal": principal,
        },
    }


def event_source_mapping(
    source_arn: Any, function: str | None = None, **properties: Any
) -> dict[str, Any]:
    """A mapping from `source_arn` to `function` (none: a fragment the function is not part of)."""
    if function:
        properties = {"FunctionName": arn_of(function), **properties}
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {"EventSourceArn": source_arn, **properties},
    }


def event_invoke_config(function: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {"FunctionName": {"Ref": function}, **properties},
    }


def topic_queue_policy(
    queue_id: str, topic_id: str, action: str = "sqs:SendMessage"
) -> dict[str, Any]:
    """The queue policy that lets the topic `topic_id`, and only it, send to `queue_id`."""
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": action,
                        "Resource": arn_of(queue_id),
                        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}},
                    }
                ],
            },
        },
    }


def subscription(topic_id: str, protocol: str, endpoint: Any, **properties: Any) -> dict[str, Any]:
    """A subscription of `endpoint` to the topic `topic_id`."""
    return {
        "Type": "AWS::SNS::Subscription",
        "Properties": {
            "TopicArn": {"Ref": topic_id},
            "Protocol": protocol,
            "Endpoint": endpoint,
            **properties,
        },
    }


def monthly_budget() -> dict[str, Any]:
    """A monthly budget notifying its SNS subscribers at 80 % and 100 %."""
    return {
        "Type": "AWS::Budgets::Budget",
        "Properties": {
            "Budget": {"TimeUnit": "MONTHLY"},
            "NotificationsWithSubscribers": [
                {
                    "Notification": {"Threshold": t, "ThresholdType": "PERCENTAGE"},
                    "Subscribers": [{"SubscriptionType": "SNS"}],
                }
                for t in (80, 100)
            ],
        },
    }


def http_api(name: str, function: str, route_key: str, **route: Any) -> dict[str, Any]:
    """An HTTP API whose one route invokes `function` with payload format 2.0, as osls compiles
    an httpApi event (HttpApi, its $default stage, the integration and the route)."""
    return {
        "HttpApi": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": name, "ProtocolType": "HTTP"},
        },
        "HttpApiStage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "StageName": "$default",
                "AutoDeploy": True,
            },
        },
        "HttpApiIntegration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": arn_of(function),
                "PayloadFormatVersion": "2.0",
            },
        },
        "HttpApiRoute": {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "RouteKey": route_key,
                **route,
                "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "HttpApiIntegration"}]]},
            },
        },
    }
