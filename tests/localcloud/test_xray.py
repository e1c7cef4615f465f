"""The local X-Ray: the daemon's UDP protocol, filter expressions, trace assembly and summaries."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from localcloud.xray import filters, store
from localcloud.xray.daemon import HEADER, DatagramError, Writer, XRayDaemon, parse_datagram
from localcloud.xray.model import TraceHeader, new_segment_id, new_trace_id

TRACE = "1-5759e988-bd862e3fe1be46a994272793"


def _datagram(document: dict[str, Any], header: dict[str, Any] | None = None) -> bytes:
    return (json.dumps(header or HEADER) + "\n" + json.dumps(document)).encode()


def _facts(**kwargs: Any) -> filters.TraceFacts:
    return filters.TraceFacts(**kwargs)


# -- the daemon's protocol ---------------------------------------------------------------------


def test_a_datagram_is_a_header_line_then_one_document() -> None:
    document = {"id": "53995c3f42cd8ad8", "trace_id": TRACE, "name": "x", "start_time": 1.0}
    assert parse_datagram(_datagram(document)) == document


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'{"id": "1", "trace_id": "t"}', "no header line"),
        (b'{"format": "json", "version": 2}\n{"id": "1", "trace_id": "t"}', "unsupported header"),
        (b"not json\n{}", "header is not JSON"),
        (json.dumps(HEADER).encode() + b"\n[1, 2]", "not a JSON object"),
        (json.dumps(HEADER).encode() + b"\n{broken", "not JSON"),
        (json.dumps(HEADER).encode() + b'\n{"id": "53995c3f42cd8ad8"}', "no trace_id"),
    ],
)
def test_a_datagram_the_daemon_does_not_accept_says_why(data: bytes, why: str) -> None:
    with pytest.raises(DatagramError, match=why):
        parse_datagram(data)


def _stored(trace_id: str, account: str = store.DEFAULT_ACCOUNT) -> list[dict[str, Any]]:
    from moto.xray.models import xray_backends

    traces = xray_backends[account]["us-east-1"]._segment_collection._traces
    return [json.loads(s.raw) for s in traces[trace_id]["segments"]] if trace_id in traces else []


def test_the_daemon_stores_what_it_receives_over_udp() -> None:
    daemon = XRayDaemon()
    daemon.start()
    try:
        trace_id = new_trace_id()
        document = {
            "id": new_segment_id(),
            "trace_id": trace_id,
            "name": "## handler",
            "type": "subsegment",
            "parent_id": new_segment_id(),
            "start_time": time.time(),
            "end_time": time.time(),
        }
        host, port = daemon.address.split(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(_datagram(document), (host, int(port)))
            sender.sendto(b"garbage", (host, int(port)))

        def arrived() -> bool:
            return daemon.received == 1 and daemon.dropped == 1

        deadline = time.monotonic() + 5
        while not arrived() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert arrived()
        assert _stored(trace_id) == [document]
    finally:
        daemon.stop()


def test_a_function_role_that_may_not_write_traces_loses_its_subsegments() -> None:
    refused: list[Writer] = []

    def authorize(writer: Writer) -> bool:
        refused.append(writer)
        return writer.role != "arn:aws:iam::123456789012:role/no-xray"

    daemon = XRayDaemon(authorize=authorize)
    try:
        allowed, denied = new_segment_id(), new_segment_id()
        daemon.register(
            allowed, Writer("arn:aws:iam::123456789012:role/xray", "a", "111111111111", "us-east-1")
        )
        daemon.register(
            denied,
            Writer("arn:aws:iam::123456789012:role/no-xray", "b", "111111111111", "us-east-1"),
        )
        trace_id = new_trace_id()
        base = {
            "trace_id": trace_id,
            "type": "subsegment",
            "name": "s",
            "start_time": 1.0,
            "end_time": 2.0,
        }
        assert daemon.handle(_datagram({**base, "id": new_segment_id(), "parent_id": allowed}))
        assert not daemon.handle(_datagram({**base, "id": new_segment_id(), "parent_id": denied}))
        assert [d["parent_id"] for d in _stored(trace_id, "111111111111")] == [allowed]
        assert [w.function for w in refused] == ["a", "b"]
    finally:
        daemon.stop()


# -- trace headers -----------------------------------------------------------------------------


def test_a_trace_header_is_read_and_written_as_aws_does() -> None:
    header = TraceHeader.parse(f"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:0")
    assert header == TraceHeader(TRACE, "53995c3f42cd8ad8", True)
    assert header.format() == f"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1"
    assert TraceHeader.parse("Root=not-a-trace;Sampled=1") is None
    assert TraceHeader.parse(None) is None
    assert TraceHeader.parse(f"Root={TRACE}") == TraceHeader(TRACE, None, None)


# -- filter expressions ------------------------------------------------------------------------


def test_an_annotation_filter_matches_any_value_of_the_trace() -> None:
    match = filters.parse('annotation.document_id = "doc_1"')
    assert match(_facts(annotations={"document_id": ["doc_2", "doc_1"]}))
    assert not match(_facts(annotations={"document_id": ["doc_2"]}))
    assert not match(_facts())


@pytest.mark.parametrize(
    ("expression", "facts", "expected"),
    [
        ('service("intake")', {"services": {"intake"}}, True),
        ('service("intake")', {"services": {"api"}}, False),
        ("service()", {"services": {"api"}}, True),
        (
            'service("api") AND annotation.trigger = "http"',
            {"services": {"api"}, "annotations": {"trigger": ["http"]}},
            True,
        ),
        (
            'service("api") && annotation.trigger = "http"',
            {"services": {"api"}, "annotations": {"trigger": ["event"]}},
            False,
        ),
        ('annotation.a = "x" OR annotation.b = "y"', {"annotations": {"b": ["y"]}}, True),
        ('NOT annotation.a = "x"', {"annotations": {"a": ["z"]}}, True),
        ('!(annotation.a = "x" || fault)', {"fault": True}, False),
        ("annotation.count >= 3", {"annotations": {"count": [4.0]}}, True),
        ('annotation.count >= "3"', {"annotations": {"count": [4.0]}}, False),
        ("annotation.ok = true", {"annotations": {"ok": [True]}}, True),
        ("annotation.ok = false", {"annotations": {"ok": [True]}}, False),
        ('annotation.name BEGINSWITH "doc_"', {"annotations": {"name": ["doc_9"]}}, True),
        ('annotation.name CONTAINS "c_9"', {"annotations": {"name": ["doc_9"]}}, True),
        ("annotation.present", {"annotations": {"present": ["x"]}}, True),
        ("annotation.present", {}, False),
        ("error", {"error": True}, True),
        ("ok", {"throttle": True}, False),
        ("duration > 2.5", {"duration": 3.0}, True),
        ("responsetime <= 1", {"response_time": 1.5}, False),
        (r'annotation.q = "say \"hi\""', {"annotations": {"q": ['say "hi"']}}, True),
    ],
)
def test_filter_expressions_combine_as_xray_defines_them(
    expression: str, facts: dict[str, Any], expected: bool
) -> None:
    assert filters.parse(expression)(_facts(**facts)) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "annotation.document_id =",
        'annotation.document_id = "x" AND',
        '(annotation.a = "x"',
        'service("a", "b")',
        "service(intake)",
        "http.status = 500",
        'edge("a", "b")',
        'annotation.a = "x" annotation.b = "y"',
        "duration > fast",
    ],
)
def test_an_expression_the_local_store_cannot_evaluate_is_refused(expression: str) -> None:
    with pytest.raises(filters.FilterExpressionError, match="Invalid filter expression"):
        filters.parse(expression)


# -- assembly and summaries --------------------------------------------------------------------


def _trace() -> list[dict[str, Any]]:
    service = {
        "id": "a" * 16,
        "trace_id": TRACE,
        "name": "intake",
        "origin": "AWS::Lambda",
        "start_time": 10.0,
        "end_time": 13.0,
    }
    function = {
        "id": "b" * 16,
        "trace_id": TRACE,
        "name": "intake",
        "origin": "AWS::Lambda::Function",
        "parent_id": "a" * 16,
        "start_time": 10.5,
        "end_time": 12.9,
        "subsegments": [
            {"id": "c" * 16, "name": "Invocation", "start_time": 10.5, "end_time": 12.9}
        ],
    }
    handler = {
        "id": "d" * 16,
        "trace_id": TRACE,
        "type": "subsegment",
        "parent_id": "b" * 16,
        "name": "## intake",
        "start_time": 10.6,
        "end_time": 12.8,
        "annotations": {"document_id": "doc_1", "trigger": "event"},
        "subsegments": [
            {
                "id": "e" * 16,
                "name": "S3",
                "namespace": "aws",
                "start_time": 10.7,
                "end_time": 10.9,
                "error": True,
            }
        ],
    }
    late = {
        "id": "f" * 16,
        "trace_id": TRACE,
        "type": "subsegment",
        "parent_id": "e" * 16,
        "name": "retry",
        "start_time": 10.8,
        "end_time": 10.85,
    }
    return [late, handler, service, function]


def test_separately_sent_subsegments_are_nested_in_their_parents() -> None:
    assembled = store.assemble(_trace())
    assert [d["id"] for d in assembled] == ["a" * 16, "b" * 16]
    function = assembled[1]
    assert [s["name"] for s in function["subsegments"]] == ["Invocation", "## intake"]
    s3 = function["subsegments"][1]["subsegments"][0]
    assert [s["name"] for s in s3["subsegments"]] == ["retry"]


def test_a_subsegment_whose_parent_never_arrived_is_kept() -> None:
    orphan = {
        "id": "9" * 16,
        "trace_id": TRACE,
        "type": "subsegment",
        "parent_id": "0" * 16,
        "name": "x",
        "start_time": 1.0,
        "end_time": 2.0,
    }
    assert [d["id"] for d in store.assemble([orphan])] == ["9" * 16]


def test_a_summary_reports_annotations_services_and_flags() -> None:
    summary = store.summary(TRACE, _trace())
    assert summary["Annotations"] == {
        "document_id": [{"AnnotationValue": {"StringValue": "doc_1"}, "ServiceIds": []}],
        "trigger": [{"AnnotationValue": {"StringValue": "event"}, "ServiceIds": []}],
    }
    assert summary["ServiceIds"] == [
        {"Name": "intake", "Names": ["intake"], "Type": "AWS::Lambda"},
        {"Name": "intake", "Names": ["intake"], "Type": "AWS::Lambda::Function"},
    ]
    assert (summary["HasError"], summary["HasFault"], summary["Duration"]) == (True, False, 3.0)
    assert summary["ResponseTime"] == 3.0
    assert summary["EntryPoint"] == {"Name": "intake", "Names": ["intake"], "Type": "AWS::Lambda"}
    assert filters.parse('annotation.document_id = "doc_1" AND error')(store.facts(_trace()))


# -- Lambda's own segments ---------------------------------------------------------------------


def _function(tracing: str | None = "Active") -> Any:
    from localcloud.runner import Archive, FunctionConfig

    return FunctionConfig(
        name="docflow-local-notify",
        arn="arn:aws:lambda:us-east-1:222222222222:function:docflow-local-notify",
        handler="handlers/notify.handler",
        code=Archive("0" * 64, lambda: b""),
        tracing=tracing,
    )


def test_lambda_continues_the_callers_trace_under_its_function_segment() -> None:
    from localcloud.patches.tracing import LambdaTraces

    caller = TraceHeader(new_trace_id(), new_segment_id(), True)
    trace = LambdaTraces(None)(_function(), caller.format(), "{}")
    assert trace is not None
    given = TraceHeader.parse(trace.header)
    assert given is not None
    assert (given.root, given.sampled) == (caller.root, True)
    trace.finish(init_ms=120.0, duration_ms=30.0, error=True)
    service, function = sorted(_stored(caller.root, "222222222222"), key=lambda d: d["origin"])
    assert (service["origin"], service["parent_id"]) == ("AWS::Lambda", caller.parent)
    assert (function["origin"], function["parent_id"]) == ("AWS::Lambda::Function", service["id"])
    assert function["id"] == given.parent  # the SDK's subsegments nest under it
    assert [s["name"] for s in function["subsegments"]] == ["Initialization", "Invocation"]
    assert function["error"]
    assert service["error"]


def test_an_sqs_batch_starts_a_trace_linked_to_its_messages_traces() -> None:
    from localcloud.patches.tracing import LambdaTraces

    senders = [TraceHeader(new_trace_id(), new_segment_id(), True) for _ in range(2)]
    event = json.dumps(
        {
            "Records": [
                {"eventSource": "aws:sqs", "attributes": {"AWSTraceHeader": s.format()}}
                for s in senders
            ]
        }
    )
    trace = LambdaTraces(None)(_function(), None, event)
    assert trace is not None
    root = TraceHeader.parse(trace.header)
    assert root is not None
    assert root.root not in {s.root for s in senders}
    trace.finish(init_ms=None, duration_ms=5.0, error=False)
    service = next(d for d in _stored(root.root, "222222222222") if d["origin"] == "AWS::Lambda")
    assert service["links"] == [{"trace_id": s.root, "id": s.parent} for s in senders]


def test_an_untraced_or_unsampled_invocation_writes_nothing() -> None:
    from localcloud.patches.tracing import LambdaTraces

    assert LambdaTraces(None)(_function("PassThrough"), None, "{}") is None
    unsampled = TraceHeader(new_trace_id(), new_segment_id(), False)
    trace = LambdaTraces(None)(_function(), unsampled.format(), "{}")
    assert trace is not None
    assert trace.header.endswith("Sampled=0")
    trace.finish(init_ms=None, duration_ms=1.0, error=False)
    assert _stored(unsampled.root, "222222222222") == []
