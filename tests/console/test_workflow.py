"""The state machine drawn from its definition, and one execution's history on it."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from localcloud.console import workflow
from tests.processing_definition import all_states, definition


def _event(event_id: int, kind: str, previous: int, **details: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"id": event_id, "previousEventId": previous, "type": kind}
    if details:
        key = kind[0].lower() + kind[1:]
        if kind.endswith("StateEntered"):
            key = "stateEntered"
        elif kind.endswith("StateExited"):
            key = "stateExited"
        event[f"{key}EventDetails"] = details
    return event


def test_every_state_of_the_processing_definition_is_drawn_once() -> None:
    machine = definition()
    drawn = re.findall(r'<g class="state[^"]*" data-state="([^"]+)"', workflow.svg(machine))
    assert sorted(drawn) == sorted(name for name, _ in all_states(machine["States"]))


def test_states_sit_in_layers_that_follow_the_transitions() -> None:
    graph = workflow.layout(definition())
    nodes = graph.nodes
    chain = ["ExtractMetadata", "Extracted", "Transform", "CheckPolicy", "NeedsApproval"]
    assert [nodes[name].layer for name in chain] == [0, 1, 2, 3, 4]
    assert nodes["RequestApproval"].layer < nodes["ApprovalDecision"].layer
    assert nodes["Finalize"].layer > nodes["ApprovalDecision"].layer
    # The Map holds its own layout, large enough for its processor's states.
    inner = nodes["Transform"].inner[0]
    assert set(inner.nodes) == {"TransformJob", "Transformed", "TransformDone", "TransformRefused"}
    assert nodes["Transform"].w > inner.width
    assert nodes["Transform"].h > inner.height
    for layout in (graph, inner):
        placed = sorted(layout.nodes.values(), key=lambda n: (n.layer, n.x))
        for left, right in itertools.pairwise(placed):
            if left.layer == right.layer:
                assert left.x + left.w <= right.x, (left.name, right.name)


def test_a_cycle_is_drawn_with_its_back_edge_through_the_gutter() -> None:
    machine = {
        "StartAt": "Poll",
        "States": {
            "Poll": {"Type": "Task", "Resource": "arn:x", "Next": "Done?"},
            "Done?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": False, "Next": "Poll"}],
                "Default": "End",
            },
            "End": {"Type": "Succeed"},
        },
    }
    graph = workflow.layout(machine)
    assert [graph.nodes[n].layer for n in ("Poll", "Done?", "End")] == [0, 1, 2]
    back = next(e for e in graph.edges if e.target == "Poll")
    assert back.lane == 0
    assert graph.width > max(n.x + n.w for n in graph.nodes.values())


def test_an_execution_marks_visits_retries_the_caught_error_and_the_path_taken() -> None:
    events = [
        _event(1, "ExecutionStarted", 0),
        _event(2, "TaskStateEntered", 1, name="ExtractMetadata"),
        _event(3, "LambdaFunctionScheduled", 2, resource="arn:extract"),
        _event(4, "LambdaFunctionFailed", 3, error="TransientError", cause="busy"),
        _event(5, "LambdaFunctionScheduled", 4, resource="arn:extract"),
        _event(6, "LambdaFunctionFailed", 5, error="PermanentError", cause="broken"),
        _event(
            7,
            "TaskStateExited",
            6,
            name="ExtractMetadata",
            output=json.dumps({"error": {"Error": "PermanentError"}}),
        ),
        _event(8, "TaskStateEntered", 7, name="Compensate"),
        _event(9, "LambdaFunctionScheduled", 8, resource="arn:compensate"),
    ]
    run = workflow.overlay(events, "RUNNING")
    assert run.retries("ExtractMetadata") == 1
    assert run.caught == {"ExtractMetadata": "PermanentError"}
    assert run.taken == {("ExtractMetadata", "Compensate")}
    assert run.current == {"Compensate"}
    svg = workflow.svg(definition(), run)
    assert re.search(r'class="state type-task visited retried caught" data-state="ExtractMeta', svg)
    assert 'class="state type-task visited current" data-state="Compensate"' in svg
    assert 'class="edge catch taken"' in svg
    assert 'data-state="CheckPolicy"' in svg
    assert 'visited" data-state="CheckPolicy' not in svg
    assert workflow.overlay(events, "FAILED").current == set()


def test_a_task_token_wait_ends_with_the_decision_it_was_given() -> None:
    events = [
        _event(1, "TaskStateEntered", 0, name="RequestApproval"),
        _event(2, "TaskScheduled", 1, resource="invoke.waitForTaskToken"),
        _event(3, "TaskSubmitted", 2, resource="invoke.waitForTaskToken", output="{}"),
        _event(4, "TaskSucceeded", 3, output=json.dumps({"decision": "approved"})),
        _event(5, "TaskStateExited", 4, name="RequestApproval", output="{}"),
    ]
    (wait,) = workflow.overlay(events, "SUCCEEDED").waits
    assert (wait.state, wait.outcome, json.loads(wait.detail)) == (
        "RequestApproval",
        "succeeded",
        {"decision": "approved"},
    )
    still = workflow.overlay(events[:3], "RUNNING")
    assert [(w.outcome, w.ended_at) for w in still.waits] == [("waiting", None)]
    assert still.current == {"RequestApproval"}


def test_a_task_token_wait_starts_when_its_task_is_scheduled() -> None:
    events = [
        _event(1, "TaskStateEntered", 0, name="RequestApproval"),
        _event(2, "TaskScheduled", 1, resource="invoke.waitForTaskToken"),
        _event(3, "TaskStarted", 2),
    ]
    events[1]["timestamp"] = "2026-12-01T09:00:00Z"
    (wait,) = workflow.overlay(events, "RUNNING").waits
    assert (wait.state, wait.submitted_at, wait.outcome) == (
        "RequestApproval",
        "2026-12-01T09:00:00Z",
        "waiting",
    )
    submitted = _event(4, "TaskSubmitted", 3, resource="invoke.waitForTaskToken")
    assert len(workflow.overlay([*events, submitted], "RUNNING").waits) == 1


def test_state_names_and_conditions_are_escaped_in_the_svg() -> None:
    hostile = '<script>alert(1)</script>"'
    machine = {
        "StartAt": hostile,
        "States": {
            hostile: {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "StringEquals": "</text><script>", "Next": "End"}],
                "Default": "End",
            },
            "End": {"Type": "Succeed"},
        },
    }
    run = workflow.overlay(
        [
            _event(1, "ChoiceStateEntered", 0, name=hostile),
            _event(2, "ChoiceStateExited", 1, name=hostile),
            _event(3, "SucceedStateEntered", 2, name="End"),
        ]
    )
    svg = workflow.svg(machine, run)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in svg


def test_a_map_iteration_that_fails_marks_the_map_caught_when_its_catch_moves_on() -> None:
    events = [
        _event(1, "MapStateEntered", 0, name="Transform"),
        _event(2, "MapIterationStarted", 1, name="Transform", index=0),
        _event(3, "TaskStateEntered", 2, name="TransformJob"),
        _event(4, "TaskStateExited", 3, name="TransformJob", output="{}"),
        _event(5, "FailStateEntered", 4, name="TransformRefused"),
        _event(6, "MapIterationFailed", 5, name="Transform", index=0, error="RejectedError"),
        _event(7, "MapStateFailed", 6, error="RejectedError"),
        _event(8, "TaskStateEntered", 7, name="Reject"),
    ]
    run = workflow.overlay(events, "RUNNING")
    assert run.caught == {"Transform": "RejectedError"}
    assert ("Transform", "Reject") in run.taken
    assert "TransformRefused" not in run.caught
    assert run.current == {"Reject"}


def test_a_maps_iterations_are_not_retries_and_its_caught_error_comes_from_the_output() -> None:
    # As moto records an image's two transforms, one refused: the Map's failure events carry
    # no error name; the Catch's ResultPath puts it into the Map's output.
    events = [
        _event(1, "MapStateEntered", 0, name="Transform"),
        _event(2, "MapIterationStarted", 1, name="Transform", index=0),
        _event(3, "MapIterationStarted", 1, name="Transform", index=1),
        _event(4, "TaskStateEntered", 2, name="TransformJob"),
        _event(5, "LambdaFunctionScheduled", 4, resource="arn:transform"),
        _event(6, "TaskStateEntered", 3, name="TransformJob"),
        _event(7, "LambdaFunctionScheduled", 6, resource="arn:transform"),
        _event(8, "TaskStateExited", 5, name="TransformJob", output="{}"),
        _event(9, "FailStateEntered", 8, name="TransformRefused"),
        _event(10, "MapIterationFailed", 9, name="Transform", index=0),
        _event(11, "MapStateFailed", 10),
        _event(
            12,
            "MapStateExited",
            11,
            name="Transform",
            output=json.dumps({"error": {"Error": "RejectedError", "Cause": "cut off"}}),
        ),
        _event(13, "TaskStateEntered", 12, name="Reject"),
    ]
    run = workflow.overlay(events, "RUNNING")
    assert run.retries("TransformJob") == 0
    assert run.runs["TransformJob"].entered == 2
    assert run.caught == {"Transform": "RejectedError"}
    assert ("Transform", "Reject") in run.taken
