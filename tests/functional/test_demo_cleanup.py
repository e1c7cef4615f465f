"""The demo removes the webhook subscriber it registered (and the breaker kept for it)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest

from scripts import demo
from shared import aws as shared_aws
from tests.support import table_definition


@pytest.fixture
def tables(aws: None) -> dict[str, str]:
    names = {"SubscribersTable": "demo-subscribers", "BreakersTable": "demo-breakers"}
    dynamodb = shared_aws.client("dynamodb")
    for logical_id, name in names.items():
        dynamodb.create_table(**table_definition("resources/events.yml", logical_id, name))
    return names


def _items(table: str) -> list[dict[str, Any]]:
    return list(shared_aws.client("dynamodb").scan(TableName=table)["Items"])


def test_the_demo_subscriber_is_gone_after_the_demo(tables: dict[str, str]) -> None:
    stack = {"stage": "local", "endpoint_url": None, "region": "us-east-1", "tables": tables}
    fanout = demo.FanOut(stack)
    fanout.subscribe()
    shared_aws.client("dynamodb").put_item(
        TableName=tables["BreakersTable"],
        Item={"subscriber_id": {"S": "demo-partner"}, "state": {"S": "open"}},
    )
    assert [item["url"]["S"] for item in _items(tables["SubscribersTable"])] == [
        fanout.receiver.url
    ]

    fanout.unsubscribe()

    assert _items(tables["SubscribersTable"]) == []
    assert _items(tables["BreakersTable"]) == []
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(fanout.receiver.url, data=b"{}", timeout=2)  # noqa: S310
