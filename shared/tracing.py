"""Tracing behind a small interface, so the backend can change.

aws-xray-sdk is in maintenance (end of support February 2027), so handlers only see
`Tracer`: `subsegment(name)`, `annotate(key, value)` and `instrument_aws()`. The X-Ray
backend imports the SDK on first use, never at module import, and only inside Lambda with
tracing enabled; everywhere else (tests, `sls invoke local`, the local stack) the no-op
tracer is used and the SDK is never imported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, Protocol


class Tracer(Protocol):
    def subsegment(self, name: str) -> contextlib.AbstractContextManager[None]: ...

    def annotate(self, key: str, value: str | int | float | bool) -> None: ...

    def instrument_aws(self) -> None: ...


class NoopTracer:
    """Used outside Lambda and when the stage turns tracing off."""

    @contextlib.contextmanager
    def subsegment(self, name: str) -> Iterator[None]:
        yield

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        return None

    def instrument_aws(self) -> None:
        return None


class XRayTracer:
    """aws-xray-sdk, imported lazily; Lambda's active tracing creates the parent segment."""

    def __init__(self) -> None:
        self._recorder: Any = None

    def _get_recorder(self) -> Any:
        if self._recorder is None:
            from aws_xray_sdk.core import xray_recorder

            xray_recorder.configure(context_missing="LOG_ERROR", service="docflow")
            self._recorder = xray_recorder
        return self._recorder

    @contextlib.contextmanager
    def subsegment(self, name: str) -> Iterator[None]:
        with self._get_recorder().in_subsegment(name):
            yield

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        subsegment = self._get_recorder().current_subsegment()
        if subsegment is not None:
            subsegment.put_annotation(key, value)

    def instrument_aws(self) -> None:
        from aws_xray_sdk.core import patch

        self._get_recorder()
        patch(["botocore"])


_tracer: Tracer | None = None


def get_tracer(enabled: bool) -> Tracer:
    """The process-wide tracer: X-Ray inside Lambda when enabled, otherwise a no-op."""
    global _tracer
    if _tracer is None:
        in_lambda = (
            "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "AWS_XRAY_DAEMON_ADDRESS" in os.environ
        )
        _tracer = XRayTracer() if enabled and in_lambda else NoopTracer()
    return _tracer
