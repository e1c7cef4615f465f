"""The embedded AWS: moto in server mode on loopback, with the patches and the Lambda runner."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

STATE_DIR = Path(".local")
PID_FILE = "localcloud.pid"
INFO_FILE = "localcloud.json"
LOG_FILE = "localcloud.log"


class PortInUseError(RuntimeError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"localcloud: {host}:{port} is already in use. Stop what listens there "
            f"(`make down` if it is a local stack) or choose another port with --port."
        )


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def make_wsgi_server(host: str, port: int, app: Any, **kwargs: Any) -> BaseWSGIServer:
    """werkzeug's `make_server`, raising OSError (EADDRINUSE) when the port is taken.

    werkzeug itself prints a hint and calls `sys.exit(1)` when it cannot bind, which would end
    localcloud instead of letting the caller say which port is taken or take another (the
    console falls back to any free port). Port 0 (any free port) is never taken.
    """
    from werkzeug.serving import make_server

    if port and not port_free(host, port):
        raise OSError(errno.EADDRINUSE, f"{host}:{port} is in use")
    try:
        return make_server(host, port, app, **kwargs)
    except SystemExit as exc:  # taken between the check and the bind
        raise OSError(errno.EADDRINUSE, f"{host}:{port} is in use") from exc


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` now, for a server about to start there (tests, benchmarks)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running embedded AWS (moto endpoint and HTTP API gateway) in this process."""

    host: str
    port: int
    api_port: int
    state_dir: Path

    def __post_init__(self) -> None:
        for port in (self.port, self.api_port):
            if not port_free(self.host, port):
                raise PortInUseError(self.host, port)
        # moto reads MOTO_PORT when its Step Functions interpreter calls Lambda.
        os.environ["MOTO_PORT"] = str(self.port)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "localcloud")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "localcloud")

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        from localcloud import gateway, limits, s3post
        from localcloud.console import ConsoleServer
        from localcloud.iam import enforce
        from localcloud.iam.audit import Audit
        from localcloud.patches import apply_all
        from localcloud.patches.awslambda import write_logs
        from localcloud.patches.context import LocalCloud
        from localcloud.patches.tracing import LambdaTraces, may_write
        from localcloud.runner import LambdaRunner
        from localcloud.xray import context as xray_context
        from localcloud.xray.daemon import XRayDaemon

        self.endpoint_url = f"http://{self.host}:{self.port}"
        self.api_url = f"http://{self.host}:{self.api_port}"
        self.enforcer = enforce.Enforcer(Audit(self.state_dir), enforce.mode_from_environment())
        enforce.install(self.enforcer)
        # The X-Ray daemon Lambda runs beside traced functions: one for the stack, on a free port.
        self.xray_daemon = XRayDaemon(self.host, authorize=may_write)
        self.runner = LambdaRunner(
            self.state_dir,
            self.endpoint_url,
            log_sink=write_logs,
            credentials=enforce.function_credentials,
            tracing=LambdaTraces(self.xray_daemon),
            xray_daemon=self.xray_daemon.address,
        )
        self.patches = apply_all(
            LocalCloud(
                runner=self.runner,
                endpoint_url=self.endpoint_url,
                state_dir=self.state_dir,
                api_url=self.api_url,
            )
        )
        taken = self.port
        try:
            self._moto = make_wsgi_server(
                self.host,
                self.port,
                # Limits first (a 413 before any work), then the S3 POST policy (which parses
                # the form), then IAM (which authorises the form's s3:PutObject), then moto.
                limits.middleware(
                    s3post.middleware(
                        enforce.middleware(
                            xray_context.middleware(
                                DomainDispatcherApplication(create_backend_app)
                            ),
                            self.enforcer,
                        )
                    )
                ),
                threaded=True,
                request_handler=MotoRequestHandler,
            )
            taken = self.api_port
            self._gateway = make_wsgi_server(
                self.host, self.api_port, gateway.application, threaded=True
            )
            # The read-only console (localcloud.console): the port after the API's when free.
            self.console = ConsoleServer(
                self.host, (self.api_port + 1, 0), self.endpoint_url, self.state_dir
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(self.host, taken) from exc
            raise
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.xray_daemon.start()
        for server in (self._moto, self._gateway):
            # Stopping must not wait for requests still running (a long-poll ReceiveMessage,
            # an invocation that waits on a task token): their state is in memory anyway.
            server.daemon_threads = True  # type: ignore[attr-defined]
            server.block_on_close = False  # type: ignore[attr-defined]
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.console.start()

    def stop(self) -> None:
        for server in (self._moto, self._gateway):
            server.shutdown()
        self.console.stop()
        self.runner.shutdown()
        self.xray_daemon.stop()

    def info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "endpoint_url": self.endpoint_url,
            "api_url": self.api_url,
            "console_url": self.console.url,
            "port": self.port,
            "api_port": self.api_port,
            "patches": self.patches,
            "iam": self.enforcer.mode,
            "xray_daemon": self.xray_daemon.address,
        }


def serve(host: str, port: int, api_port: int, state_dir: Path) -> int:
    """Run in the foreground until SIGTERM/SIGINT; writes the pid and info files."""
    state_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # LOCALCLOUD_DEBUG=1 logs every request the emulator answers.
    logging.getLogger("werkzeug").setLevel(
        logging.INFO if os.environ.get("LOCALCLOUD_DEBUG") else logging.ERROR
    )
    try:
        server = Server(host, port, api_port, state_dir.resolve())
    except PortInUseError as exc:
        print(exc, file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    (state_dir / PID_FILE).write_text(f"{os.getpid()}\n")
    server.start()
    (state_dir / INFO_FILE).write_text(json.dumps(server.info(), indent=2) + "\n")
    print(
        f"localcloud: AWS endpoint {server.endpoint_url}, HTTP APIs {server.api_url}, "
        f"console {server.console.url}",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        server.stop()
        for name in (PID_FILE, INFO_FILE):
            (state_dir / name).unlink(missing_ok=True)
    # Executions, retries and pollers run on background threads that would hold the process
    # open (a Step Functions execution may wait an hour for a task token): nothing in them is
    # kept, since the emulator's state lives in memory, so leave at once.
    sys.stdout.flush()
    os._exit(0)


def alive(pid: int) -> bool:
    """Whether `pid` is a running localcloud server (not gone, not a zombie, not a process that
    reused the number: where /proc exists, its command line says so)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    try:
        stat = (proc / str(pid) / "stat").read_text()
        command = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    # An empty command line is a process still being exec'd (or a kernel thread: never a pid
    # file's); a zombie has exited and waits for its parent to reap it.
    return state != "Z" and (not command or b"localcloud" in command)


def running(state_dir: Path) -> dict[str, Any] | None:
    """The info of the server started from this state directory, if it is alive."""
    try:
        info: dict[str, Any] = json.loads((state_dir / INFO_FILE).read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError):
        return None
    return info if alive(pid) else None


def _server_pid(state_dir: Path) -> int | None:
    """The pid of this state directory's server from its info file, else its pid file (written
    first): a server whose info file is gone is still stopped, never orphaned."""
    info = running(state_dir)
    if info is not None:
        return int(info["pid"])
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def start_background(
    host: str, port: int, api_port: int, state_dir: Path, timeout: float = 60
) -> dict[str, Any]:
    """Start `serve` as a detached process and wait until it answers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    for p in (port, api_port):
        if not port_free(host, p):
            raise PortInUseError(host, p)
    (state_dir / INFO_FILE).unlink(missing_ok=True)
    with open(state_dir / LOG_FILE, "ab") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                "--api-port",
                str(api_port),
                "--state-dir",
                str(state_dir),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"localcloud exited at start (code {process.returncode}); "
                f"see {state_dir / LOG_FILE}"
            )
        info = running(state_dir)
        if info is not None:
            try:
                # loopback http URL this module built itself
                urllib.request.urlopen(f"{info['endpoint_url']}/moto-api/", timeout=2).close()  # noqa: S310
                return info
            except OSError:
                pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(
        f"localcloud did not answer within {timeout:.0f} s; see {state_dir / LOG_FILE}"
    )


def stop_background(state_dir: Path, timeout: float = 20) -> bool:
    """Stop the server started from this state directory; False if none was running."""
    pid = _server_pid(state_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    # A killed server could not remove its files; a stale pid could later name another process.
    for name in (PID_FILE, INFO_FILE):
        (state_dir / name).unlink(missing_ok=True)
    return True
