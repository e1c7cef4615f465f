"""The trace header of the request being served, for the services that carry it on.

AWS services read `X-Amzn-Trace-Id` from a request and pass it to what the request causes:
S3 to the notifications of a write, SNS to its deliveries, SQS to the message (the
`AWSTraceHeader` system attribute), Step Functions to its executions, Lambda to the function.
The middleware keeps the header of the request in a context variable while moto serves it;
the patches that deliver events read it there (they run inside the request, or capture it
before handing work to another thread).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

_incoming: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "localcloud_trace_header", default=None
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def current() -> str | None:
    """The X-Amzn-Trace-Id of the request this thread is serving, if it had one."""
    return _incoming.get()


@contextmanager
def carrying(header: str | None) -> Iterator[None]:
    """Serve what follows as if the request had carried `header`."""
    token = _incoming.set(header)
    try:
        yield
    finally:
        _incoming.reset(token)


def middleware(app: WsgiApp) -> WsgiApp:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with carrying(environ.get("HTTP_X_AMZN_TRACE_ID") or None):
            # moto answers with a complete body: materialise it while the header is set.
            return list(app(environ, start_response))

    return wrapped
