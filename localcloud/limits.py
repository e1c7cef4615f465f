"""The service limits the local stack enforces, in one table, and the Lambda Invoke front door.

Every figure is AWS's, from the quota page named beside it, and every refusal answers with the
status, error code and message the service sends. moto 5.2.5 enforces few of them, or others
(it sized Lambda responses with `sys.getsizeof` against 6,000,000). Where each is applied:

- the HTTP API body and the Lambda event the gateway builds: `localcloud.gateway`;
- Lambda Invoke request payloads: `middleware` below, before moto reads the body;
- Lambda Invoke responses, SQS messages and batches, Kinesis records: the patches in
  `localcloud.patches.payloads`.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

# API Gateway quotas, HTTP APIs: "Payload size: 10 MB" (not adjustable).
HTTP_API_PAYLOAD_MAX = 10 * 1024 * 1024  # 10,485,760 bytes
# Lambda quotas, "Invocation payload (request and response)": 6 MB each for synchronous
# invocations. Lambda refuses a request over 6,291,456 bytes; its response check is 100 bytes
# wider ("Response payload size exceeded maximum allowed payload size (6291556 bytes).").
LAMBDA_SYNC_REQUEST_MAX = 6 * 1024 * 1024  # 6,291,456 bytes
LAMBDA_SYNC_RESPONSE_MAX = 6 * 1024 * 1024 + 100  # 6,291,556 bytes
# Lambda quotas: 1 MB for asynchronous invocations (InvocationType=Event; 256 KB until 2025).
LAMBDA_ASYNC_REQUEST_MAX = 1024 * 1024  # 1,048,576 bytes
# SQS quotas, "Message size": 1 MiB, body and message attributes (256 KiB until August 2025);
# a SendMessageBatch request may carry at most the same in total.
SQS_MESSAGE_MAX = 1024 * 1024  # 1,048,576 bytes
SQS_BATCH_MAX = 1024 * 1024
# Kinesis Data Streams quotas: a record's data blob up to 1 MiB (the default maximum record
# size of a stream), counted here with its partition key as the PutRecords quota counts them;
# a PutRecords request up to 5 MiB (moto checks that one itself).
KINESIS_RECORD_MAX = 1024 * 1024  # 1,048,576 bytes

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/[^/]+/invocations/?$")


class ContentLengthError(ValueError):
    """The request's Content-Length is not a non-negative integer."""


def content_length(environ: dict[str, Any]) -> int | None:
    """The declared body length; None when the body is chunked or there is none declared."""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():  # also refuses "-1" and "+5", which int() would take
        raise ContentLengthError(raw)
    return int(raw)


def read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The body if it is at most `limit` bytes, else None, reading at most `limit` + 1 bytes.

    `wsgi.input` is replaced by the bytes read (with CONTENT_LENGTH to match), so the next
    application reads them again. Whatever is left unread the server discards after the answer.
    """
    declared = content_length(environ)
    stream = environ["wsgi.input"]
    if declared is not None:
        if declared > limit:
            return None
        body = stream.read(declared) if declared else b""
    elif environ.get("wsgi.input_terminated"):
        body = stream.read(limit + 1)
        if len(body) > limit:
            return None
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _count_rest(environ: dict[str, Any]) -> int:
    count = 0
    while chunk := environ["wsgi.input"].read(64 * 1024):
        count += len(chunk)
    return count


def _lambda_too_large(start_response: StartResponse, message: str) -> list[bytes]:
    body = json.dumps({"Type": "User", "message": message}).encode()
    start_response(
        "413 Request Entity Too Large",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("x-amzn-ErrorType", "RequestEntityTooLargeException"),
        ],
    )
    return [body]


def middleware(app: WSGIApp) -> WSGIApp:
    """Lambda's Invoke refuses an oversized payload with 413 before anything runs.

    Synchronous (RequestResponse, DryRun): "Request must be smaller than 6291456 bytes for the
    InvokeFunction operation"; asynchronous (Event): "<n> byte payload is too large for the
    Event invocation type (limit 1048576 bytes)". Both RequestEntityTooLargeException.
    """

    def limited(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or not _INVOKE_PATH.match(
            str(environ.get("PATH_INFO", ""))
        ):
            return app(environ, start_response)
        asynchronous = str(environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "")).strip() == "Event"
        limit = LAMBDA_ASYNC_REQUEST_MAX if asynchronous else LAMBDA_SYNC_REQUEST_MAX
        try:
            declared = content_length(environ)
        except ContentLengthError:
            return app(environ, start_response)  # moto answers a malformed request itself
        if read_body(environ, limit) is not None:
            return app(environ, start_response)
        if not asynchronous:
            return _lambda_too_large(
                start_response,
                f"Request must be smaller than {LAMBDA_SYNC_REQUEST_MAX} bytes "
                "for the InvokeFunction operation",
            )
        # A chunked body has no declared size: count what is left (discarding it) to name it.
        size = declared if declared is not None else limit + 1 + _count_rest(environ)
        return _lambda_too_large(
            start_response,
            f"{size} byte payload is too large for the Event invocation type "
            f"(limit {LAMBDA_ASYNC_REQUEST_MAX} bytes)",
        )

    return limited
