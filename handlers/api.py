"""`api`: the upload API behind the HTTP API (payload format 2.0)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from docflow.api import service
from docflow.api.auth import KeyRing, Principal
from docflow.api.store import S3Presigner
from docflow.documents.store import DocumentStore
from shared import errors, secrets
from shared import logging as shared_logging
from shared.events.http import HttpRequest
from shared.handler import lambda_handler
from shared.settings import Settings, env

if TYPE_CHECKING:
    from docflow.documents.workflow import Tasks


@dataclasses.dataclass(frozen=True)
class ApiSettings(Settings):
    documents_table: str = env("DOCUMENTS_TABLE")
    documents_bucket: str = env("DOCUMENTS_BUCKET")
    api_keys_secret: str = env("API_KEYS_SECRET")
    max_upload_bytes: int = env("MAX_UPLOAD_BYTES")
    allowed_types: tuple[str, ...] = env("ALLOWED_TYPES")
    upload_url_ttl_seconds: int = env("UPLOAD_URL_TTL_SECONDS", 900)
    # How long an environment trusts its copy of the key list: the bound on how long a
    # revoked key keeps working (config api.keyCacheSeconds; docs/operations.md).
    api_key_cache_seconds: int = env("KEYRING_TTL_SECONDS", 30)


settings = ApiSettings.load()
store = DocumentStore(settings.documents_table)
presigner = S3Presigner(settings.documents_bucket)
key_cache = secrets.SecretCache(ttl_seconds=settings.api_key_cache_seconds)
keys = KeyRing(lambda refresh: key_cache.get_json(settings.api_keys_secret, refresh=refresh))
policy = service.UploadPolicy(
    settings.max_upload_bytes, frozenset(settings.allowed_types), settings.upload_url_ttl_seconds
)
ACTOR = "api"

Route = Callable[[Principal, HttpRequest], tuple[int, dict[str, Any]]]


@functools.cache
def _tasks() -> Tasks:
    from docflow.documents.workflow import Tasks

    return Tasks()


def _decide(who: Principal, request: HttpRequest) -> tuple[int, dict[str, Any]]:
    # Imported on the first decision: most requests are uploads and reads, and every cold
    # start pays for what this module imports (the approval code, the workflow adapter).
    from docflow.processing import approval

    document_id = service.parse_document_id(request.path_parameters.get("id", ""))
    return 200, approval.decide(who, document_id, request.json(), store, _tasks(), ACTOR)


ROUTES: dict[str, Route] = {
    "POST /documents": lambda who, req: (
        201,
        service.create_document(who, req.json(), store, presigner, policy, ACTOR),
    ),
    "GET /documents/{id}": lambda who, req: (
        200,
        service.get_document(who, req.path_parameters.get("id", ""), store),
    ),
    "GET /documents": lambda who, req: (200, service.list_documents(who, req.query, store)),
    "POST /documents/{id}/decision": _decide,
}


@lambda_handler(trigger="http", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = HttpRequest.from_event(event)
    route = ROUTES.get(request.route_key)
    if route is None:
        raise errors.NotFoundError(f"no route for {request.method} {request.path}")
    who = keys.authenticate(request.headers.get("x-api-key"))
    # API Gateway's access log cannot know the owner (keys are checked here): this line can.
    shared_logging.bind(owner=who.owner)
    status, body = route(who, request)
    return errors.json_response(status, body)
