"""The local console: a read-only web view of the local stack, on loopback only.

Pages: documents (list, filters, pages; one document's timeline, objects, events, mail,
deliveries, execution graph, invocations and traces), the workflow drawn from its definition
with one execution on it, queues and streams (depth, in flight, dead letters, oldest message,
stream positions, alarms), and logs (each invocation, START to REPORT). Started by
`localcloud.server` next to the AWS endpoint, never part of what is deployed to AWS.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from localcloud.console.app import Console
from localcloud.console.sources import Sources

__all__ = ["Console", "ConsoleServer", "Sources"]


class ConsoleServer:
    """The console on its own loopback port, served on a daemon thread.

    `ports` are tried in order (0: any free port), so a second stack on the same machine gets
    a console too.
    """

    def __init__(
        self, host: str, ports: tuple[int, ...], endpoint_url: str, state_dir: Path | None
    ) -> None:
        from localcloud.console.guard import is_loopback_address
        from localcloud.server import make_wsgi_server

        if not is_loopback_address(host):
            raise ValueError(f"the console binds loopback only, not {host}")
        self.app = Console(Sources(endpoint_url, state_dir))
        server: Any = None
        for port in ports:
            try:
                server = make_wsgi_server(host, port, self.app, threaded=True)
                break
            except OSError:
                if port == ports[-1]:
                    raise
        self._server = server
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.url = f"http://{host}:{self._server.server_port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True, name="console").start()

    def stop(self) -> None:
        self._server.shutdown()
