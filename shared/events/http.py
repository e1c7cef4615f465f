"""API Gateway HTTP API requests (payload format 2.0)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInputError
from shared.events._parse import _require


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
    def from_event(cls, event: Any) -> HttpRequest:
        if not isinstance(event, dict) or event.get("version") != "2.0":
            raise InvalidInputError("expected an HTTP API event with payload format 2.0")
        http = _require(_require(event, "requestContext", "event"), "http", "requestContext")
        body = event.get("body")
        if body is not None and event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body).decode("utf-8")
            except ValueError as exc:
                raise InvalidInputError("request body is not valid base64 UTF-8") from exc
        return cls(
            route_key=str(event.get("routeKey", "")),
            method=str(_require(http, "method", "requestContext.http")).upper(),
            path=str(event.get("rawPath", http.get("path", ""))),
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
            path_parameters={
                str(k): str(v) for k, v in (event.get("pathParameters") or {}).items()
            },
            raw_body=body,
            request_id=event["requestContext"].get("requestId"),
        )

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 that says why not."""
        if not self.raw_body:
            raise InvalidInputError("request body is empty; send a JSON object")
        try:
            value = json.loads(self.raw_body)
        except ValueError as exc:
            raise InvalidInputError(f"request body is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise InvalidInputError("request body must be a JSON object")
        return value
