"""Trace storage and queries: moto's X-Ray backend, completed where the local stack needs it.

moto 5.2.5 keeps the documents PutTraceSegments receives, but GetTraceSummaries refuses any
filter expression (500 "Not implemented yet") and reports no annotations or services, and
BatchGetTraces returns each document as it arrived. X-Ray assembles a trace: a subsegment sent
on its own (what the SDK does inside Lambda, under the function segment Lambda writes) is
nested into its parent's document, and only segments are listed. Both are done here.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from localcloud.xray import filters
from localcloud.xray.model import trace_start

log = logging.getLogger("localcloud.xray")
_lock = threading.RLock()
DEFAULT_ACCOUNT = "123456789012"


def put_documents(documents: Iterable[dict[str, Any]], account_id: str, region: str) -> None:
    """Store segment documents as PutTraceSegments would (a bad one is logged and skipped)."""
    from moto.xray.exceptions import BadSegmentException
    from moto.xray.models import xray_backends

    backend = xray_backends[account_id][region]
    for document in documents:
        try:
            with _lock:
                backend.process_segment(json.dumps(document))
        except BadSegmentException as exc:
            log.warning("segment refused: %s %s", exc.code, exc.message)


def _entities(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield document
    for child in document.get("subsegments") or []:
        if isinstance(child, dict):
            yield from _entities(child)


def assemble(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Segments with every separately sent subsegment nested under its parent, as X-Ray shows.

    A subsegment's parent may itself have been sent on its own (the SDK streams each finished
    AWS call while the handler's subsegment is still open). A subsegment whose parent never
    arrived stays a document of its own (X-Ray would keep waiting for the parent; dropping it
    here would hide what the function sent).
    """
    copies = copy.deepcopy(documents)
    index: dict[str, dict[str, Any]] = {}
    for document in copies:
        for entity in _entities(document):
            index.setdefault(str(entity.get("id")), entity)
    attached: set[int] = set()
    for child in copies:
        if child.get("type") != "subsegment":
            continue
        parent = index.get(str(child.get("parent_id")))
        if parent is None or any(parent is e for e in _entities(child)):
            continue
        parent["subsegments"] = sorted(
            [*(parent.get("subsegments") or []), child],
            key=lambda s: float(s.get("start_time", 0)),
        )
        attached.add(id(child))
    roots = [d for d in copies if id(d) not in attached]
    return sorted(roots, key=lambda d: float(d.get("start_time", 0)))


def facts(documents: list[dict[str, Any]]) -> filters.TraceFacts:
    """What filter expressions and summaries read of one trace's documents."""
    result = filters.TraceFacts()
    segments = [d for d in documents if d.get("type") != "subsegment"]
    for document in documents:
        owner = document.get("name", "") if document.get("type") != "subsegment" else ""
        for entity in _entities(document):
            for key, value in (entity.get("annotations") or {}).items():
                if isinstance(value, str | bool):
                    scalar: filters.Scalar = value
                elif isinstance(value, int | float):
                    scalar = float(value)
                else:
                    continue
                values = result.annotations.setdefault(str(key), [])
                if scalar not in values:
                    values.append(scalar)
            result.error |= bool(entity.get("error"))
            result.fault |= bool(entity.get("fault"))
            result.throttle |= bool(entity.get("throttle"))
        if owner:
            result.services.add(str(owner))
    starts = [float(d["start_time"]) for d in documents if "start_time" in d]
    ends = [float(d["end_time"]) for d in documents if "end_time" in d]
    if starts and ends:
        result.duration = max(ends) - min(starts)
    entry = _entry_point(segments)
    if entry is not None and "end_time" in entry:
        result.response_time = float(entry["end_time"]) - float(entry["start_time"])
    return result


def _entry_point(segments: list[dict[str, Any]]) -> dict[str, Any] | None:
    without_parent = [s for s in segments if not s.get("parent_id")] or segments
    return min(without_parent, key=lambda s: float(s.get("start_time", 0)), default=None)


def _annotation_value(value: filters.Scalar) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, float):
        return {"NumberValue": value}
    return {"StringValue": value}


def _service_ids(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for document in documents:
        if document.get("type") == "subsegment":
            continue
        name, origin = str(document.get("name", "")), str(document.get("origin", ""))
        service: dict[str, Any] = {"Name": name, "Names": [name]}
        if origin:
            service["Type"] = origin
        seen.setdefault((name, origin), service)
    return list(seen.values())


def summary(trace_id: str, documents: list[dict[str, Any]]) -> dict[str, Any]:
    known = facts(documents)
    services = _service_ids(documents)
    entry = _entry_point([d for d in documents if d.get("type") != "subsegment"])
    result: dict[str, Any] = {
        "Id": trace_id,
        "Duration": round(known.duration, 3),
        "ResponseTime": round(known.response_time, 3),
        "HasFault": known.fault,
        "HasError": known.error,
        "HasThrottle": known.throttle,
        "IsPartial": False,
        "Annotations": {
            key: [{"AnnotationValue": _annotation_value(v), "ServiceIds": []} for v in values]
            for key, values in known.annotations.items()
        },
        "ServiceIds": services,
        "Users": [],
        "Http": {},
    }
    if entry is not None:
        result["EntryPoint"] = {"Name": entry.get("name"), "Names": [entry.get("name")]}
        if entry.get("origin"):
            result["EntryPoint"]["Type"] = entry["origin"]
    starts = [float(d["start_time"]) for d in documents if "start_time" in d]
    result["StartTime"] = min(starts) if starts else trace_start(trace_id)
    return result


def _documents(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(segment.raw) for segment in trace["segments"]]


def queries(cloud: Any = None) -> None:
    """GetTraceSummaries with filter expressions, annotations and services; BatchGetTraces with
    subsegments nested in their segments, as X-Ray returns them.

    Traces are selected by their first segment's start time within StartTime..EndTime; all
    matches come in one page (no NextToken).
    """
    from moto.core.exceptions import AWSError
    from moto.xray.models import XRayBackend

    original_process = XRayBackend.process_segment

    def process_segment(self: XRayBackend, doc: Any) -> None:
        with _lock:
            original_process(self, doc)

    def get_trace_summary(
        self: XRayBackend, start_time: datetime, end_time: datetime, filter_expression: Any
    ) -> dict[str, Any]:
        try:
            predicate = filters.parse(filter_expression) if filter_expression else None
        except filters.FilterExpressionError as exc:
            raise AWSError(str(exc), exception_type="InvalidRequestException") from exc
        low, high = start_time.timestamp(), end_time.timestamp()
        with _lock:
            traces = {tid: _documents(t) for tid, t in self._segment_collection._traces.items()}
        summaries = []
        for trace_id, documents in traces.items():
            if not documents:
                continue
            first = min(float(d.get("start_time", 0)) for d in documents)
            if not low <= first <= high:
                continue
            if predicate is not None and not predicate(facts(documents)):
                continue
            summaries.append(summary(trace_id, documents))
        summaries.sort(key=lambda s: float(s["StartTime"]))
        return {
            "ApproximateTime": datetime.now().timestamp(),
            "TracesProcessedCount": len(traces),
            "TraceSummaries": summaries,
        }

    def get_trace_ids(self: XRayBackend, trace_ids: list[str]) -> dict[str, Any]:
        with _lock:
            known = {
                tid: _documents(self._segment_collection._traces[tid])
                for tid in trace_ids
                if tid in self._segment_collection._traces
            }
        result: dict[str, Any] = {
            "Traces": [],
            "UnprocessedTraceIds": [tid for tid in trace_ids if tid not in known],
        }
        for trace_id, documents in known.items():
            assembled = assemble(documents)
            result["Traces"].append(
                {
                    "Id": trace_id,
                    "Duration": round(facts(documents).duration, 3),
                    "LimitExceeded": False,
                    "Segments": [{"Id": d["id"], "Document": json.dumps(d)} for d in assembled],
                }
            )
        return result

    XRayBackend.process_segment = process_segment  # type: ignore[method-assign]
    XRayBackend.get_trace_summary = get_trace_summary  # type: ignore[method-assign,assignment]
    XRayBackend.get_trace_ids = get_trace_ids  # type: ignore[method-assign]
