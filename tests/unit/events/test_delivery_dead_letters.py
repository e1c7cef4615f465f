"""What SNS cannot deliver to a fan-out queue is kept (issue 11): every subscription of the
events topic redrives to a dead-letter queue of its own that only the topic may send to."""

from __future__ import annotations

from typing import Any

from tests.support import load_template_fragment

RESOURCES: dict[str, Any] = load_template_fragment("resources/events.yml")["Resources"]


def _of_type(kind: str) -> dict[str, Any]:
    return {rid: r for rid, r in RESOURCES.items() if r["Type"] == kind}


def test_every_subscription_redrives_to_a_dead_letter_queue_of_its_own() -> None:
    targets = {}
    for rid, subscription in _of_type("AWS::SNS::Subscription").items():
        pointer = subscription["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
        targets[rid] = pointer["Fn::GetAtt"][0]

    assert targets == {
        "NotifySubscription": "NotifySubscriptionDeadLetterQueue",
        "WebhooksSubscription": "WebhooksSubscriptionDeadLetterQueue",
    }
    for queue in targets.values():
        properties = RESOURCES[queue]["Properties"]
        assert properties["QueueName"].endswith("-delivery-dlq")
        assert properties["MessageRetentionPeriod"] == 1209600
        assert properties["SqsManagedSseEnabled"] is True


def test_only_the_events_topic_may_send_to_the_subscription_dead_letter_queues() -> None:
    policies = [
        p["Properties"]
        for p in _of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": "NotifySubscriptionDeadLetterQueue"} in p["Properties"]["Queues"]
    ]

    (policy,) = policies
    assert policy["Queues"] == [
        {"Ref": "NotifySubscriptionDeadLetterQueue"},
        {"Ref": "WebhooksSubscriptionDeadLetterQueue"},
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement == {
        "Sid": "EventsTopicDeadLetters",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": [
            {"Fn::GetAtt": ["NotifySubscriptionDeadLetterQueue", "Arn"]},
            {"Fn::GetAtt": ["WebhooksSubscriptionDeadLetterQueue", "Arn"]},
        ],
        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}},
    }
