"""One document's journey as a waterfall, read from the X-Ray API (local stack or AWS).

Finds every trace annotated with the document id (`GetTraceSummaries` with
`annotation.document_id = "<id>"`), reads their segments (`BatchGetTraces`), and lays out the
state machine, each function invocation and each AWS call on one time axis: printed as text,
and written as an HTML page with an SVG chart.

    python -m scripts.waterfall DOCUMENT_ID [--stack .local/stack.json] [--out .local/traces]
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.stack import stack_client

BAR = 40
MAX_PRINTED = 80


@dataclass(frozen=True)
class Row:
    trace: str
    depth: int
    label: str
    kind: str  # "machine", "function", "cold", "call", "state"
    start: float
    end: float
    error: bool = False

    @property
    def millis(self) -> float:
        return (self.end - self.start) * 1000


def xray_client(stack: dict[str, Any]) -> Any:
    return stack_client(stack, "xray")


def journey(xray: Any, document_id: str, since: float) -> list[dict[str, Any]]:
    """The traces of `document_id` (each with its parsed segment documents), oldest first."""
    summaries = xray.get_trace_summaries(
        StartTime=since,
        EndTime=time.time() + 60,
        FilterExpression=f'annotation.document_id = "{document_id}"',
    )["TraceSummaries"]
    ids = [s["Id"] for s in summaries]
    traces = []
    for start in range(0, len(ids), 5):  # BatchGetTraces takes five ids a call
        for trace in xray.batch_get_traces(TraceIds=ids[start : start + 5])["Traces"]:
            documents = [json.loads(s["Document"]) for s in trace["Segments"]]
            traces.append({"id": trace["Id"], "documents": documents})
    return sorted(traces, key=lambda t: min(d["start_time"] for d in t["documents"]))


def _short(name: str) -> str:
    parts = name.split("-")
    return parts[-1] if len(parts) >= 3 else name


def _calls(entity: dict[str, Any], trace: str, depth: int) -> list[Row]:
    rows = []
    for child in entity.get("subsegments", []):
        if child.get("namespace") == "aws":
            operation = (child.get("aws") or {}).get("operation", "")
            rows.append(
                Row(
                    trace,
                    depth,
                    f"{child['name']} {operation}".strip(),
                    "call",
                    child["start_time"],
                    child["end_time"],
                    bool(child.get("error") or child.get("fault")),
                )
            )
        rows += _calls(child, trace, depth + (child.get("namespace") != "aws"))
    return rows


def rows(traces: list[dict[str, Any]]) -> list[Row]:
    """State machines and functions in start order, each followed by what happened inside it
    (its states; its cold start and AWS calls) in start order, as X-Ray's console nests them."""
    blocks: list[list[Row]] = []
    for trace in traces:
        tid = trace["id"]
        for document in trace["documents"]:
            origin = document.get("origin")
            error = bool(document.get("error") or document.get("fault"))
            if origin == "AWS::StepFunctions::StateMachine":
                head = Row(
                    tid,
                    0,
                    f"{_short(document['name'])} (Step Functions)",
                    "machine",
                    document["start_time"],
                    document["end_time"],
                    error,
                )
                inside = [
                    Row(
                        tid,
                        1,
                        state["name"],
                        "state",
                        state["start_time"],
                        state["end_time"],
                        bool(state.get("error")),
                    )
                    for state in document.get("subsegments", [])
                ]
            elif origin == "AWS::Lambda::Function":
                head = Row(
                    tid,
                    0,
                    _short(document["name"]),
                    "function",
                    document["start_time"],
                    document["end_time"],
                    error,
                )
                inside = [
                    Row(tid, 1, "cold start (init)", "cold", part["start_time"], part["end_time"])
                    for part in document.get("subsegments", [])
                    if part["name"] == "Initialization"
                ]
                inside += _calls(document, tid, 1)
            else:
                continue
            blocks.append([head, *sorted(inside, key=lambda r: (r.start, r.depth))])
    blocks.sort(key=lambda block: block[0].start)
    return [row for block in blocks for row in block]


def render_text(document_id: str, table: list[Row], traces: int) -> str:
    if not table:
        return f"no traces annotated with document_id = {document_id}"
    origin = min(r.start for r in table)
    span = max(max(r.end for r in table) - origin, 1e-6)
    functions = sum(r.kind == "function" for r in table)
    calls = sum(r.kind == "call" for r in table)
    lines = [
        f"trace waterfall of {document_id}: {traces} traces, {functions} function invocations, "
        f"{calls} AWS calls over {span:.2f} s",
        f"  {'start':>8} {'ms':>8}  {'':{BAR}}  what",
    ]
    for row in table[:MAX_PRINTED]:
        left = int((row.start - origin) / span * BAR)
        width = max(1, round((row.end - row.start) / span * BAR))
        bar = (" " * left + ("!" if row.error else "#") * width)[:BAR]
        label = "  " * row.depth + row.label
        lines.append(f"  +{row.start - origin:7.3f} {row.millis:8.1f}  {bar:{BAR}}  {label}")
    if len(table) > MAX_PRINTED:
        lines.append(f"  ... {len(table) - MAX_PRINTED} more rows in the HTML page")
    return "\n".join(lines)


_COLOURS = {
    "machine": "#7b61ff",
    "state": "#b3a6ff",
    "function": "#ff9900",
    "cold": "#ffd28a",
    "call": "#3f8bd1",
}


def render_html(document_id: str, table: list[Row]) -> str:
    height, label_width, chart_width = 18, 340, 900
    origin = min((r.start for r in table), default=0.0)
    span = max(max((r.end for r in table), default=1.0) - origin, 1e-6)
    shapes = []
    for index, row in enumerate(table):
        y = index * height + 24
        x = label_width + (row.start - origin) / span * chart_width
        width = max(1.0, (row.end - row.start) / span * chart_width)
        colour = "#d13212" if row.error else _COLOURS[row.kind]
        label = html.escape("\u00a0\u00a0" * row.depth + row.label)
        shapes.append(
            f'<text x="4" y="{y + 13}">{label}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{height - 6}" '
            f'fill="{colour}"><title>{label}: {row.millis:.1f} ms</title></rect>'
            f'<text x="{x + width + 4:.1f}" y="{y + 13}" class="ms">{row.millis:.0f} ms</text>'
        )
    total = len(table) * height + 40
    return (
        "<!doctype html><meta charset='utf-8'>"
        f"<title>docflow: {html.escape(document_id)}</title>"
        "<style>body{font:13px sans-serif} text{font:12px monospace} .ms{fill:#555}</style>"
        f"<h3>{html.escape(document_id)}: {span:.2f} s, {len(table)} rows</h3>"
        f'<svg width="{label_width + chart_width + 120}" height="{total}">'
        f'<text x="{label_width}" y="14">0 s</text>'
        f'<text x="{label_width + chart_width - 40}" y="14">{span:.2f} s</text>'
        + "".join(shapes)
        + "</svg>"
    )


def show(stack: dict[str, Any], document_id: str, out_dir: Path, since: float) -> Path | None:
    """Print the waterfall and write its HTML page; None when no trace names the document."""
    traces = journey(xray_client(stack), document_id, since)
    table = rows(traces)
    print(render_text(document_id, table, len(traces)))
    if not table:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{document_id}.html"
    path.write_text(render_html(document_id, table))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("document_id")
    parser.add_argument("--stack", type=Path, default=Path(".local/stack.json"))
    parser.add_argument("--out", type=Path, default=Path(".local/traces"))
    parser.add_argument("--hours", type=float, default=6.0, help="how far back to look")
    args = parser.parse_args(argv)
    stack = json.loads(args.stack.read_text())
    path = show(stack, args.document_id, args.out, time.time() - args.hours * 3600)
    if path is None:
        return 1
    print(f"waterfall page: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
