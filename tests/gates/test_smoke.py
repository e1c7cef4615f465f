"""The pipeline's smoke test against a fake docflow API on loopback."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest

from gates.tools import ROOT


def _load_smoke() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smoke", ROOT / ".github/scripts/smoke.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


smoke = _load_smoke()


class FakeApi:
    """POST /documents, presigned upload, then statuses in order on each GET."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.uploaded = b""
        self.keys: list[str | None] = []


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeApi]]:
    state = FakeApi(list(request.param))

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any = None) -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if self.path == "/documents":
                state.keys.append(self.headers.get("x-api-key"))
                upload = {"url": f"{base}/upload", "fields": {"key": "incoming/d-1/smoke.csv"}}
                self._send(
                    201, {"document_id": "d-1", "status": "awaiting_upload", "upload": upload}
                )
            elif self.path == "/upload":
                state.uploaded = body
                self._send(204)
            else:
                self._send(404, {"message": "no route"})

        def do_GET(self) -> None:
            state.keys.append(self.headers.get("x-api-key"))
            if self.path == "/documents":
                self._send(200, {"items": []})
            elif self.path == "/documents/d-1":
                status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
                self._send(200, {"document_id": "d-1", "status": status})
            else:
                self._send(404, {"message": "no route"})

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, state
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("api", [["accepted", "processing", "processed"]], indirect=True)
def test_upload_check_follows_a_document_to_processed(api: tuple[str, FakeApi]) -> None:
    base, state = api

    assert smoke.upload_check(base, "k-123", timeout=10, poll=0) == "d-1"

    assert smoke.SAMPLE in state.uploaded
    assert b'name="key"\r\n\r\nincoming/d-1/smoke.csv' in state.uploaded
    assert set(state.keys) == {"k-123"}


@pytest.mark.parametrize("api", [["processing", "failed"]], indirect=True)
def test_upload_check_fails_when_the_document_ends_failed(api: tuple[str, FakeApi]) -> None:
    base, _ = api
    with pytest.raises(smoke.SmokeError, match="document ended failed"):
        smoke.upload_check(base, "k-123", timeout=10, poll=0)


@pytest.mark.parametrize("api", [["processing"]], indirect=True)
def test_upload_check_gives_up_after_the_timeout(api: tuple[str, FakeApi]) -> None:
    base, _ = api
    with pytest.raises(smoke.SmokeError, match="still 'processing'"):
        smoke.upload_check(base, "k-123", timeout=0.2, poll=0.05)


def test_a_plain_http_url_is_refused() -> None:
    with pytest.raises(smoke.SmokeError, match="non-HTTPS"):
        smoke.read_check("http://example.com", "k")
