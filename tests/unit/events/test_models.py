from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from docflow.analytics.model import (
    OTHER_ROUTE,
    AccessLine,
    AlertPolicy,
    AppLine,
    MalformedLineError,
    add,
    alerts,
    new_state,
    parse_line,
    percentile,
    summarize,
)
from docflow.documents.events import DocumentEvent
from docflow.documents.model import Status
from docflow.notify.model import owner_address
from docflow.schedules.model import SweepRule, parse_rules, sweep_action
from docflow.sync.model import DocumentChange, lake_objects
from shared.errors import InvalidInputError
from shared.events.sqs import Notification, SqsMessage


def test_access_and_application_lines_parse_and_nonsense_is_malformed() -> None:
    assert parse_line({"routeKey": "GET /a", "status": 200, "responseLatency": 3.5}) == (
        AccessLine("GET /a", 200, 3.5)
    )
    assert parse_line({"routeKey": "GET /b", "status": "502", "responseLatency": "12"}) == (
        AccessLine("GET /b", 502, 12.0)
    )
    assert parse_line({"level": "ERROR", "message": "x"}) == AppLine("error")
    for bad in (
        [1],
        {"routeKey": "x"},
        {"routeKey": "x", "status": "999", "responseLatency": "1"},
        {"route": "GET /a", "status": 200, "latency_ms": 3.5},  # no longer produced
        {"a": 1},
    ):
        with pytest.raises(MalformedLineError):
            parse_line(bad)


def test_histogram_percentiles_stay_within_two_and_a_half_percent() -> None:
    rng = random.Random(7)
    latencies = [rng.lognormvariate(3, 1) for _ in range(5000)]
    state = new_state()
    for value in latencies:
        add(state, AccessLine("r", 200, value), max_routes=10)
    ordered = sorted(latencies)
    for q in (0.5, 0.95, 0.99):
        exact = ordered[int(q * len(ordered)) - 1]
        assert percentile(state["routes"]["r"]["h"], q) == pytest.approx(exact, rel=0.03)
    # The state a window carries stays small however many lines it saw.
    assert len(json.dumps(state)) < 4096


def test_routes_beyond_the_limit_are_counted_as_other() -> None:
    state = new_state()
    for index in range(5):
        add(state, AccessLine(f"GET /{index}", 200, 1), max_routes=3)
    assert sorted(state["routes"]) == ["GET /0", "GET /1", "GET /2", OTHER_ROUTE]
    assert state["routes"][OTHER_ROUTE]["n"] == 2


def test_alerts_need_enough_requests_and_a_crossed_threshold() -> None:
    state = new_state()
    for index in range(20):
        add(state, AccessLine("busy", 500 if index < 2 else 200, 10), max_routes=10)
    for _ in range(3):
        add(state, AccessLine("quiet", 500, 5000), max_routes=10)
    policy = AlertPolicy(error_rate_percent=5, p99_latency_ms=1000, min_requests=10)
    (alert,) = alerts(summarize(state), policy)
    assert (alert.route, alert.reasons) == ("busy", ("error rate 10.0% > 5%",))


def _change(sequence: str, day: int, name: str = "MODIFY") -> DocumentChange:
    moment = datetime(2026, 11, day, 23, 59, tzinfo=UTC).timestamp()
    return DocumentChange(
        name,
        sequence,
        {"document_id": {"S": "doc_1"}},
        {"document_id": {"S": "doc_1"}},
        None,
        moment,
    )


def test_lake_objects_are_partitioned_by_day_and_named_by_sequence_range() -> None:
    objects = lake_objects("lake", [_change("100", 26), _change("205", 26), _change("300", 27)])
    assert [o.key for o in objects] == [
        f"lake/dt=2026-11-26/{'100'.zfill(40)}-{'205'.zfill(40)}.jsonl",
        f"lake/dt=2026-11-27/{'300'.zfill(40)}-{'300'.zfill(40)}.jsonl",
    ]
    assert objects[0].body().count(b"\n") == 2


def test_sweep_rules_parse_and_bound_redrives() -> None:
    rules = parse_rules(("processing:30:redrive", "awaiting_upload:1440:fail"))
    assert rules == [
        SweepRule(Status.PROCESSING, 30, "redrive"),
        SweepRule(Status.AWAITING_UPLOAD, 1440, "fail"),
    ]
    assert [sweep_action(rules[0], n, 2) for n in range(4)] == [
        "redrive",
        "redrive",
        "fail",
        "fail",
    ]
    for bad in ("processing:30", "processed:30:fail", "awaiting_upload:10:redrive", "x:1:fail"):
        with pytest.raises(ValueError, match="sweep rule"):
            parse_rules((bad,))


def test_document_events_need_a_known_type_and_a_document() -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": "sns-1",
        "Message": json.dumps({"document_id": "doc_1"}),
        "MessageAttributes": {"event_type": {"Type": "String", "Value": "document.processed"}},
    }
    event = _event(Notification.from_sqs(SqsMessage("sqs-1", json.dumps(envelope))))
    assert (event.event_id, event.event_type, event.document_id) == (
        "sns-1",
        "document.processed",
        "doc_1",
    )
    envelope["MessageAttributes"] = {"event_type": {"Type": "String", "Value": "document.x"}}
    with pytest.raises(InvalidInputError, match="event_type"):
        _event(Notification.from_sqs(SqsMessage("sqs-1", json.dumps(envelope))))
    with pytest.raises(InvalidInputError, match="over the 10 byte limit"):
        Notification.from_sqs(SqsMessage("sqs-1", json.dumps(envelope)), max_bytes=10)


def test_owner_address_comes_from_the_stage_template() -> None:
    assert owner_address("{owner}@example.com", "alice") == "alice@example.com"
    assert owner_address("{owner}@example.com", "bob@corp.example") == "bob@corp.example"


def _event(notification: Notification) -> DocumentEvent:
    return DocumentEvent.parse(
        notification.json(), notification.attributes, notification.message_id
    )
