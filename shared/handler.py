"""The one decorator every handler wears: logging context, then error boundary, then tracing.

    @lambda_handler(trigger="http")
    def handler(event, context): ...

- Logging (outermost): binds the invocation's keys (Powertools' names: request id, function,
  cold start, trace id; docflow's correlation id and the document the event names), logs one
  `invocation_finished` line with duration and outcome, clears.
- Error boundary, per trigger (`shared.errors` holds the classes):
  * `http`: docflow errors become their status and `{"error", "message"}` body (a 5xx says
    only what its class says publicly); anything else is logged with its traceback and
    answered with a generic 500. The exception a docflow error was raised from (an AWS
    error code, say) is logged as its `cause`, never answered.
  * `event` (S3, schedules, async invokes), `task` (Step Functions) and `batch`: errors are
    logged and re-raised, so the source retries, dead-letters or catches them. Step
    Functions sees the error class name as the error name.
- Tracing (innermost): one subsegment per invocation with the AWS calls nested, annotated
  with the trigger and the document ids of the event and the result; a no-op outside Lambda.
Nothing is swallowed except by the HTTP boundary, whose job is to answer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Literal

from shared import errors, snapstart
from shared import logging as shared_logging
from shared.settings import Settings
from shared.tracing import get_tracer

Trigger = Literal["http", "event", "task", "batch"]
Handler = Callable[[Any, Any], Any]

log = shared_logging.get_logger("docflow.handler")
_CAUSE_CHARS = 2000
_CORRELATION_CHARS = 128


def _correlation_id(trigger: Trigger, event: Any) -> str | None:
    # Runs before the error boundary, on whatever arrived: it must not raise, whatever the
    # event holds, and a caller's header must not make every log line long.
    if not isinstance(event, dict):
        return None
    value: Any = None
    if trigger == "http":
        headers = event.get("headers")
        if isinstance(headers, dict):
            value = next(
                (v for k, v in headers.items() if str(k).lower() == "x-correlation-id"), None
            )
        request_context = event.get("requestContext")
        if not value and isinstance(request_context, dict):
            value = request_context.get("requestId")
    else:
        value = event.get("correlation_id") or event.get("document_id")
    return str(value)[:_CORRELATION_CHARS] if isinstance(value, str | int) else None


def _document_id(trigger: Trigger, event: Any) -> str | None:
    """The document an invocation is about, where its event names one (a path's `{id}`, a
    task's or message's `document_id`); like the correlation id, it must never raise."""
    if not isinstance(event, dict):
        return None
    value: Any = None
    if trigger == "http":
        parameters = event.get("pathParameters")
        value = parameters.get("id") if isinstance(parameters, dict) else None
    else:
        value = event.get("document_id")
    return value[:_CORRELATION_CHARS] if isinstance(value, str) and value else None


def _cause(exc: BaseException) -> dict[str, str]:
    """The exception a docflow error was raised from, for the log only.

    Messages are written for the people who read answers and reasons, so they leave out AWS
    error codes and exception class names; the operator reading the log needs exactly those.
    """
    cause = exc.__cause__
    if cause is None:
        return {}
    return {"cause": type(cause).__name__, "cause_message": str(cause)[:_CAUSE_CHARS]}


def lambda_handler(
    trigger: Trigger, settings: Settings | None = None
) -> Callable[[Handler], Handler]:
    config = settings or Settings.load()
    shared_logging.configure(config.log_level, config.redact_keys, config.service)
    tracer = get_tracer(config.tracing_enabled)
    snapstart.register()

    def decorate(func: Handler) -> Handler:
        name = func.__module__.rsplit(".", 1)[-1]

        @functools.wraps(func)
        def wrapper(event: Any, context: Any) -> Any:
            shared_logging.bind_invocation(
                context, _correlation_id(trigger, event), _document_id(trigger, event)
            )
            started = time.perf_counter()
            outcome = "ok"
            try:
                try:
                    with tracer.invocation(f"## {name}", trigger, event) as span:
                        return span.result(func(event, context))
                except errors.DocflowError as exc:
                    outcome = exc.code
                    level = "warning" if exc.status_code < 500 or exc.retryable else "error"
                    getattr(log, level)(
                        "invocation_failed",
                        error=type(exc).__name__,
                        reason=exc.message,
                        **_cause(exc),
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
