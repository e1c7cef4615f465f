"""The console's server: the port after the API's when free, any free port when it is not."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from localcloud.console import ConsoleServer
from localcloud.server import free_port, make_wsgi_server


def test_the_console_takes_another_port_when_the_one_after_the_apis_is_taken(
    tmp_path: Path,
) -> None:
    # Any socket may hold that port: on Linux, outgoing connections take even local ports, and
    # the API's port from bind(0) is odd, so the one after it is often an open connection's.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = int(holder.getsockname()[1])
        console = ConsoleServer("127.0.0.1", (taken, 0), "http://127.0.0.1:1", tmp_path)
        console.start()
        try:
            assert console.url.startswith("http://127.0.0.1:")
            assert not console.url.endswith(f":{taken}")
        finally:
            console.stop()


def test_a_taken_port_is_an_os_error_not_an_exit() -> None:
    # werkzeug itself calls sys.exit(1) when it cannot bind, which would end localcloud.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = int(holder.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            make_wsgi_server("127.0.0.1", taken, lambda environ, start: [])
    server = make_wsgi_server("127.0.0.1", free_port(), lambda environ, start: [])
    server.server_close()
