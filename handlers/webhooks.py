"""`webhooks`: document events from the webhooks queue, signed, to every subscriber."""

from __future__ import annotations

import dataclasses
from typing import Any

from docflow.documents.store import DocumentStore
from docflow.webhooks.model import BreakerPolicy
from docflow.webhooks.service import CircuitBreaker, Dispatcher
from docflow.webhooks.store import BreakerStore, HttpSender, Subscribers
from handlers import _fanout
from shared import secrets
from shared.handler import lambda_handler
from shared.idempotency import Idempotency
from shared.settings import Settings, env


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookSettings(Settings):
    documents_table: str = env("DOCUMENTS_TABLE")
    subscribers_table: str = env("SUBSCRIBERS_TABLE")
    subscribers_cache_seconds: int = env("SUBSCRIBERS_CACHE_SECONDS", 60)
    breakers_table: str = env("BREAKERS_TABLE")
    idempotency_table: str = env("IDEMPOTENCY_TABLE")
    signing_secret: str = env("WEBHOOK_SECRET_NAME")
    connect_timeout_ms: int = env("WEBHOOK_CONNECT_TIMEOUT_MS")
    read_timeout_ms: int = env("WEBHOOK_READ_TIMEOUT_MS")
    allow_http: bool = env("WEBHOOK_ALLOW_HTTP", False)
    failure_threshold: int = env("BREAKER_FAILURE_THRESHOLD")
    open_seconds: int = env("BREAKER_OPEN_SECONDS")
    trial_seconds: int = env("BREAKER_TRIAL_SECONDS")
    max_message_bytes: int = env("MAX_MESSAGE_BYTES", 65536)


settings = WebhookSettings.load()
idempotency = Idempotency(settings.idempotency_table)
dispatcher = Dispatcher(
    Subscribers(settings.subscribers_table, ttl_seconds=settings.subscribers_cache_seconds),
    CircuitBreaker(
        BreakerStore(settings.breakers_table),
        BreakerPolicy(settings.failure_threshold, settings.open_seconds, settings.trial_seconds),
    ),
    HttpSender(
        settings.connect_timeout_ms / 1000,
        settings.read_timeout_ms / 1000,
        allow_http=settings.allow_http,
    ),
    idempotency,
    secret=lambda: secrets.get_secret(settings.signing_secret),
    documents=DocumentStore(settings.documents_table),
    call_budget_ms=settings.connect_timeout_ms + settings.read_timeout_ms,
)


@lambda_handler(trigger="batch", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    dispatcher.register_lambda_context(context)
    return _fanout.consume(event, dispatcher.deliver, settings.max_message_bytes)
