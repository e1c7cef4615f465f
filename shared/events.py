"""Typed views of the events docflow receives, parsed once at the boundary.

Malformed input raises `InvalidInputError` naming what was wrong, never a `KeyError`. S3
object keys arrive URL-encoded (`+` for spaces, `%2B` for plus) and are decoded here.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from shared.errors import InvalidInputError


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise InvalidInputError(f"{where}: missing field {key!r}")
    return mapping[key]


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


@dataclass(frozen=True)
class S3Object:
    """One record of an S3 event notification."""

    event_name: str
    bucket: str
    key: str
    size: int
    version_id: str | None
    etag: str | None
    sequencer: str | None
    event_time: str | None = None

    @property
    def delivery_key(self) -> str:
        """Identifies the object version this event announces, the same on every redelivery."""
        version = self.version_id or self.sequencer or self.etag or "unversioned"
        return f"{self.bucket}/{self.key}#{version}"


@dataclass(frozen=True)
class S3Event:
    records: list[S3Object] = field(default_factory=list)

    @classmethod
    def from_event(cls, event: Any) -> S3Event:
        records = _require(event, "Records", "S3 event")
        if not isinstance(records, list):
            raise InvalidInputError("S3 event: Records must be a list")
        parsed = []
        for index, record in enumerate(records):
            where = f"S3 event record {index}"
            s3 = _require(record, "s3", where)
            obj = _require(s3, "object", where)
            parsed.append(
                S3Object(
                    event_name=str(record.get("eventName", "")),
                    bucket=str(_require(_require(s3, "bucket", where), "name", where)),
                    key=unquote_plus(str(_require(obj, "key", where))),
                    size=int(obj.get("size", 0)),
                    version_id=obj.get("versionId") or None,
                    etag=obj.get("eTag") or None,
                    sequencer=obj.get("sequencer") or None,
                    event_time=record.get("eventTime"),
                )
            )
        return cls(records=parsed)
