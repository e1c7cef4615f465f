from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import Stack
from tests.support import event, fresh_import


class LambdaContext:
    aws_request_id = "11111111-2222-3333-4444-555555555555"
    function_version = "$LATEST"
    memory_limit_in_mb = 512

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def api(stack: Stack) -> Callable[..., tuple[int, Any]]:
    """Calls the api handler like API Gateway would: (status, parsed JSON body)."""
    module: ModuleType = fresh_import("handlers.api")

    def call(
        route: str,
        *,
        key: str | None = "alice",
        body: Any = None,
        raw_body: str | None = None,
        path_id: str | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        method, path = route.split(" ", 1)
        name = {"POST /documents": "http_create_document", "GET /documents": "http_list_documents"}
        payload = event(name.get(route, "http_get_document"))
        payload["routeKey"] = route
        payload["requestContext"]["http"]["method"] = method
        raw_path = path.replace("{id}", path_id or "")
        payload["rawPath"] = payload["requestContext"]["http"]["path"] = raw_path
        payload["pathParameters"] = {"id": path_id} if path_id is not None else None
        payload["queryStringParameters"] = query
        headers = dict(payload["headers"])
        headers.pop("x-api-key")
        if key is not None:
            headers["x-api-key"] = stack.keys.get(key, key)
        payload["headers"] = headers
        payload["body"] = (
            raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        )
        response = module.handler(payload, LambdaContext("docflow-test-api"))
        return response["statusCode"], json.loads(response["body"])

    return call
