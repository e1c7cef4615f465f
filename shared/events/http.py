"""API Gateway HTTP API requests (payload format 2.0).

The view is total: whatever an event holds, it becomes a request or a 4xx docflow error,
never another exception. Bodies are bounded before they are decoded (413 over
`MAX_BODY_BYTES`, as API Gateway answers over its own limit) and JSON bodies in depth
(`MAX_JSON_DEPTH`), so no body reaches Python's recursion limit or holds a function for
long. Every string the view hands on is valid Unicode: an unpaired surrogate (JSON allows
`"\\ud800"`, UTF-8 and every AWS API do not) is the caller's mistake, answered here with a
400 rather than by the storage layer.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInputError, PayloadTooLargeError
from shared.events._parse import _require

# docflow's bodies are a few hundred bytes (a filename, a decision and its comment); 64 KiB
# leaves room for any client, and keeps a hostile body from costing the function anything.
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 100

_SURROGATE = re.compile("[\ud800-\udfff]")


class _JsonValueError(ValueError):
    """A JSON literal docflow refuses (NaN, Infinity, a number too long or out of range)."""


@dataclass(frozen=True)
class HttpRequest:
    """API Gateway HTTP API request, payload format 2.0."""

    route_key: str
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    path_parameters: dict[str, str]
    raw_body: str | None
    request_id: str | None = None

    @classmethod
    def from_event(cls, event: Any, max_body_bytes: int = MAX_BODY_BYTES) -> HttpRequest:
        if not isinstance(event, dict) or event.get("version") != "2.0":
            raise InvalidInputError("expected an HTTP API event with payload format 2.0")
        context = _require(event, "requestContext", "event")
        http = _require(context, "http", "requestContext")
        method = _require(http, "method", "requestContext.http")
        request_id = context.get("requestId")
        return cls(
            route_key=_text(event.get("routeKey", ""), "routeKey"),
            method=_text(method, "requestContext.http.method").upper(),
            path=_text(event.get("rawPath", http.get("path", "")), "rawPath"),
            headers={k.lower(): v for k, v in _text_map(event, "headers").items()},
            query=_text_map(event, "queryStringParameters"),
            path_parameters=_text_map(event, "pathParameters"),
            raw_body=_body(event, max_body_bytes),
            request_id=None if request_id is None else _text(request_id, "requestId"),
        )

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 that says why not."""
        if not self.raw_body:
            raise InvalidInputError("request body is empty; send a JSON object")
        value = parse_json(self.raw_body, "request body")
        if not isinstance(value, dict):
            raise InvalidInputError("request body must be a JSON object")
        return value


def parse_json(text: str | bytes, what: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`text` as JSON nested at most `max_depth` deep, holding only valid Unicode and finite
    numbers, or an `InvalidInputError` naming `what` and the problem.

    Bound `text`'s size first: this keeps the depth of what it returns in check, not the cost
    of reading it.
    """
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except _JsonValueError as exc:
        raise InvalidInputError(f"{what} holds {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{what} is not valid UTF-8") from exc
    except RecursionError as exc:
        raise InvalidInputError(f"{what} nests deeper than {max_depth} levels") from exc
    _check_json(value, what, max_depth)
    return value


def _check_json(value: Any, what: str, max_depth: int) -> None:
    # Iterative, so a value nested as deep as the parser allowed cannot overflow here either.
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidInputError(
                    f"{what} holds a string with an unpaired UTF-16 surrogate "
                    "(an escape such as \\ud800 alone); send valid Unicode"
                )
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise InvalidInputError(f"{what} nests deeper than {max_depth} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def _parse_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _JsonValueError(f"a number longer than {MAX_NUMBER_DIGITS} digits")
    return int(literal)


def _parse_float(literal: str) -> float:
    if len(literal) > 2 * MAX_NUMBER_DIGITS:
        raise _JsonValueError(f"a number longer than {2 * MAX_NUMBER_DIGITS} characters")
    number = float(literal)
    if not math.isfinite(number):
        raise _JsonValueError(f"the number {literal}, which is out of range")
    return number


def _parse_constant(literal: str) -> Any:
    raise _JsonValueError(f"{literal}, which is not JSON (use a number or null)")


def _text(value: Any, where: str) -> str:
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise InvalidInputError(f"{where} must be a string")
    if _SURROGATE.search(value):
        raise InvalidInputError(f"{where} is not valid Unicode (it holds an unpaired surrogate)")
    return value


def _text_map(event: dict[str, Any], field: str) -> dict[str, str]:
    value = event.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"{field} must be an object of strings")
    return {
        _text(k, f"a name in {field}"): _text(v, f"{field}[{str(k)[:64]!r}]")
        for k, v in value.items()
    }


def _body(event: dict[str, Any], max_bytes: int) -> str | None:
    body = event.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise InvalidInputError("request body must be a string")
    if event.get("isBase64Encoded") is True:
        # Four characters carry three bytes; twice the limit leaves room for line breaks.
        if len(body) > 2 * max_bytes:
            raise _too_large(max_bytes)
        try:
            data = base64.b64decode(body)
        except ValueError as exc:
            raise InvalidInputError("request body is not valid base64") from exc
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError("request body is not valid UTF-8") from exc
    # Every character is at least one byte: the length bounds the work before encoding.
    if len(body) > max_bytes:
        raise _too_large(max_bytes)
    try:
        size = len(body.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            "request body is not valid UTF-8 (it holds an unpaired surrogate)"
        ) from exc
    if size > max_bytes:
        raise _too_large(max_bytes)
    return body


def _too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"request body exceeds the limit of {max_bytes} bytes; docflow's requests are small "
        "JSON objects (the document itself goes to the upload URL)"
    )
