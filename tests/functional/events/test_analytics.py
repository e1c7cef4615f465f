from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.functional.conftest import LambdaContext
from tests.functional.events.conftest import EventsStack
from tests.support import fresh_import

WINDOW = {"start": "2026-11-27T10:00:00Z", "end": "2026-11-27T10:01:00Z"}


@pytest.fixture
def analytics(events_stack: EventsStack) -> Any:
    return fresh_import("handlers.analytics")


def kinesis_batch(events: EventsStack, payloads: list[bytes]) -> list[dict[str, Any]]:
    """Records written to and read back from a (moto) Kinesis stream, as Lambda shows them."""
    kinesis = events.client("kinesis")
    kinesis.create_stream(StreamName="docflow-test-logs", ShardCount=1)
    for data in payloads:
        kinesis.put_record(StreamName="docflow-test-logs", Data=data, PartitionKey="api")
    shard = kinesis.describe_stream(StreamName="docflow-test-logs")["StreamDescription"]["Shards"][
        0
    ]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="docflow-test-logs", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": r["PartitionKey"],
                "sequenceNumber": r["SequenceNumber"],
                "data": base64.b64encode(r["Data"]).decode(),
                "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp(),
            },
            "eventSource": "aws:kinesis",
            "eventID": f"shardId-000000000000:{r['SequenceNumber']}",
        }
        for r in kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    ]


def window_event(records: list[dict[str, Any]], state: Any, final: bool) -> dict[str, Any]:
    return {
        "Records": records,
        "window": WINDOW,
        "state": state,
        "shardId": "shardId-000000000000",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/docflow-test-logs",
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": False,
    }


def access(route: str, status: int, latency_ms: float) -> str:
    """An access-log line in the stage's format (API Gateway writes every value as a string)."""
    return json.dumps(
        {
            "requestId": "JZ1fZjQ0oAMEPyw=",
            "routeKey": route,
            "status": str(status),
            "responseLatency": f"{latency_ms:g}",
            "owner": "-",
        }
    )


def subscription(*messages: str, message_type: str = "DATA_MESSAGE") -> bytes:
    """What a CloudWatch Logs subscription filter puts in one Kinesis record."""
    payload = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/aws/http-api/docflow-test",
        "logStream": "api_$default",
        "subscriptionFilters": ["docflow-test-access-logs"],
        "logEvents": [
            {"id": str(i), "timestamp": 1764237600000, "message": m} for i, m in enumerate(messages)
        ],
    }
    return gzip.compress(json.dumps(payload).encode())


def emf_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def alarms(events: EventsStack) -> list[dict[str, Any]]:
    assert events.alarm_queue is not None
    messages = (
        events.client("sqs")
        .receive_message(QueueUrl=events.alarm_queue.url, MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return [json.loads(m["Body"]) for m in messages]


def test_window_yields_count_error_rate_and_percentiles_per_route_and_alerts(
    events_stack: EventsStack, analytics: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    payloads = [subscription(access("GET /documents", 200, float(ms))) for ms in range(1, 101)]
    payloads += [subscription(*[access("POST /documents", 200, 20.0)] * 18)]
    payloads += [subscription(*[access("POST /documents", 503, 40.0)] * 2)]
    # Malformed: a record that is no payload, lines that are not access or application lines.
    payloads += [b"not json", subscription('{"routeKey": "GET /x", "status": "abc"}', "[1]")]
    payloads += [subscription(json.dumps({"level": "ERROR", "message": "boom"}))]
    # A control message (sent when the filter is created) carries no lines.
    payloads += [subscription("CWL CONTROL MESSAGE", message_type="CONTROL_MESSAGE")]
    records = kinesis_batch(events_stack, payloads)

    # Two batches in the window, then the final invoke that carries only the state.
    first = analytics.handler(window_event(records[:50], {}, False), LambdaContext("a"))
    second = analytics.handler(
        window_event(records[50:], first["state"], False), LambdaContext("a")
    )
    capsys.readouterr()
    final = analytics.handler(window_event([], second["state"], True), LambdaContext("a"))

    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert final == {"state": {}, "batchItemFailures": []}
    metrics = {line.get("Route", "*"): line for line in emf_lines(capsys.readouterr().out)}
    get = metrics["GET /documents"]
    assert (get["Requests"], get["ErrorRate"]) == (100.0, 0.0)
    # Log-scale buckets: each percentile within 2.5 % of the exact value (50, 95, 99 ms).
    assert get["LatencyP50"] == pytest.approx(50, rel=0.025)
    assert get["LatencyP95"] == pytest.approx(95, rel=0.025)
    assert get["LatencyP99"] == pytest.approx(99, rel=0.025)
    post = metrics["POST /documents"]
    assert (post["Requests"], post["Errors"], post["ErrorRate"]) == (20.0, 2.0, 10.0)
    window_start = datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp() * 1000
    assert get["_aws"]["Timestamp"] == window_start
    assert get["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Route", "Service"]]
    assert (metrics["*"]["MalformedRecords"], metrics["*"]["ApplicationErrors"]) == (3.0, 1.0)
    (alert,) = alarms(events_stack)
    assert alert["route"] == "POST /documents"
    assert alert["reasons"] == ["error rate 10.0% > 5%"]
    assert alert["window"] == WINDOW

    # Lambda retries a failed final invocation with the same window: no second page.
    analytics.handler(window_event([], second["state"], True), LambdaContext("a"))
    assert alarms(events_stack) == []


def test_one_subscription_payload_carries_many_lines(
    events_stack: EventsStack, analytics: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    records = kinesis_batch(
        events_stack, [subscription(*[access("GET /documents/{id}", 200, 5)] * 12)]
    )

    state = analytics.handler(window_event(records, {}, False), LambdaContext("a"))["state"]
    capsys.readouterr()
    analytics.handler(window_event([], state, True), LambdaContext("a"))

    (line,) = [m for m in emf_lines(capsys.readouterr().out) if "Route" in m]
    assert (line["Route"], line["Requests"], line["LatencyP99"]) == (
        "GET /documents/{id}",
        12.0,
        pytest.approx(5, rel=0.025),
    )
    assert alarms(events_stack) == []


def test_a_failure_reports_its_sequence_number_and_keeps_what_came_before(
    events_stack: EventsStack, analytics: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = kinesis_batch(events_stack, [subscription(access("GET /a", 200, 1.0))] * 3)
    import docflow.analytics.service as service

    real_add = service.add
    calls = {"n": 0}

    def flaky_add(state: Any, line: Any, max_routes: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("state store exploded")
        real_add(state, line, max_routes)

    monkeypatch.setattr(service, "add", flaky_add)
    response = analytics.handler(window_event(records, {}, False), LambdaContext("a"))

    sequence = [r["kinesis"]["sequenceNumber"] for r in records]
    assert response["batchItemFailures"] == [{"itemIdentifier": s} for s in sequence[1:]]
    assert response["state"]["routes"]["GET /a"]["n"] == 1


def test_the_campaigns_hostile_records_are_counted_and_the_batch_acknowledged(
    events_stack: EventsStack, analytics: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.events.cloudwatch_logs import MAX_PAYLOAD_BYTES

    hostile = [
        subscription('{"routeKey": "GET /a", "status": 1e400, "responseLatency": 1}'),
        subscription('{"routeKey": "GET /a", "status": Infinity, "responseLatency": 1}'),
        subscription("[" * 50_000 + "]" * 50_000),
        b'{"routeKey": "GET /a", "status": "200", "responseLatency": "1"}',  # not a payload
        gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": 5}'),
        # a few hundred KB that expand beyond the bound (the campaign's was 713 KB -> 700 MB)
        gzip.compress(b" " * (MAX_PAYLOAD_BYTES * 2)),
    ]
    records = kinesis_batch(events_stack, [subscription(access("GET /a", 200, 3.0)), *hostile])

    response = analytics.handler(window_event(records, {}, False), LambdaContext("a"))
    capsys.readouterr()
    analytics.handler(window_event([], response["state"], True), LambdaContext("a"))

    assert response["batchItemFailures"] == []
    assert response["state"]["malformed"] == len(hostile)
    metrics = {line.get("Route", "*"): line for line in emf_lines(capsys.readouterr().out)}
    assert metrics["GET /a"]["Requests"] == 1.0
    assert metrics["*"]["MalformedRecords"] == float(len(hostile))
