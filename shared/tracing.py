"""Tracing behind a small interface, so the backend can change.

aws-xray-sdk is in maintenance (end of support February 2027), so handlers only see
`Tracer`: `invocation(name, trigger, event)` (what the handler decorator wraps every
invocation in), `subsegment(name)`, `annotate(key, value)` and `instrument_aws()`.

The X-Ray backend is used inside Lambda with tracing on (Lambda sets AWS_XRAY_DAEMON_ADDRESS
for a function with active tracing); everywhere else (tests, `sls invoke local`) the no-op
tracer is used and the SDK is never imported. The SDK is imported, and botocore patched, on
the first invocation, never at module import, so the init phase does not pay for it. Lambda
writes the function's segment itself and hands the SDK its id in `_X_AMZN_TRACE_ID`; the SDK
opens one subsegment per invocation under it, which carries the annotations (`trigger`,
`event_source`, `document_id`) and nests one subsegment per AWS SDK call, and sends it to the
daemon when the invocation ends. X-Ray indexes subsegment annotations, so
`annotation.document_id = "doc_..."` finds every trace a document went through, including
those its context did not reach (a DynamoDB stream, an SQS batch, the upload after the API).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any, Protocol

Annotation = str | int | float | bool
_MAX_DOCUMENTS = 20  # per invocation: X-Ray keeps at most 50 annotations per (sub)segment
_MAX_DEPTH = 8
_MAX_JSON_TEXT = 256 * 1024  # nested JSON (an SQS body, an SNS message) read for ids up to this
_KEY_PREFIXES = ("incoming/", "quarantine/", "processed/")
# docflow.documents.model.new_document_id (`quarantine/unregistered/...` names none)
_ID_PREFIX = "doc_"


class Span(Protocol):
    def result(self, value: Any) -> Any:
        """Annotate what the invocation returned (a created document's id) and return it."""
        ...


class Tracer(Protocol):
    def invocation(
        self, name: str, trigger: str, event: Any
    ) -> contextlib.AbstractContextManager[Span]: ...

    def subsegment(self, name: str) -> contextlib.AbstractContextManager[None]: ...

    def annotate(self, key: str, value: Annotation) -> None: ...

    def instrument_aws(self) -> None: ...


class _NoopSpan:
    def result(self, value: Any) -> Any:
        return value


class NoopTracer:
    """Used outside Lambda and when the stage turns tracing off."""

    @contextlib.contextmanager
    def invocation(self, name: str, trigger: str, event: Any) -> Iterator[Span]:
        yield _NoopSpan()

    @contextlib.contextmanager
    def subsegment(self, name: str) -> Iterator[None]:
        yield

    def annotate(self, key: str, value: Annotation) -> None:
        return None

    def instrument_aws(self) -> None:
        return None


class _XRaySpan:
    def __init__(self, tracer: XRayTracer, known: list[str]) -> None:
        self._tracer = tracer
        self._known = known

    def result(self, value: Any) -> Any:
        self._tracer._annotate_documents(
            [i for i in document_ids(value) if i not in self._known], self._known
        )
        return value


class XRayTracer:
    """aws-xray-sdk, imported on first use; Lambda's active tracing creates the parent segment."""

    def __init__(self) -> None:
        self._recorder: Any = None

    def _get_recorder(self) -> Any:
        if self._recorder is None:
            from aws_xray_sdk.core import patch, xray_recorder

            xray_recorder.configure(context_missing="LOG_ERROR", service="docflow")
            # Once per process: every botocore client, made before or after, records each call
            # as a subsegment and sends X-Amzn-Trace-Id, which S3, SNS, SQS, Step Functions and
            # Lambda carry on to what the call causes.
            patch(["botocore"])
            self._recorder = xray_recorder
        return self._recorder

    @contextlib.contextmanager
    def invocation(self, name: str, trigger: str, event: Any) -> Iterator[Span]:
        with self._get_recorder().in_subsegment(name):
            self.annotate("trigger", trigger)
            source = event_source(event)
            if source:
                self.annotate("event_source", source)
            known: list[str] = []
            self._annotate_documents(document_ids(event), known)
            yield _XRaySpan(self, known)

    def _annotate_documents(self, ids: list[str], known: list[str]) -> None:
        """The invocation's subsegment takes the first document id; each further one (a batch
        of several documents) gets a child subsegment of its own, since an annotation has one
        value per subsegment and X-Ray matches a trace on any of them."""
        for document_id in ids[: max(_MAX_DOCUMENTS - len(known), 0)]:
            if not known:
                self.annotate("document_id", document_id)
            else:
                with self.subsegment("## document"):
                    self.annotate("document_id", document_id)
            known.append(document_id)

    @contextlib.contextmanager
    def subsegment(self, name: str) -> Iterator[None]:
        with self._get_recorder().in_subsegment(name):
            yield

    def annotate(self, key: str, value: Annotation) -> None:
        subsegment = self._get_recorder().current_subsegment()
        if subsegment is not None:
            subsegment.put_annotation(key, value)

    def instrument_aws(self) -> None:
        self._get_recorder()


def event_source(event: Any) -> str | None:
    """`aws:s3`, `aws:sqs`, `aws:dynamodb`... from a record event; `aws:http` for the HTTP API."""
    if not isinstance(event, dict):
        return None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        source = records[0].get("eventSource") or records[0].get("EventSource")
        return str(source) if source else None
    if "requestContext" in event and "routeKey" in event:
        return "aws:http"
    if "detail-type" in event:
        return str(event.get("source") or "aws:events")
    return None


def document_ids(value: Any) -> list[str]:
    """The docflow document ids an event or a result names, first seen first.

    `document_id` fields (DynamoDB's typed `{"S": ...}` too), the `id` path parameter of the
    HTTP API, object keys under `incoming/`, `quarantine/` and `processed/`, and the JSON that
    SQS bodies and SNS messages carry. Bounded in depth and count; never raises.
    """
    found: list[str] = []
    _collect(value, found, 0)
    return found


def _add(found: list[str], candidate: Any) -> None:
    if isinstance(candidate, dict):
        candidate = candidate.get("S")
    fits = isinstance(candidate, str) and 0 < len(candidate) <= 128
    if fits and candidate not in found and len(found) < _MAX_DOCUMENTS:
        found.append(candidate)


def _collect(value: Any, found: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH or len(found) >= _MAX_DOCUMENTS:
        return
    if isinstance(value, list):
        for item in value[:1000]:
            _collect(item, found, depth + 1)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key == "document_id":
            _add(found, item)
        elif key == "pathParameters" and isinstance(item, dict):
            _add(found, item.get("id"))
        elif key == "key" and isinstance(item, str) and item.startswith(_KEY_PREFIXES):
            parts = item.split("/")
            if len(parts) > 2 and parts[1].startswith(_ID_PREFIX):
                _add(found, parts[1])
        elif key in ("body", "Message") and isinstance(item, str):
            if item[:1] == "{" and len(item) <= _MAX_JSON_TEXT:
                with contextlib.suppress(ValueError):
                    _collect(json.loads(item), found, depth + 1)
        elif isinstance(item, dict | list):
            _collect(item, found, depth + 1)


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
