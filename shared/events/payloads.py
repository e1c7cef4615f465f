"""JSON read from events (SQS bodies, SNS messages, log lines): a typed error for anything
that is not plain JSON, never a `RecursionError` or a float that is not a number.

Standard JSON only: no `NaN` or `Infinity`, no number that overflows a float (`1e400`), and at
most `MAX_DEPTH` levels of nesting. Compressed payloads (CloudWatch Logs subscriptions) are
expanded by `gunzip` to a bound, read incrementally, so a bomb costs at most that much memory.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any

from shared.errors import InvalidInputError

MAX_DEPTH = 64
"""Nesting beyond this is hostile, not data: CPython's parser raises RecursionError at about a
thousand levels, and every consumer that walks the value recursively would too. docflow's own
messages nest at most four levels, CloudWatch Logs payloads three."""

# A JSON string (escapes included) or a bracket: brackets inside strings do not count.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def loads(text: str | bytes, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `text`, or InvalidInputError naming `where` and what was wrong."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{where} is not UTF-8: {exc.reason}") from exc
    # Cheap first: fewer brackets than the limit cannot nest deeper than it.
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise InvalidInputError(f"{where} nests deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError as exc:  # a last guard; the depth check catches these first
        raise InvalidInputError(f"{where} nests too deeply") from exc
    except ValueError as exc:
        raise InvalidInputError(f"{where} is not valid JSON: {exc}") from exc


def depth(text: str) -> int:
    """How deeply `text` nests arrays and objects (strings skipped; not a validator)."""
    deepest = level = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def gunzip(data: bytes, limit: int, where: str) -> bytes:
    """Every gzip member of `data`, decompressed to at most `limit` bytes in total;
    InvalidInputError naming `where` for a truncated, unreadable or oversized payload."""
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(rest, limit - size + 1)
            size += len(chunk)
            out.append(chunk)
            if size > limit or inflater.unconsumed_tail:
                raise InvalidInputError(f"{where}: gzip payload expands beyond {limit} bytes")
            if not inflater.eof:
                raise InvalidInputError(f"{where}: gzip payload is truncated")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise InvalidInputError(f"{where}: unreadable gzip payload: {exc}") from exc
    return b"".join(out)
