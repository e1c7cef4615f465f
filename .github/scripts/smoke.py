"""Smoke test of a deployed stage through its public API (standard library only).

    DOCFLOW_API_URL=https://... DOCFLOW_API_KEY=... python .github/scripts/smoke.py [--upload]

Without --upload: an authenticated `GET /documents` must answer 200 (read-only, for prod).
With --upload: `POST /documents` for a small CSV, upload it with the presigned POST, then
poll `GET /documents/{id}` until the document reaches a final status; only `processed`
passes. The key comes from the environment (a GitHub environment secret), never an argument.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

FINAL = {"processed", "rejected", "quarantined", "failed"}
SAMPLE = b"invoice,amount,currency\nsmoke-1,12.50,EUR\nsmoke-2,7.00,EUR\n"


class SmokeError(RuntimeError):
    """The stage did not behave; the message says what was seen."""


def _request(
    method: str, url: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, bytes]:
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise SmokeError(f"refusing a non-HTTPS URL: {url}")
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def _api(method: str, base: str, path: str, key: str, payload: Any = None) -> tuple[int, Any]:
    headers = {"x-api-key": key, "accept": "application/json"}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["content-type"] = "application/json"
    status, raw = _request(method, base.rstrip("/") + path, headers, body)
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def _multipart(fields: dict[str, str], content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="smoke.csv"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def read_check(base: str, key: str) -> None:
    status, body = _api("GET", base, "/documents", key)
    if status != 200:
        raise SmokeError(f"GET /documents answered {status}: {body}")
    print("GET /documents: 200")


def upload_check(base: str, key: str, timeout: float, poll: float = 5.0) -> str:
    status, created = _api(
        "POST",
        base,
        "/documents",
        key,
        {"filename": "smoke.csv", "content_type": "text/csv", "size": len(SAMPLE)},
    )
    if status != 201:
        raise SmokeError(f"POST /documents answered {status}: {created}")
    document_id, upload = created["document_id"], created["upload"]
    body, content_type = _multipart(upload["fields"], SAMPLE, "text/csv")
    status, raw = _request("POST", upload["url"], {"content-type": content_type}, body)
    if status not in (200, 201, 204):
        raise SmokeError(f"upload answered {status}: {raw[:300]!r}")
    print(f"document {document_id}: uploaded {len(SAMPLE)} bytes")

    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        status, document = _api("GET", base, f"/documents/{document_id}", key)
        if status != 200:
            raise SmokeError(f"GET /documents/{document_id} answered {status}: {document}")
        if document["status"] != seen:
            seen = document["status"]
            print(f"document {document_id}: {seen}")
        if seen in FINAL:
            if seen != "processed":
                raise SmokeError(f"document ended {seen}: {json.dumps(document)}")
            return str(document_id)
        time.sleep(poll)
    raise SmokeError(f"document {document_id} still {seen!r} after {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upload", action="store_true", help="upload a sample and follow it")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between status reads")
    args = parser.parse_args(argv)
    base, key = os.environ.get("DOCFLOW_API_URL", ""), os.environ.get("DOCFLOW_API_KEY", "")
    if not base or not key:
        print("smoke: set DOCFLOW_API_URL and DOCFLOW_API_KEY", file=sys.stderr)
        return 2
    try:
        read_check(base, key)
        if args.upload:
            upload_check(base, key, args.timeout, args.poll)
    except SmokeError as exc:
        print(f"smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    print("smoke: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
