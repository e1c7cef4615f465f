"""docs/openapi.yaml as a checker: does an HTTP answer say what the document says it says?

`Contract.check(method, path, status, content_type, body)` finds the operation whose path
template matches, the response documented for the status, and validates the body against its
schema (JSON Schema 2020-12, as OpenAPI 3.1 defines it). It raises `ContractError` naming
what contradicts the document, never returns a verdict to ignore.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
_URI = "urn:docflow:openapi"


class ContractError(AssertionError):
    """An answer the OpenAPI document does not allow."""


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Contract:
    document: dict[str, Any]

    @classmethod
    def load(cls, path: Path = DOCUMENT) -> Contract:
        return cls(yaml.safe_load(path.read_text()))

    @cached_property
    def _registry(self) -> Registry:
        resource: Resource[Any] = DRAFT202012.create_resource(self.document)
        return Registry().with_resource(_URI, resource)

    def _resolve(self, pointer: str) -> tuple[str, Any]:
        """An object of the document by JSON pointer, following `$ref`s to where they lead."""
        node: Any = self.document
        for token in pointer.strip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        while isinstance(node, dict) and "$ref" in node:
            pointer = str(node["$ref"]).removeprefix("#")
            return self._resolve(pointer)
        return pointer, node

    def operation(self, method: str, path: str) -> tuple[str, str]:
        """(path template, JSON pointer of the operation) for a request's method and path."""
        for template in self.document["paths"]:
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "/?$"
            if re.match(pattern, path) and method.lower() in self.document["paths"][template]:
                return template, f"/paths/{_escape(template)}/{method.lower()}"
        raise ContractError(f"{method} {path}: no operation in {DOCUMENT.name} serves it")

    def check(
        self, method: str, url_or_path: str, status: int, content_type: str | None, body: bytes
    ) -> Any:
        """The decoded body, once it is shown to be what the document allows for the answer."""
        path = urlsplit(url_or_path).path or "/"
        template, operation = self.operation(method, path)
        responses = self._resolve(f"{operation}/responses")[1]
        key = str(status) if str(status) in responses else "default"
        if key not in responses:
            raise ContractError(
                f"{method} {template} answered {status}, which is not documented "
                f"(documented: {', '.join(sorted(responses))})"
            )
        pointer, response = self._resolve(f"{operation}/responses/{key}")
        media = (content_type or "").split(";", 1)[0].strip().lower()
        documented = response.get("content") or {}
        if not documented:
            return None
        if media not in documented:
            raise ContractError(
                f"{method} {template} {status}: content type {media!r} is not documented "
                f"({', '.join(documented)})"
            )
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise ContractError(f"{method} {template} {status}: body is not JSON: {exc}") from exc
        schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
        validator = Draft202012Validator(
            {"$ref": f"{_URI}#{schema_pointer}"}, registry=self._registry
        )
        problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if problems:
            shown = "; ".join(
                f"at /{'/'.join(map(str, p.absolute_path))}: {p.message}" for p in problems[:5]
            )
            raise ContractError(f"{method} {template} {status} contradicts the document: {shown}")
        return value
