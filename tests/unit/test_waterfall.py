"""The demo's waterfall: X-Ray segment documents laid out as one document's journey."""

from __future__ import annotations

from typing import Any

from scripts import waterfall
from scripts.waterfall import Row


def _function(name: str, start: float, end: float, *parts: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"docflow-local-{name}",
        "origin": "AWS::Lambda::Function",
        "start_time": start,
        "end_time": end,
        "subsegments": list(parts),
    }


def _call(service: str, operation: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": service,
        "namespace": "aws",
        "aws": {"operation": operation},
        "start_time": start,
        "end_time": end,
        **extra,
    }


TRACES = [
    {
        "id": "1-a",
        "documents": [
            {"name": "docflow-local-intake", "origin": "AWS::Lambda", "start_time": 10.0},
            _function(
                "intake",
                10.0,
                12.0,
                {"name": "Initialization", "start_time": 9.5, "end_time": 10.0},
                {
                    "name": "## intake",
                    "start_time": 10.1,
                    "end_time": 11.9,
                    "subsegments": [
                        _call("states", "StartExecution", 11.0, 11.5),
                        _call("s3", "GetObject", 10.2, 10.4, fault=True),
                    ],
                },
            ),
            {
                "name": "docflow-local-processing",
                "origin": "AWS::StepFunctions::StateMachine",
                "start_time": 11.2,
                "end_time": 15.0,
                "subsegments": [{"name": "ExtractMetadata", "start_time": 11.3, "end_time": 12.5}],
            },
        ],
    },
    {
        # an API read that began while intake ran: its own block, not among intake's calls
        "id": "1-b",
        "documents": [
            _function(
                "api",
                10.5,
                10.7,
                {
                    "name": "## api",
                    "start_time": 10.5,
                    "end_time": 10.7,
                    "subsegments": [_call("dynamodb", "GetItem", 10.55, 10.65)],
                },
            )
        ],
    },
]


def test_each_function_is_followed_by_its_cold_start_and_its_calls_in_start_order() -> None:
    assert waterfall.rows(TRACES) == [
        Row("1-a", 0, "intake", "function", 10.0, 12.0),
        Row("1-a", 1, "cold start (init)", "cold", 9.5, 10.0),
        Row("1-a", 2, "s3 GetObject", "call", 10.2, 10.4, error=True),
        Row("1-a", 2, "states StartExecution", "call", 11.0, 11.5),
        Row("1-b", 0, "api", "function", 10.5, 10.7),
        Row("1-b", 2, "dynamodb GetItem", "call", 10.55, 10.65),
        Row("1-a", 0, "processing (Step Functions)", "machine", 11.2, 15.0),
        Row("1-a", 1, "ExtractMetadata", "state", 11.3, 12.5),
    ]


def test_the_text_names_counts_and_marks_failed_calls() -> None:
    text = waterfall.render_text("doc_1", waterfall.rows(TRACES), traces=2)
    lines = text.splitlines()
    assert lines[0] == (
        "trace waterfall of doc_1: 2 traces, 2 function invocations, 3 AWS calls over 5.50 s"
    )
    failed = next(line for line in lines if line.endswith("s3 GetObject"))
    assert "!" in failed
    assert "#" not in failed


def test_no_trace_says_so() -> None:
    assert waterfall.render_text("doc_1", [], traces=0) == (
        "no traces annotated with document_id = doc_1"
    )
