"""Parsing helpers shared by the event views: a missing field is a typed error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.errors import InvalidInputError


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise InvalidInputError(f"{where}: missing field {key!r}")
    return mapping[key]


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _records[R](
    event: Any, where: str, name: str, parse: Callable[[Any, str], R], *, optional: bool = False
) -> list[R]:
    """The event's `Records`, each read by `parse(record, "<name> <index>")`.

    `optional`: an event without (or with empty) `Records` holds none, rather than being
    malformed (a Kinesis window's final invocation, say).
    """
    records = (
        _mapping(event).get("Records") or [] if optional else _require(event, "Records", where)
    )
    if not isinstance(records, list):
        raise InvalidInputError(f"{where}: Records must be a list")
    return [parse(record, f"{name} {index}") for index, record in enumerate(records)]


def _mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else empty (optional sections of an event)."""
    return value if isinstance(value, dict) else {}
