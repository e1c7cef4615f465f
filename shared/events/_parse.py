"""Parsing helpers shared by the event views: a missing field is a typed error."""

from __future__ import annotations

from typing import Any

from shared.errors import InvalidInputError


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise InvalidInputError(f"{where}: missing field {key!r}")
    return mapping[key]


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _records(event: Any, where: str) -> list[Any]:
    records = _require(event, "Records", where)
    if not isinstance(records, list):
        raise InvalidInputError(f"{where}: Records must be a list")
    return records


def _mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else empty (optional sections of an event)."""
    return value if isinstance(value, dict) else {}
