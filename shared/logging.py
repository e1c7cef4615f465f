"""Structured JSON logs: one line per event, invocation context bound once and cleared after.

Lines carry the keys of Powertools for AWS Lambda (Python), so the CloudWatch Logs Insights
queries of its documentation work on them: `level` (in capitals), `message`, `timestamp`,
`service`, `cold_start`, `function_name`, `function_memory_size`, `function_arn`,
`function_request_id`, `xray_trace_id`; docflow adds `correlation_id` and `document_id`, then
the event's own fields (`log.info("document_stored", document_id=..., bytes=...)`).

`configure()` runs once per cold start. `bind_invocation()` binds the invocation's keys;
`clear_invocation()` drops them. Values under secret-looking keys (and keys the stage
configures) are redacted before rendering, and stdlib `logging` records (boto, libraries)
render the same way.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

REDACTED = "***"
_ALWAYS_REDACTED = frozenset(
    {"authorization", "x-api-key", "api_key", "password", "secret", "token", "task_token"}
)
_state = {"configured": False, "cold_start": True}


class _Redactor:
    """Replaces values of sensitive keys, at any depth, with a fixed marker."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = _ALWAYS_REDACTED | {key.lower() for key in keys}

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: REDACTED if str(k).lower() in self.keys else self._scrub(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        scrubbed = self._scrub(dict(event_dict))
        assert isinstance(scrubbed, dict)
        return scrubbed


class _CurrentStdout:
    """Writes to whatever `sys.stdout` is at the time of the write.

    Loggers are cached on first use; binding them to the stream object of that moment would
    break when a test runner (or anything else) swaps `sys.stdout` later.
    """

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_STDOUT = _CurrentStdout()

# Powertools' keys first, in its order; the event's own fields follow.
_LEADING_KEYS = (
    "level",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "correlation_id",
    "document_id",
)


class _PowertoolsKeys:
    """structlog's `event` becomes `message`, the level is in capitals, the service is named,
    and the well-known keys lead the line (Logs Insights discovers fields from the JSON)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        fields = dict(event_dict)
        if "event" in fields:
            fields["message"] = fields.pop("event")
        fields["level"] = str(fields.get("level", "info")).upper()
        fields.setdefault("service", self.service)
        ordered = {key: fields.pop(key) for key in _LEADING_KEYS if key in fields}
        return {**ordered, **fields}


def configure(
    level: str = "INFO", redact_keys: Iterable[str] = (), service: str = "docflow"
) -> None:
    """Set up structlog and stdlib logging to emit JSON lines on stdout (idempotent)."""
    if _state["configured"]:
        return
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _Redactor(redact_keys),
    ]
    render: list[Any] = [_PowertoolsKeys(service), structlog.processors.JSONRenderer()]
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.processors.format_exc_info,
            *render,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_STDOUT),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
    )
    handler = logging.StreamHandler(_STDOUT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    _state["configured"] = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def bind_invocation(
    context: Any, correlation_id: str | None, document_id: str | None = None
) -> None:
    """Bind one invocation's keys; the first call in a process marks the cold start."""
    structlog.contextvars.clear_contextvars()
    keys = {
        "cold_start": _state["cold_start"],
        "function_name": getattr(context, "function_name", None),
        "function_memory_size": getattr(context, "memory_limit_in_mb", None),
        "function_arn": getattr(context, "invoked_function_arn", None),
        "function_request_id": getattr(context, "aws_request_id", None),
        "function_version": getattr(context, "function_version", None),
        "xray_trace_id": _trace_id(),
        "correlation_id": correlation_id,
        "document_id": document_id,
    }
    structlog.contextvars.bind_contextvars(
        **{key: value for key, value in keys.items() if value is not None}
    )
    _state["cold_start"] = False


def bind(**keys: Any) -> None:
    """Add keys to the rest of this invocation's lines (a document id learnt while working)."""
    structlog.contextvars.bind_contextvars(**keys)


def clear_invocation() -> None:
    structlog.contextvars.clear_contextvars()


def _trace_id() -> str | None:
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        if part.startswith("Root="):
            return part[5:]
    return None
