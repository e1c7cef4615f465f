"""The one decorator every handler wears: logging context, then error boundary, then tracing.

    @lambda_handler(trigger="http")
    def handler(event, context): ...

- Logging (outermost): binds request id, function, cold start, correlation and trace ids for
  the invocation, logs one `invocation_finished` line with duration and outcome, clears.
- Error boundary, per trigger (`shared.errors` holds the classes):
  * `http`: docflow errors become their status and `{"error", "message"}` body; anything
    else is logged with its traceback and answered with a generic 500.
  * `event` (S3, schedules, async invokes), `task` (Step Functions) and `batch`: errors are
    logged and re-raised, so the source retries, dead-letters or catches them. Step
    Functions sees the error class name as the error name.
- Tracing (innermost): one subsegment per invocation, a no-op outside Lambda.
Nothing is swallowed except by the HTTP boundary, whose job is to answer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Literal

from shared import errors
from shared import logging as shared_logging
from shared.settings import Settings
from shared.tracing import get_tracer

Trigger = Literal["http", "event", "task", "batch"]
Handler = Callable[[Any, Any], Any]

log = shared_logging.get_logger("docflow.handler")


def _correlation_id(trigger: Trigger, event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    if trigger == "http":
        headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
        request_context = event.get("requestContext") or {}
        return headers.get("x-correlation-id") or request_context.get("requestId")
    value = event.get("correlation_id") or event.get("document_id")
    return str(value) if value is not None else None


def lambda_handler(
    trigger: Trigger, settings: Settings | None = None
) -> Callable[[Handler], Handler]:
    config = settings or Settings.load()
    shared_logging.configure(config.log_level, config.redact_keys)
    tracer = get_tracer(config.tracing_enabled)

    def decorate(func: Handler) -> Handler:
        name = func.__module__.rsplit(".", 1)[-1]

        @functools.wraps(func)
        def wrapper(event: Any, context: Any) -> Any:
            shared_logging.bind_invocation(context, _correlation_id(trigger, event))
            started = time.perf_counter()
            outcome = "ok"
            try:
                try:
                    with tracer.subsegment(f"## {name}"):
                        return func(event, context)
                except errors.DocflowError as exc:
                    outcome = exc.code
                    level = "warning" if exc.status_code < 500 or exc.retryable else "error"
                    getattr(log, level)(
                        "invocation_failed", error=type(exc).__name__, reason=exc.message
                    )
                    if trigger == "http":
                        return errors.http_response(exc)
                    raise
                except Exception as exc:
                    outcome = "unexpected_error"
                    log.exception("invocation_crashed", error=type(exc).__name__)
                    if trigger == "http":
                        return errors.http_response(exc)
                    raise
            finally:
                log.info(
                    "invocation_finished",
                    trigger=trigger,
                    outcome=outcome,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
                shared_logging.clear_invocation()

        return wrapper

    return decorate
