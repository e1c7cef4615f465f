"""The X-Ray daemon's UDP side: what the X-Ray SDK in a function sends segments to.

Each datagram is a header line, `{"format": "json", "version": 1}`, a newline, then one segment
or subsegment document (JSON). Inside Lambda the SDK sends one subsegment document per
handler invocation (with its AWS calls nested), whose parent is the function segment Lambda
writes itself. The daemon forwards documents to the local X-Ray API as PutTraceSegments.

On AWS the daemon Lambda runs next to a function signs with the function's credentials, so a
role without `xray:PutTraceSegments` loses its segments: a document whose parent is a function
segment of an invocation the local Lambda started is checked against that function's role.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.xray import store

log = logging.getLogger("localcloud.xray.daemon")
HEADER = {"format": "json", "version": 1}
MAX_DATAGRAM = 64 * 1024  # the daemon's UDP buffer; the SDK keeps documents below it


class DatagramError(ValueError):
    """A datagram the daemon does not accept (the real daemon logs and drops it as well)."""


def parse_datagram(data: bytes) -> dict[str, Any]:
    """The segment document of one datagram, after checking the protocol header."""
    header, sep, body = data.partition(b"\n")
    if not sep:
        raise DatagramError('no header line: expected {"format": "json", "version": 1}')
    try:
        parsed_header = json.loads(header)
    except ValueError as exc:
        raise DatagramError(f"header is not JSON: {header[:80]!r}") from exc
    if not isinstance(parsed_header, dict) or parsed_header != HEADER:
        raise DatagramError(f"unsupported header {parsed_header!r}")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise DatagramError("segment document is not JSON") from exc
    if not isinstance(document, dict):
        raise DatagramError("segment document is not a JSON object")
    for required in ("id", "trace_id"):
        if required not in document:
            raise DatagramError(f"segment document has no {required}")
    return document


@dataclass(frozen=True)
class Writer:
    """Who writes under a function segment: its role, account and region."""

    role: str | None
    function: str
    account_id: str
    region: str


Authorizer = Callable[[Writer], bool]


class XRayDaemon:
    """A UDP listener on loopback; `address` is what AWS_XRAY_DAEMON_ADDRESS is set to."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        authorize: Authorizer | None = None,
        account_id: str = store.DEFAULT_ACCOUNT,
        region: str = "us-east-1",
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self._socket.settimeout(0.5)
        self.address = f"{host}:{self._socket.getsockname()[1]}"
        self._authorize = authorize
        self._writers: dict[str, Writer] = {}
        self._lock = threading.Lock()
        self._account_id, self._region = account_id, region
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.received = 0
        self.dropped = 0

    def register(self, segment_id: str, writer: Writer) -> None:
        """Documents whose parent is `segment_id` are written as `writer` (a function segment)."""
        with self._lock:
            self._writers[segment_id] = writer
            if len(self._writers) > 50_000:  # keep the newest; old invocations are long done
                for old in list(self._writers)[:10_000]:
                    del self._writers[old]

    def handle(self, data: bytes) -> bool:
        """Store one datagram's document; False when it is dropped (malformed, not allowed)."""
        try:
            document = parse_datagram(data)
        except DatagramError as exc:
            self.dropped += 1
            log.warning("X-Ray daemon dropped a datagram: %s", exc)
            return False
        with self._lock:
            writer = self._writers.get(str(document.get("parent_id")))
        if writer is not None and self._authorize is not None and not self._authorize(writer):
            self.dropped += 1
            log.warning(
                "%s may not xray:PutTraceSegments: its segment %s is lost",
                writer.function,
                document.get("id"),
            )
            return False
        account, region = (
            (writer.account_id, writer.region)
            if writer is not None
            else (self._account_id, self._region)
        )
        store.put_documents([document], account, region)
        self.received += 1
        return True

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                data = self._socket.recv(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self.handle(data)
            except Exception:
                log.exception("X-Ray daemon failed to store a segment")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="xray-daemon", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._socket.close()
