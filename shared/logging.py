"""Structured JSON logs: one line per event, invocation context bound once and cleared after.

`configure()` runs once per cold start. `bind_invocation()` binds request id, function,
version, cold start, correlation id and trace id for one invocation; `clear_invocation()`
drops them. Values under secret-looking keys (and keys the stage configures) are redacted
before rendering, and stdlib `logging` records (boto, libraries) render the same way.
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


def configure(level: str = "INFO", redact_keys: Iterable[str] = ()) -> None:
    """Set up structlog and stdlib logging to emit JSON lines on stdout (idempotent)."""
    if _state["configured"]:
        return
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _Redactor(redact_keys),
    ]
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_STDOUT),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(_STDOUT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    _state["configured"] = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def bind_invocation(context: Any, correlation_id: str | None) -> None:
    """Bind one invocation's identifiers; the first call in a process marks the cold start."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        request_id=getattr(context, "aws_request_id", None),
        function=getattr(context, "function_name", None),
        function_version=getattr(context, "function_version", None),
        cold_start=_state["cold_start"],
        correlation_id=correlation_id,
        trace_id=_trace_id(),
    )
    _state["cold_start"] = False


def clear_invocation() -> None:
    structlog.contextvars.clear_contextvars()


def _trace_id() -> str | None:
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        if part.startswith("Root="):
            return part[5:]
    return None
