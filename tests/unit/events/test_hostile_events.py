"""Hostile input at the boundary (issue 11): every event view and the analytics line parser
turn any input into a parsed value or a typed error, never another exception; a batch with
one poison record reports exactly that record.

Inputs are real events with random parts replaced or removed (near-valid input is where
parsers break), plus arbitrary JSON and bytes.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docflow.analytics.model import AccessLine, AlertPolicy, AppLine, MalformedLineError, parse_line
from docflow.analytics.service import Analyzer
from docflow.documents.events import DocumentEvent
from shared.batch import process_batch
from shared.errors import BatchFailedError, InvalidInputError
from shared.events.cloudwatch_logs import MAX_PAYLOAD_BYTES, LogsPayload, log_lines
from shared.events.kinesis import KinesisWindowEvent
from shared.events.payloads import MAX_DEPTH, loads
from shared.events.s3 import S3Event
from shared.events.schedule import ScheduledEvent
from shared.events.sqs import Notification, SqsEvent, SqsMessage
from shared.events.streams import DynamoDBStreamEvent

FAST = settings(max_examples=80, deadline=None)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, sample: Any) -> Any:
    """`sample` with a few of its parts replaced by arbitrary JSON or removed."""
    event = copy.deepcopy(sample)
    paths = _paths(sample)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True)):
        parent: Any = event
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this part
    return event


def _envelope(message: Any, event_type: Any = "document.processed") -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "5c1f0a58-0000-4000-8000-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:docflow-test-events",
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2026-11-27T10:00:00.000Z",
            "MessageAttributes": {"event_type": {"Type": "String", "Value": event_type}},
        }
    )


SQS_EVENT = {
    "Records": [
        {
            "messageId": "11111111-0000-4000-8000-000000000001",
            "receiptHandle": "AQEB",
            "body": _envelope({"event_id": "e1", "document_id": "doc_1"}),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764237600000"},
            "messageAttributes": {"trace": {"stringValue": "x", "dataType": "String"}},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:docflow-test-notify",
        }
    ]
}
KINESIS_EVENT = {
    "Records": [
        {
            "kinesis": {
                "partitionKey": "api",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": base64.b64encode(b'{"route": "GET /a", "status": 200}').decode(),
                "approximateArrivalTimestamp": 1764237600.5,
            },
            "eventSource": "aws:kinesis",
        }
    ],
    "window": {"start": "2026-11-27T10:00:00Z", "end": "2026-11-27T10:01:00Z"},
    "state": {"routes": {}},
    "shardId": "shardId-000000000000",
    "isFinalInvokeForWindow": False,
    "isWindowTerminatedEarly": False,
}
STREAM_EVENT = {
    "Records": [
        {
            "eventID": "1",
            "eventName": "MODIFY",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/docs/stream/x",
            "dynamodb": {
                "Keys": {"document_id": {"S": "doc_1"}},
                "NewImage": {"document_id": {"S": "doc_1"}, "status": {"S": "processed"}},
                "OldImage": {"document_id": {"S": "doc_1"}, "status": {"S": "processing"}},
                "SequenceNumber": "100",
                "ApproximateCreationDateTime": 1764237600,
            },
        }
    ]
}
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "time": "2026-11-27T07:00:00Z",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/docflow-dev-digest"],
    "detail": {},
}
S3_EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "s3_object_created.json").read_text()
)

VIEWS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "sqs": (SqsEvent.from_event, SQS_EVENT),
    "kinesis": (KinesisWindowEvent.from_event, KINESIS_EVENT),
    "streams": (DynamoDBStreamEvent.from_event, STREAM_EVENT),
    "s3": (S3Event.from_event, S3_EVENT),
    "schedule": (ScheduledEvent.from_event, SCHEDULED_EVENT),
}


def _parsed_or_typed(parse: Callable[[Any], Any], event: Any) -> None:
    with contextlib.suppress(InvalidInputError):
        parse(event)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_real_events_parse(view: str) -> None:
    parse, sample = VIEWS[view]
    assert parse(sample) is not None


@pytest.mark.parametrize("view", sorted(VIEWS))
@FAST
@given(data=st.data())
def test_any_mutation_of_a_real_event_is_a_view_or_a_typed_error(view: str, data: Any) -> None:
    parse, sample = VIEWS[view]
    _parsed_or_typed(parse, data.draw(mutated(sample)))


@pytest.mark.parametrize("view", sorted(VIEWS))
@FAST
@given(event=json_values)
def test_arbitrary_json_is_a_view_or_a_typed_error(view: str, event: Any) -> None:
    _parsed_or_typed(VIEWS[view][0], event)


def _sqs_message(body: str, message_id: str = "m-1") -> SqsMessage:
    return SqsMessage(message_id=message_id, body=body)


def _document_event(record: SqsMessage) -> DocumentEvent:
    notification = Notification.from_sqs(record, 65536)
    return DocumentEvent.parse(
        notification.json(), notification.attributes, notification.message_id
    )


@FAST
@given(body=st.text(max_size=200) | json_values.map(json.dumps))
def test_any_sqs_body_is_a_document_event_or_a_typed_error(body: str) -> None:
    _parsed_or_typed(_document_event, _sqs_message(body))


@FAST
@given(data=st.data())
def test_any_mutation_of_an_sns_envelope_is_a_document_event_or_a_typed_error(data: Any) -> None:
    envelope = json.loads(_envelope({"event_id": "e1", "document_id": "doc_1"}))
    envelope["Message"] = json.loads(envelope["Message"])  # mutate the message's parts too
    hostile = data.draw(mutated(envelope))
    if isinstance(hostile, dict) and not isinstance(hostile.get("Message"), str | None):
        hostile["Message"] = json.dumps(hostile["Message"], allow_nan=True)
    _parsed_or_typed(_document_event, _sqs_message(json.dumps(hostile, allow_nan=True)))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


POISON: dict[str, Callable[[int], str]] = {
    "not JSON": lambda n: "x" * (n + 1),
    "deeply nested body": lambda n: _nested(MAX_DEPTH + 1 + n),
    "deeply nested message": lambda n: _envelope(_nested(5000 + n)),
    "Infinity in the message": lambda n: _envelope('{"document_id": Infinity}'),
    "1e400 in the message": lambda n: _envelope(f'{{"document_id": "d", "n": 1e4{n:02d}}}'),
    "attributes as a list": lambda n: json.dumps(
        {"Type": "Notification", "MessageId": "x", "Message": "{}", "MessageAttributes": [n]}
    ),
    "event_type as a list": lambda n: _envelope({"document_id": "d"}, [n]),
    "event_type as an object": lambda n: _envelope({"document_id": "d"}, {"n": n}),
    "document_id as a number": lambda n: _envelope({"document_id": n}),
    "event_id as an object": lambda n: _envelope({"document_id": "d", "event_id": {"n": n}}),
    "message as an object": lambda n: json.dumps(
        {"Type": "Notification", "MessageId": "x", "Message": {"n": n}}
    ),
    "message not an object": lambda n: _envelope([n]),
    "oversized": lambda n: _envelope({"document_id": "d", "pad": "x" * (70000 + n)}),
}


@FAST
@given(
    good=st.integers(min_value=1, max_value=9),
    position=st.integers(min_value=0, max_value=9),
    kind=st.sampled_from(sorted(POISON)),
    n=st.integers(min_value=0, max_value=99),
)
def test_a_batch_with_one_poison_message_reports_exactly_that_message(
    good: int, position: int, kind: str, n: int
) -> None:
    records = [
        _sqs_message(_envelope({"event_id": f"e{i}", "document_id": f"doc_{i}"}), f"ok-{i}")
        for i in range(good)
    ]
    records.insert(min(position, good), _sqs_message(POISON[kind](n), "poison"))
    handled: list[str] = []

    response = process_batch(
        records, lambda r: handled.append(_document_event(r).document_id), lambda r: r.message_id
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert sorted(handled) == sorted(f"doc_{i}" for i in range(good))


def test_a_batch_in_which_every_message_failed_is_an_invocation_error() -> None:
    records = [_sqs_message(POISON[kind](0), kind) for kind in sorted(POISON)]

    with pytest.raises(BatchFailedError) as raised:
        process_batch(records, _document_event, lambda r: r.message_id)

    assert raised.value.retryable is True
    assert raised.value.details == {"records": len(POISON)}


# ---- analytics: line parsing, payloads and the window fold ------------------------------


@FAST
@given(value=json_values)
def test_any_json_value_is_a_log_line_or_malformed(value: Any) -> None:
    with contextlib.suppress(MalformedLineError):
        assert isinstance(parse_line(value), AccessLine | AppLine)


@FAST
@given(
    route=json_values,
    status=json_values | st.sampled_from(["200", "1e400", "Infinity", "NaN", "-0", " 503 "]),
    latency=json_values | st.sampled_from(["12.5", "1e400", "-Infinity", "nan"]),
)
def test_access_lines_with_any_status_or_latency_parse_or_are_malformed(
    route: Any, status: Any, latency: Any
) -> None:
    try:
        line = parse_line({"routeKey": route, "status": status, "responseLatency": latency})
    except MalformedLineError:
        return
    assert isinstance(line, AccessLine)
    assert 100 <= line.status <= 599
    assert 0 <= line.latency_ms < float("inf")


def _payload(messages: list[str], message_type: str = "DATA_MESSAGE", **extra: Any) -> bytes:
    value = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/aws/http-api/docflow-dev",
        "logStream": "api_$default",
        "subscriptionFilters": ["access-logs"],
        "logEvents": [
            {"id": str(i), "timestamp": 1764237600000 + i, "message": m}
            for i, m in enumerate(messages)
        ],
        **extra,
    }
    return gzip.compress(json.dumps(value).encode())


log_messages = st.lists(
    json_values.map(lambda v: json.dumps(v, allow_nan=True)) | st.text(max_size=40), max_size=6
)


@FAST
@given(messages=log_messages)
def test_a_data_message_yields_one_value_per_log_event_in_order(messages: list[str]) -> None:
    payload = LogsPayload.from_record(_payload(messages))
    assert [e.message for e in payload.log_events] == messages
    assert (payload.log_group, payload.subscription_filters) == (
        "/aws/http-api/docflow-dev",
        ("access-logs",),
    )
    values = log_lines(_payload(messages))
    assert values is not None
    assert len(values) == len(messages)
    for message, value in zip(messages, values, strict=True):
        try:
            expected = loads(message, "line")
        except InvalidInputError:
            expected = None
        assert value == expected


@FAST
@given(messages=log_messages)
def test_a_control_message_yields_no_lines(messages: list[str]) -> None:
    assert log_lines(_payload(messages, "CONTROL_MESSAGE")) == []


@FAST
@given(data=st.binary(max_size=300))
def test_any_record_bytes_are_a_payload_or_none(data: bytes) -> None:
    for hostile in (data, b"\x1f\x8b" + data, gzip.compress(data)):
        values = log_lines(hostile)
        assert values is None or isinstance(values, list)


@FAST
@given(payload=json_values, message_type=st.sampled_from(["DATA_MESSAGE", "CONTROL_MESSAGE"]))
def test_any_json_in_gzip_is_a_payload_or_none(payload: Any, message_type: str) -> None:
    for value in (
        payload,
        {"messageType": message_type, "logEvents": payload},
        {"messageType": message_type, "logEvents": [payload], "owner": payload},
    ):
        data = gzip.compress(json.dumps(value, allow_nan=True).encode())
        try:
            LogsPayload.from_record(data)
        except InvalidInputError:
            assert log_lines(data) is None
        else:
            assert isinstance(log_lines(data), list)


@FAST
@given(cut=st.integers(min_value=0, max_value=200), messages=log_messages)
def test_a_truncated_payload_is_none(cut: int, messages: list[str]) -> None:
    whole = _payload(messages)
    assert log_lines(whole[: min(cut, len(whole) - 1)]) is None


def test_hostile_records_from_the_campaign_are_malformed_not_fatal() -> None:
    bomb = gzip.compress(b" " * (MAX_PAYLOAD_BYTES * 4))
    assert log_lines(bomb) is None
    assert log_lines(_payload(["x"]) + gzip.compress(b" " * MAX_PAYLOAD_BYTES)) is None
    for hostile in (
        b'{"routeKey": "GET /a", "status": "200", "responseLatency": "1"}',  # not a payload
        _payload(['{"routeKey": "GET /a", "status": 1e400, "responseLatency": 1}']),
        _payload(['{"routeKey": "GET /a", "status": Infinity, "responseLatency": 1}']),
        _payload([_nested(100_000)]),
        gzip.compress(_nested(100_000).encode()),
        gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": 5}'),
        gzip.compress(b'{"logEvents": []}'),  # no messageType
        gzip.compress(gzip.compress(b'{"logEvents": []}')),
        _payload([])[:-4],  # truncated
    ):
        for value in log_lines(hostile) or []:
            if value is not None:
                with pytest.raises(MalformedLineError):
                    parse_line(value)


class _NoAlerts:
    def publish(self, alert: Any, window: Any) -> None:  # pragma: no cover - never crossed
        raise AssertionError("no alert expected")


def _kinesis(records: list[bytes]) -> KinesisWindowEvent:
    return KinesisWindowEvent.from_event(
        {
            "Records": [
                {"kinesis": {"sequenceNumber": f"{i:05d}", "data": base64.b64encode(d).decode()}}
                for i, d in enumerate(records)
            ],
            "window": {"start": "2026-11-27T10:00:00Z", "end": "2026-11-27T10:01:00Z"},
            "shardId": "shardId-000000000000",
        }
    )


@FAST
@given(
    hostile=st.lists(
        st.binary(max_size=60).filter(lambda b: not b.startswith(b"\x1f\x8b"))
        | json_values.map(lambda v: _payload([json.dumps(v, allow_nan=True)]))
        | st.sampled_from(list(POISON.values())).map(lambda f: _payload([f(0)])),
        max_size=8,
    ),
    good=st.integers(min_value=0, max_value=5),
)
def test_a_window_batch_with_hostile_records_acknowledges_all_and_counts_the_good_ones(
    hostile: list[bytes], good: int
) -> None:
    access = json.dumps({"routeKey": "GET /docs", "status": "200", "responseLatency": "5"})
    analyzer = Analyzer("ns", "docflow", AlertPolicy(5, 1000, 10**9), _NoAlerts(), max_routes=5)
    batch = _kinesis([_payload([access])] * good + hostile)
    state = analyzer.resume(batch.state)

    response = process_batch(
        batch.records,
        lambda record: analyzer.take(state, log_lines(record.data)),
        lambda record: record.sequence_number,
        ordered=True,
    )

    assert response == {"batchItemFailures": []}
    assert state["routes"].get("GET /docs", {"n": 0})["n"] >= good
    # Every record (one line each) is counted once: a request, an app line or malformed.
    requests = sum(route["n"] for route in state["routes"].values())
    assert requests + state["app_lines"] + state["malformed"] == good + len(hostile)


@FAST
@given(text=st.text(alphabet='[]{}"\\ ,:a1', max_size=400))
def test_bounded_json_never_raises_anything_but_a_typed_error(text: str) -> None:
    with contextlib.suppress(InvalidInputError):
        loads(text, "body")
