"""Trace headers, ids and segment documents (X-Ray's segment document format)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TraceHeader:
    """`Root=1-...;Parent=...;Sampled=1` (the X-Amzn-Trace-Id header and _X_AMZN_TRACE_ID)."""

    root: str
    parent: str | None = None
    sampled: bool | None = None

    @classmethod
    def parse(cls, text: str | None) -> TraceHeader | None:
        if not text:
            return None
        fields: dict[str, str] = {}
        for part in text.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep:
                fields[key.strip().lower()] = value.strip()
        root = fields.get("root", "")
        if not is_trace_id(root):
            return None  # X-Ray drops a header whose root is not a trace id
        sampled = {"1": True, "0": False}.get(fields.get("sampled", ""))
        parent = fields.get("parent") or None
        return cls(root, parent if parent and is_segment_id(parent) else None, sampled)

    def format(self) -> str:
        text = f"Root={self.root}"
        if self.parent:
            text += f";Parent={self.parent}"
        if self.sampled is not None:
            text += f";Sampled={1 if self.sampled else 0}"
        return text

    def child(self, parent: str) -> TraceHeader:
        return TraceHeader(self.root, parent, self.sampled)


def new_trace_id(now: float | None = None) -> str:
    """`1-<8 hex digits of epoch seconds>-<24 hex digits>`."""
    return f"1-{int(now if now is not None else time.time()):08x}-{os.urandom(12).hex()}"


def new_segment_id() -> str:
    return os.urandom(8).hex()


def is_trace_id(value: str) -> bool:
    parts = value.split("-")
    return (
        len(parts) == 3
        and parts[0] == "1"
        and len(parts[1]) == 8
        and len(parts[2]) == 24
        and all(_is_hex(p) for p in parts[1:])
    )


def is_segment_id(value: str) -> bool:
    return len(value) == 16 and _is_hex(value)


def trace_start(trace_id: str) -> float:
    """The epoch second a trace id was created at (its second field)."""
    return float(int(trace_id.split("-")[1], 16))


def _is_hex(value: str) -> bool:
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def segment(
    *,
    name: str,
    trace_id: str,
    start: float,
    end: float,
    origin: str | None = None,
    segment_id: str | None = None,
    parent_id: str | None = None,
    aws: dict[str, Any] | None = None,
    subsegments: list[dict[str, Any]] | None = None,
    error: bool = False,
    fault: bool = False,
    annotations: dict[str, str | int | float | bool] | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A segment document as an AWS service writes it for itself."""
    doc: dict[str, Any] = {
        "name": name,
        "id": segment_id or new_segment_id(),
        "trace_id": trace_id,
        "start_time": start,
        "end_time": max(end, start),
    }
    optional = {
        "origin": origin,
        "parent_id": parent_id,
        "aws": aws,
        "subsegments": subsegments,
        "annotations": annotations,
        "links": links,
    }
    doc |= {key: value for key, value in optional.items() if value}
    if error:
        doc["error"] = True
    if fault:
        doc["fault"] = True
    return doc


def subsegment(
    name: str,
    start: float,
    end: float,
    *,
    segment_id: str | None = None,
    namespace: str | None = None,
    error: bool = False,
    fault: bool = False,
    aws: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "id": segment_id or new_segment_id(),
        "start_time": start,
        "end_time": max(end, start),
    }
    if namespace:
        doc["namespace"] = namespace
    if aws:
        doc["aws"] = aws
    if error:
        doc["error"] = True
    if fault:
        doc["fault"] = True
    return doc
