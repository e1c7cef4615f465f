"""A state machine drawn from its Amazon States Language definition, and one execution on it.

`layout` places the states in layers (a simple Sugiyama-style layout): back edges found by a
depth-first walk from StartAt are set aside, each state's layer is its longest path from the
start, states in a layer are ordered by the mean position of their predecessors, and a Map or
Parallel state is a box holding its own layout (a Parallel's branches side by side).
`overlay` reads GetExecutionHistory: the states entered, the one still running, retries,
errors a Catch took, the transitions taken and the task-token waits with how each ended.
`svg` draws both. Nothing is drawn by hand: change the definition and the picture follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

from localcloud.console.sources import loads

NODE_H = 34
CHAR_W = 7.0
PAD_X = 16
GAP_X = 28
GAP_Y = 46
BOX_PAD = 14
BOX_HEADER = 24
LANE_W = 9
FAILURE_EVENTS = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "MapIterationFailed",
        "MapStateFailed",
        "ParallelStateFailed",
        "ExecutionFailed",
    }
)
ATTEMPT_EVENTS = frozenset({"TaskScheduled", "LambdaFunctionScheduled"})


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # next, choice, default, catch
    label: str = ""
    lane: int = -1  # >= 0: routed through that lane of the right-hand gutter


@dataclass
class Node:
    name: str
    type: str
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = NODE_H
    layer: int = 0
    inner: list[Layout] = field(default_factory=list)  # a Map's or Parallel's own layouts
    wait_for_token: bool = False


@dataclass
class Layout:
    nodes: dict[str, Node]
    edges: list[Edge]
    start: str
    width: float = 0.0
    height: float = 0.0


def _edges(states: dict[str, Any]) -> list[Edge]:
    edges = []
    for name, state in states.items():
        if state.get("Next"):
            edges.append(Edge(name, state["Next"], "next"))
        for choice in state.get("Choices", []):
            if choice.get("Next"):
                edges.append(Edge(name, choice["Next"], "choice", _condition(choice)))
        if state.get("Default"):
            edges.append(Edge(name, state["Default"], "default", "default"))
        for catch in state.get("Catch", []):
            if catch.get("Next"):
                errors = ", ".join(catch.get("ErrorEquals", []))
                edges.append(Edge(name, catch["Next"], "catch", f"catch {errors}"))
    return [e for e in edges if e.target in states]


def _condition(choice: dict[str, Any]) -> str:
    variable = str(choice.get("Variable", ""))
    for key, value in choice.items():
        if key in ("Variable", "Next"):
            continue
        if key == "IsPresent":
            return f"{variable} present" if value else f"{variable} absent"
        return f"{variable} {key} {json.dumps(value)}"
    return "rule"


def _back_edges(start: str, states: dict[str, Any], edges: list[Edge]) -> set[int]:
    """Edges that close a cycle in a depth-first walk from the start (and any orphan state)."""
    out: dict[str, list[int]] = {name: [] for name in states}
    for index, edge in enumerate(edges):
        out[edge.source].append(index)
    back: set[int] = set()
    done: set[str] = set()
    for root in [start, *states]:
        if root in done or root not in states:
            continue
        on_path = {root}
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            name, i = stack[-1]
            if i < len(out[name]):
                stack[-1] = (name, i + 1)
                edge_index = out[name][i]
                target = edges[edge_index].target
                if target in on_path:
                    back.add(edge_index)
                elif target not in done:
                    on_path.add(target)
                    stack.append((target, 0))
            else:
                stack.pop()
                on_path.discard(name)
                done.add(name)
    return back


def _inner_layouts(state: dict[str, Any]) -> list[Layout]:
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [layout(processor)] if processor else []
    if state.get("Type") == "Parallel":
        return [layout(branch) for branch in state.get("Branches", [])]
    return []


def layout(definition: dict[str, Any]) -> Layout:
    """Place every state of a definition (or of a Map's processor, a Parallel's branch)."""
    states: dict[str, Any] = definition.get("States", {})
    start = str(definition.get("StartAt", next(iter(states), "")))
    edges = _edges(states)
    back = _back_edges(start, states, edges)
    forward = [e for i, e in enumerate(edges) if i not in back]
    nodes: dict[str, Node] = {}
    for name, state in states.items():
        inner = _inner_layouts(state)
        label_w = len(name) * CHAR_W + 2 * PAD_X
        node = Node(
            name,
            str(state.get("Type", "")),
            w=label_w,
            inner=inner,
            wait_for_token=str(state.get("Resource", "")).endswith(".waitForTaskToken"),
        )
        if inner:
            node.w = max(
                label_w, sum(i.width for i in inner) + GAP_X * (len(inner) - 1) + 2 * BOX_PAD
            )
            node.h = BOX_HEADER + max(i.height for i in inner) + BOX_PAD
        nodes[name] = node

    # Layers: the longest forward path from the start (Kahn's order over the forward edges).
    incoming: dict[str, int] = dict.fromkeys(states, 0)
    for edge in forward:
        incoming[edge.target] += 1
    ready = [start] if start in states and incoming.get(start) == 0 else []
    ready += [n for n in states if incoming[n] == 0 and n != start]
    while ready:
        name = ready.pop(0)
        for edge in forward:
            if edge.source != name:
                continue
            nodes[edge.target].layer = max(nodes[edge.target].layer, nodes[name].layer + 1)
            incoming[edge.target] -= 1
            if incoming[edge.target] == 0:
                ready.append(edge.target)

    layers: dict[int, list[str]] = {}
    for name in states:  # definition order first, then the barycentre sweep
        layers.setdefault(nodes[name].layer, []).append(name)
    order: dict[str, float] = {}
    for depth in sorted(layers):
        names = layers[depth]
        if depth > 0:

            def barycentre(n: str, current: list[str] = names) -> float:
                sources = [order[e.source] for e in forward if e.target == n and e.source in order]
                return sum(sources) / len(sources) if sources else float(current.index(n))

            names.sort(key=barycentre)
        for position, name in enumerate(names):
            order[name] = position

    widths = {
        depth: sum(nodes[n].w for n in names) + GAP_X * (len(names) - 1)
        for depth, names in layers.items()
    }
    content = max(widths.values(), default=0.0)
    # Edges that skip a layer, go back or stay in one are routed through a gutter on the
    # right, one lane each, so that they never cross a state.
    lanes = 0
    for edge in edges:
        if nodes[edge.target].layer - nodes[edge.source].layer != 1:
            edge.lane = lanes
            lanes += 1
    width = content + (GAP_X + lanes * LANE_W if lanes else 0)
    y = 0.0
    for depth in sorted(layers):
        names = layers[depth]
        x = (content - widths[depth]) / 2
        row_h = max(nodes[n].h for n in names)
        for name in names:
            nodes[name].x, nodes[name].y = x, y + (row_h - nodes[name].h) / 2
            x += nodes[name].w + GAP_X
        y += row_h + GAP_Y
    return Layout(nodes, edges, start, width, max(y - GAP_Y, NODE_H))


@dataclass
class StateRun:
    entered: int = 0
    exited: int = 0
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    entered_at: Any = None
    exited_at: Any = None


@dataclass
class TokenWait:
    state: str
    submitted_at: Any = None
    ended_at: Any = None
    outcome: str = "waiting"  # waiting, succeeded, failed, timed out
    detail: str = ""


@dataclass
class Overlay:
    runs: dict[str, StateRun] = field(default_factory=dict)
    taken: set[tuple[str, str]] = field(default_factory=set)
    caught: dict[str, str] = field(default_factory=dict)  # state -> error its Catch took
    waits: list[TokenWait] = field(default_factory=list)
    status: str = ""

    @property
    def current(self) -> set[str]:
        if self.status and self.status != "RUNNING":
            return set()
        return {n for n, r in self.runs.items() if r.entered > r.exited}

    def retries(self, name: str) -> int:
        """Attempts beyond one per entry (a Map's iterations each enter its states once)."""
        run = self.runs.get(name)
        return max(run.attempts - max(run.entered, 1), 0) if run else 0


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def overlay(events: list[dict[str, Any]], status: str = "") -> Overlay:
    """What one execution did, from its GetExecutionHistory events."""
    result = Overlay(status=status)
    by_id = {int(e["id"]): e for e in events}
    owner: dict[int, str] = {}

    def state_of(event_id: int) -> str | None:
        """The state an event belongs to: the nearest StateEntered up its previousEventId chain."""
        chain = []
        current: int | None = event_id
        found = None
        while current is not None and current in by_id:
            if current in owner:
                found = owner[current]
                break
            event = by_id[current]
            chain.append(current)
            if str(event.get("type", "")).endswith("StateEntered"):
                found = _details(event).get("name")
                break
            if str(event.get("type", "")).endswith("StateExited"):
                # After an exit the chain leads out of that state: no owner beyond it.
                break
            previous = event.get("previousEventId")
            current = int(previous) if previous else None
        for visited in chain:
            if found is not None:
                owner[visited] = found
        return found

    exits: dict[int, str] = {}
    failed: dict[int, tuple[str, str]] = {}  # failure event id -> (state, error)
    containers: list[str] = []  # the Map and Parallel states open, innermost last
    for event in sorted(events, key=lambda e: int(e["id"])):
        kind = str(event.get("type", ""))
        details = _details(event)
        event_id = int(event["id"])
        previous = int(event.get("previousEventId") or 0)
        if kind.endswith("StateEntered"):
            name = str(details.get("name"))
            run = result.runs.setdefault(name, StateRun())
            run.entered += 1
            run.entered_at = run.entered_at or event.get("timestamp")
            if previous in exits:
                result.taken.add((exits[previous], name))
            elif previous in failed:  # a Catch went straight from the failure to its Next
                source, error = failed[previous]
                result.taken.add((source, name))
                result.caught[source] = error
                _close(result.runs[source])
            if kind == "FailStateEntered":  # a Fail state ends as it is entered
                _close(run)
            if kind in ("MapStateEntered", "ParallelStateEntered"):
                containers.append(name)
            owner[event_id] = name
            continue
        if kind.endswith("StateExited"):
            name = str(details.get("name"))
            run = result.runs.setdefault(name, StateRun())
            _close(run)
            run.exited_at = event.get("timestamp")
            exits[event_id] = name
            if containers and containers[-1] == name:
                containers.pop()
            output = details.get("output")
            if run.failures and output:
                # A Catch with a ResultPath puts {Error, Cause} into the output: the error's
                # name is there even when the failure event carries none (MapStateFailed).
                caught = _caught_error(output)
                if caught is not None:
                    result.caught[name] = caught or run.failures[-1]
            continue
        # A Map's or Parallel's own events (MapIterationFailed, MapStateFailed...) follow the
        # last inner state's events: they belong to the innermost open container.
        if kind.startswith(("Map", "Parallel")) and containers:
            name_or_none: str | None = containers[-1]
            owner[event_id] = containers[-1]
        else:
            name_or_none = state_of(event_id)
        if name_or_none is None:
            continue
        run = result.runs.setdefault(name_or_none, StateRun())
        if kind in ATTEMPT_EVENTS:
            run.attempts += 1
        if kind in FAILURE_EVENTS:
            error = str(details.get("error") or kind)
            run.failures.append(error)
            failed[event_id] = (name_or_none, error)
            if kind in ("MapStateFailed", "ParallelStateFailed") and containers:
                _close(result.runs[containers.pop()])
        wait = next(
            (w for w in reversed(result.waits) if w.state == name_or_none and not w.ended_at),
            None,
        )
        # The wait starts when the task is scheduled (the token exists from then on; moto
        # records TaskSubmitted only once the task has ended), or at TaskSubmitted without one.
        if (
            kind in ("TaskScheduled", "TaskSubmitted")
            and wait is None
            and str(details.get("resource", "")).endswith("waitForTaskToken")
        ):
            result.waits.append(TokenWait(name_or_none, submitted_at=event.get("timestamp")))
            continue
        if wait is not None and kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut"):
            wait.ended_at = event.get("timestamp")
            wait.outcome = {
                "TaskSucceeded": "succeeded",
                "TaskFailed": "failed",
                "TaskTimedOut": "timed out",
            }[kind]
            wait.detail = str(
                details.get("output") or details.get("error") or details.get("cause") or ""
            )
    return result


def _close(run: StateRun) -> None:
    """The state's latest entry ended (an exit, a Fail state, a failure a Catch took)."""
    run.exited = min(run.exited + 1, run.entered)


def _caught_error(output: Any) -> str | None:
    """The error name a Catch wrote into the output ("" when unnamed; None: no error there)."""
    data = loads(output) if isinstance(output, str) else output
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None
    return str(data["error"].get("Error") or "")


def _state_classes(node: Node, run_overlay: Overlay | None) -> str:
    classes = ["state", f"type-{node.type.lower()}"]
    if run_overlay is None:
        return " ".join(classes)
    run = run_overlay.runs.get(node.name)
    if run and run.entered:
        classes.append("visited")
    if node.name in run_overlay.current:
        classes.append("current")
    if run_overlay.retries(node.name):
        classes.append("retried")
    if node.name in run_overlay.caught:
        classes.append("caught")
    return " ".join(classes)


def _badge(node: Node, run_overlay: Overlay | None) -> str:
    if run_overlay is None:
        return ""
    notes = []
    run = run_overlay.runs.get(node.name)
    if run and run.entered > 1:
        notes.append(f"x{run.entered}")
    retries = run_overlay.retries(node.name)
    if retries:
        notes.append(f"{retries} retr{'y' if retries == 1 else 'ies'}")
    if node.name in run_overlay.caught:
        notes.append(f"caught {run_overlay.caught[node.name]}")
    if node.wait_for_token:
        notes.append("task token")
    return " · ".join(notes)


def _draw(graph: Layout, run_overlay: Overlay | None, dx: float, dy: float) -> list[str]:
    out: list[str] = []
    content = max((n.x + n.w for n in graph.nodes.values()), default=0.0)
    for edge in graph.edges:
        a, b = graph.nodes[edge.source], graph.nodes[edge.target]
        taken = run_overlay is not None and (edge.source, edge.target) in run_overlay.taken
        classes = f"edge {edge.kind}{' taken' if taken else ''}"
        if edge.lane < 0:
            x1, y1 = dx + a.x + a.w / 2, dy + a.y + a.h
            x2, y2 = dx + b.x + b.w / 2, dy + b.y
            mid = (y1 + y2) / 2
            path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
            lx, ly = (x1 + x2) / 2, mid
        else:  # through its lane of the gutter: out of the right side, into the top
            x1, y1 = dx + a.x + a.w, dy + a.y + a.h / 2 + 5
            x2, y2 = dx + b.x + b.w / 2 + 8, dy + b.y
            gutter = dx + content + GAP_X / 2 + edge.lane * LANE_W
            above = y2 - 10 - (edge.lane % 3) * 4
            path = f"M{x1:.1f},{y1:.1f} H{gutter:.1f} V{above:.1f} H{x2:.1f} V{y2:.1f}"
            lx, ly = x1 + 4, y1 + 11
        title = escape(f"{edge.source} -> {edge.target} {edge.label}".strip())
        out.append(
            f'<path class="{classes}" d="{path}" marker-end="url(#arrow)">'
            f"<title>{title}</title></path>"
        )
        if taken and edge.kind in ("catch", "choice"):
            out.append(
                f'<text class="edge-label {edge.kind}" x="{lx:.1f}" y="{ly:.1f}">'
                f"{escape(edge.label[:48])}</text>"
            )
    for node in graph.nodes.values():
        x, y = dx + node.x, dy + node.y
        classes = _state_classes(node, run_overlay)
        name = escape(node.name)
        out.append(f'<g class="{classes}" data-state="{name}">')
        out.append(f"<title>{name} ({escape(node.type)})</title>")
        rx = 17 if node.type in ("Succeed", "Fail") else 4
        if node.type == "Choice":
            rx = 12
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{node.w:.1f}" height="{node.h:.1f}" rx="{rx}"/>'
        )
        if node.inner:
            out.append(f'<text class="label" x="{x + 8:.1f}" y="{y + 16:.1f}">{name}</text>')
            ix = x + BOX_PAD
            for inner in node.inner:
                out.extend(_draw(inner, run_overlay, ix, y + BOX_HEADER))
                ix += inner.width + GAP_X
        else:
            out.append(
                f'<text class="label" x="{x + node.w / 2:.1f}" y="{y + node.h / 2 + 4:.1f}" '
                f'text-anchor="middle">{name}</text>'
            )
        badge = _badge(node, run_overlay)
        if badge:
            out.append(f'<text class="badge" x="{x:.1f}" y="{y - 3:.1f}">{escape(badge)}</text>')
        out.append("</g>")
    return out


def svg(definition: dict[str, Any], run_overlay: Overlay | None = None) -> str:
    """The definition as an SVG document fragment, an execution's overlay on it if given."""
    graph = layout(definition)
    margin = 24
    width, height = graph.width + 2 * margin + 120, graph.height + 2 * margin
    body = _draw(graph, run_overlay, margin, margin)
    return (
        f'<svg class="workflow" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="state machine">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z"/></marker>'
        "</defs>" + "".join(body) + "</svg>"
    )
