"""Concurrency and partial updates as AWS answers them, over the local endpoint."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from tests.localcloud.conftest import Cloud


def test_concurrent_conditional_updates_let_exactly_one_through(cloud: Cloud) -> None:
    dynamodb = cloud.client("dynamodb")
    dynamodb.create_table(
        TableName="lc-race",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    outcomes = []
    for round_ in range(5):
        item = f"doc-{round_}"
        dynamodb.put_item(TableName="lc-race", Item={"id": {"S": item}, "status": {"S": "open"}})

        def decide(who: int, item: str = item) -> str:
            try:
                cloud.client("dynamodb").update_item(
                    TableName="lc-race",
                    Key={"id": {"S": item}},
                    UpdateExpression="SET #s = :to, decided_by = :who",
                    ConditionExpression="#s = :from",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":to": {"S": "decided"},
                        ":from": {"S": "open"},
                        ":who": {"N": str(who)},
                    },
                )
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])
            return "ok"

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes.append(sorted(pool.map(decide, range(8))))
    assert outcomes == [["ConditionalCheckFailedException"] * 7 + ["ok"]] * 5


def test_changing_one_queue_attribute_keeps_its_policy(cloud: Cloud) -> None:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="lc-policy-kept")["QueueUrl"]
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": "arn:aws:sqs:us-east-1:123456789012:lc-policy-kept",
                }
            ]
        }
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    kept = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (kept["VisibilityTimeout"], json.loads(kept["Policy"])) == ("1", json.loads(policy))
