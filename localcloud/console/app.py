"""The console's pages: a WSGI application rendering Jinja2 templates (autoescaped).

Every value shown comes from the stack at request time (`sources`); every page is plain HTML
and CSS, with no script at all. Document names, reasons, log lines and event bodies are
client input: Jinja2 escapes them all, and the SVG builder escapes what it writes.
"""

from __future__ import annotations

import json
import logging
import math
import re
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from localcloud.console import guard, workflow
from localcloud.console.sources import Sources, StackView, loads, parse_time

StartResponse = Callable[..., Any]
PAGE_SIZE = 50
STATUSES = (
    "awaiting_upload",
    "accepted",
    "processing",
    "awaiting_approval",
    "processed",
    "rejected",
    "quarantined",
    "failed",
)
_DOCUMENT_ID = re.compile(r"^doc_[0-9a-f]{32}$")
_HERE = Path(__file__).resolve().parent
log = logging.getLogger("localcloud.console")


class _NotFoundError(Exception):
    pass


def duration(seconds: float | None) -> str:
    """A short human duration: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min, 3 d 4 h."""
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _since(value: Any, now: datetime | None = None) -> str:
    moment = parse_time(value)
    if moment is None:
        return "-"
    return duration(((now or datetime.now(UTC)) - moment).total_seconds())


def _clock(value: Any) -> str:
    moment = parse_time(value)
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _ms_clock(value: int) -> str:
    return _clock(datetime.fromtimestamp(value / 1000, UTC))


_NOT_JSON = object()


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        decoded = loads(value, default=_NOT_JSON)
        if decoded is _NOT_JSON:
            return value
        value = decoded
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _query_url(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        since=_since,
        clock=_clock,
        ms_clock=_ms_clock,
        duration=duration,
        pretty=_pretty,
        q=lambda value: quote(str(value), safe=""),
        source_name=source_name,
    )
    env.globals.update(url=_query_url)
    return env


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The document's status changes with the time each took after the one before."""
    rows = []
    previous = None
    for entry in history:
        at = parse_time(entry.get("at"))
        rows.append(
            {
                **entry,
                "step": (at - previous).total_seconds() if at and previous else None,
            }
        )
        previous = at or previous
    return rows


class Console:
    """The console application (WSGI)."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.env = _environment()
        self.routes: dict[str, Callable[[dict[str, list[str]]], tuple[int, str, str]]] = {
            "/documents": self.documents_page,
            "/workflow": self.workflow_page,
            "/execution": self.execution_page,
            "/queues": self.queues_page,
            "/logs": self.logs_page,
            "/invocation": self.invocation_page,
            "/trace": self.trace_page,
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        refused = guard.refusal(method, environ.get("REMOTE_ADDR"), environ.get("HTTP_HOST"))
        if refused is not None:
            status, reason = refused
            headers = [("Content-Type", "text/plain; charset=utf-8")]
            if status == 405:
                headers.append(("Allow", "GET, HEAD"))
            start_response(
                f"{status} {'Forbidden' if status == 403 else 'Method Not Allowed'}", headers
            )
            return [f"{reason}\n".encode()]
        path = str(environ.get("PATH_INFO", "/")) or "/"
        params = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=False)
        try:
            status, content_type, body = self._dispatch(path, params)
        except _NotFoundError as exc:
            status, content_type = 404, "text/html; charset=utf-8"
            body = self.render("error.html", title="Not found", message=str(exc))
        except Exception:  # a page must say what failed, never take the server down
            log.warning("console page %s failed: %s", path, traceback.format_exc())
            status, content_type = 500, "text/html; charset=utf-8"
            body = self.render(
                "error.html",
                title="This page failed",
                message="reading the stack for this page failed: the local stack's log "
                "(.local/localcloud.log) has the details",
            )
        data = body.encode("utf-8")
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            # No script runs on any page; inline styles only from our own stylesheet.
            (
                "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if status == 302:
            headers.append(("Location", body))
        reasons = {200: "OK", 302: "Found", 404: "Not Found", 500: "Internal Server Error"}
        start_response(f"{status} {reasons.get(status, 'OK')}", headers)
        return [] if method.upper() == "HEAD" else [data]

    def _dispatch(self, path: str, params: dict[str, list[str]]) -> tuple[int, str, str]:
        if path == "/":
            return 302, "text/plain; charset=utf-8", "/documents"
        if path == "/console.css":
            return 200, "text/css; charset=utf-8", (_HERE / "console.css").read_text()
        if path.startswith("/documents/"):
            return self.document_page(path.removeprefix("/documents/"))
        route = self.routes.get(path.rstrip("/") or "/")
        if route is None:
            raise _NotFoundError(f"no page at {path}")
        return route(params)

    def render(self, template: str, **values: Any) -> str:
        view = None
        try:
            view = self.sources.stack()
        except Exception:  # the nav still renders before anything is deployed
            view = None
        return self.env.get_template(template).render(stack=view, now=datetime.now(UTC), **values)

    def _html(self, template: str, **values: Any) -> tuple[int, str, str]:
        return 200, "text/html; charset=utf-8", self.render(template, **values)

    def _stack(self) -> StackView:
        view = self.sources.stack()
        if view is None:
            raise _NotFoundError(
                "no docflow stack is deployed on this endpoint yet (run `make up`)"
            )
        return view

    # -- documents --------------------------------------------------------------------------

    def documents_page(self, params: dict[str, list[str]]) -> tuple[int, str, str]:
        view = self._stack()
        status = params.get("status", [""])[0]
        owner = params.get("owner", [""])[0]
        try:
            page = max(int(params.get("page", ["1"])[0]), 1)
        except ValueError:
            page = 1
        documents = self.sources.documents(view)
        owners = sorted({str(d.get("owner", "")) for d in documents})
        counts: dict[str, int] = {}
        for document in documents:
            counts[str(document.get("status"))] = counts.get(str(document.get("status")), 0) + 1
        chosen = [
            d
            for d in documents
            if (not status or d.get("status") == status) and (not owner or d.get("owner") == owner)
        ]
        pages = max(math.ceil(len(chosen) / PAGE_SIZE), 1)
        page = min(page, pages)
        shown = chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return self._html(
            "documents.html",
            title="Documents",
            documents=shown,
            total=len(chosen),
            every=len(documents),
            status=status,
            owner=owner,
            statuses=STATUSES,
            owners=owners,
            counts=counts,
            page=page,
            pages=pages,
        )

    def document_page(self, document_id: str) -> tuple[int, str, str]:
        view = self._stack()
        if not _DOCUMENT_ID.match(document_id):
            raise _NotFoundError("not a document id (doc_ and 32 hex digits)")
        document = self.sources.document(view, document_id)
        if document is None:
            raise _NotFoundError(f"no document {document_id}")
        execution = graph = run = None
        arn = document.get("execution_arn")
        if arn:
            execution, events = self.sources.execution(str(arn))
            run = workflow.overlay(events, str(execution.get("status", "")))
            graph = workflow.svg(self.sources.definition(execution["stateMachineArn"]), run)
        invocations = [
            i
            for i in self.sources.invocations(self.sources.function_groups(view))
            if i.mentions(document_id)
        ]
        invocations.sort(key=lambda i: i.started_ms)
        return self._html(
            "document.html",
            title=f"Document {document_id}",
            document=document,
            timeline=timeline(list(document.get("history") or [])),
            objects=self.sources.objects(view, document_id),
            events=self.sources.published_events(view, document_id),
            mail=self.sources.mail(document_id),
            deliveries=self.sources.deliveries(view, document_id),
            execution=execution,
            run=run,
            graph=graph,
            invocations=invocations,
            traces=self._traces(document_id, parse_time(document.get("created_at"))),
        )

    def _traces(self, document_id: str, since: datetime | None) -> list[dict[str, Any]] | None:
        """The document's traces; None when X-Ray is not there to ask (shown as such)."""
        try:
            traces = self.sources.traces(document_id, since)
        except Exception as exc:
            log.info("console: no X-Ray traces (%s)", exc)
            return None
        return [waterfall(trace) for trace in traces]

    # -- the workflow -----------------------------------------------------------------------

    def workflow_page(self, params: dict[str, list[str]]) -> tuple[int, str, str]:
        view = self._stack()
        machines = self.sources.state_machines(view)
        if not machines:
            raise _NotFoundError("the stack has no state machine")
        chosen = params.get("machine", [next(iter(machines))])[0]
        if chosen not in machines:
            raise _NotFoundError(f"no state machine {chosen}")
        arn = machines[chosen]
        definition = self.sources.definition(arn)
        return self._html(
            "workflow.html",
            title="Workflow",
            machines=machines,
            chosen=chosen,
            arn=arn,
            graph=workflow.svg(definition),
            executions=self.sources.executions(arn),
        )

    def execution_page(self, params: dict[str, list[str]]) -> tuple[int, str, str]:
        view = self._stack()
        arn = params.get("arn", [""])[0]
        if not arn.startswith("arn:aws:states:"):
            raise _NotFoundError("give an execution ARN: /execution?arn=...")
        execution, events = self.sources.execution(arn)
        run = workflow.overlay(events, str(execution.get("status", "")))
        graph = workflow.svg(self.sources.definition(execution["stateMachineArn"]), run)
        document_id = None
        given = loads(execution.get("input") or "{}")
        if isinstance(given, dict):
            document_id = given.get("document_id")
        invocations = []
        if isinstance(document_id, str) and document_id:
            invocations = [
                i
                for i in self.sources.invocations(self.sources.function_groups(view))
                if i.mentions(document_id)
            ]
            invocations.sort(key=lambda i: i.started_ms)
        started = parse_time(execution.get("startDate"))
        rows = []
        for event in events:
            at = parse_time(event.get("timestamp"))
            details = workflow._details(event)
            rows.append(
                {
                    "id": event.get("id"),
                    "type": event.get("type"),
                    "offset": (at - started).total_seconds() if at and started else None,
                    "name": details.get("name") or "",
                    "error": details.get("error") or "",
                    "details": details,
                }
            )
        return self._html(
            "execution.html",
            title=f"Execution {execution.get('name')}",
            execution=execution,
            run=run,
            graph=graph,
            events=rows,
            document_id=document_id,
            invocations=invocations,
        )

    # -- queues, streams and alarms ---------------------------------------------------------

    def queues_page(self, params: dict[str, list[str]]) -> tuple[int, str, str]:
        return self._html(
            "queues.html",
            title="Queues and streams",
            queues=self.sources.queues(),
            mappings=self.sources.event_source_mappings(),
            alarms=self.sources.alarms(self.sources.stack()),
        )

    # -- logs and traces --------------------------------------------------------------------

    def logs_page(self, params: dict[str, list[str]]) -> tuple[int, str, str]:
        view = self._stack()
        groups = self.sources.function_groups(view)
        group = params.get("group", [""])[0]
        needle = params.get("q", [""])[0]
        chosen = [group] if group in groups else groups
        invocations = [
            i for i in self.sources.invocations(chosen) if not needle or i.mentions(needle)
        ]
        invocations.sort(key=lambda i: i.started_ms, reverse=True)
        return self._html(
            "logs.html",
            title="Logs",
            groups=groups,
            group=group if group in groups else "",
            q=needle,
            invocations=invocations[:PAGE_SIZE],
            total=len(invocations),
        )

    def invocation_page(self, params: dict[str, list[str]]) -> tuple[int, str, str]:
        group = params.get("group", [""])[0]
        request_id = params.get("request", [""])[0]
        invocation = self.sources.invocation(group, request_id)
        if invocation is None:
            raise _NotFoundError(f"no invocation {request_id} in {group}")
        lines = []
        for at, text in invocation.lines:
            parsed: Any = None
            if text.startswith("{"):
                parsed = loads(text)
            lines.append(
                {"at": at, "text": text, "fields": parsed if isinstance(parsed, dict) else None}
            )
        return self._html(
            "invocation.html",
            title=f"Invocation {request_id}",
            invocation=invocation,
            lines=lines,
        )

    def trace_page(self, params: dict[str, list[str]]) -> tuple[int, str, str]:
        trace_id = params.get("id", [""])[0]
        try:
            trace = self.sources.trace(trace_id)
        except Exception as exc:
            log.info("console: X-Ray did not answer for %s: %s", trace_id, exc)
            raise _NotFoundError("X-Ray is not answering on this stack: no trace to show") from exc
        if trace is None:
            raise _NotFoundError(f"no trace {trace_id}")
        return self._html("trace.html", title=f"Trace {trace_id}", trace=waterfall(trace))


def source_name(arn: str) -> str:
    """An event source's short name: the queue, the Kinesis stream, the table of a stream."""
    resource = arn.split(":", 5)[-1]
    if arn.startswith("arn:aws:dynamodb:"):
        return f"{resource.split('/')[1]} (table stream)" if "/" in resource else resource
    if arn.startswith("arn:aws:kinesis:"):
        return f"{resource.removeprefix('stream/')} (Kinesis)"
    return resource


def waterfall(trace: dict[str, Any]) -> dict[str, Any]:
    """A trace's segments and subsegments as rows of a waterfall (offset and width in %)."""
    spans: list[dict[str, Any]] = []

    def walk(segment: dict[str, Any], depth: int) -> None:
        spans.append(
            {
                "name": segment.get("name", "?"),
                "start": float(segment.get("start_time") or 0),
                "end": float(segment.get("end_time") or segment.get("start_time") or 0),
                "depth": depth,
                "error": bool(segment.get("error") or segment.get("fault")),
                "annotations": segment.get("annotations") or {},
            }
        )
        for child in segment.get("subsegments") or []:
            walk(child, depth + 1)

    for raw in trace.get("Segments", []):
        try:
            document = json.loads(raw.get("Document") or "{}")
        except ValueError:
            continue
        walk(document, 0)
    spans.sort(key=lambda s: (s["start"], s["depth"]))
    first = min((s["start"] for s in spans), default=0.0)
    last = max((s["end"] for s in spans), default=first)
    total = max(last - first, 1e-6)
    for span in spans:
        span["offset_pct"] = round(100 * (span["start"] - first) / total, 2)
        span["width_pct"] = max(round(100 * (span["end"] - span["start"]) / total, 2), 0.3)
        span["duration"] = span["end"] - span["start"]
    return {"id": trace.get("Id"), "duration": last - first, "spans": spans}
