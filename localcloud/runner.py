"""The process-based Lambda runner: moto's Docker invocation replaced by Python 3.12 processes.

A function's deployed package and its layers are unpacked once per code hash under the cache
directory; each execution environment is a Python 3.12 process running ``bootstrap.py`` with the
function's environment, kept warm between invocations as Lambda does and replaced when it times
out or crashes. The runner knows nothing of moto: it takes a ``FunctionConfig`` and an event and
gives back what Lambda's Invoke API would (payload, FunctionError) plus the log lines it wrote.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from localcloud import runtime

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
MARKER = b"\x1e"
MEMORY_CHECK_SECONDS = 0.1  # how often a running invocation's memory is compared to its limit
INIT_LIMIT_SECONDS = 10.0  # Lambda's limit on the init phase of an on-demand function
RESERVED_VARIABLES = {
    "_HANDLER",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
}

LogSink = Callable[["FunctionConfig", str, list[tuple[int, str]]], None]
# The credentials of a function's execution role, as Lambda puts them in the environment:
# (access key id, secret access key, session token); None keeps the runner's defaults.
CredentialSource = Callable[["FunctionConfig"], tuple[str, str, str] | None]


class InvocationTrace(Protocol):
    """What Lambda's X-Ray integration records of an invocation (localcloud.patches.tracing)."""

    header: str  # the invocation's _X_AMZN_TRACE_ID

    def finish(self, init_ms: float | None, duration_ms: float, error: bool) -> None: ...


# Lambda's tracing: given the function, the caller's X-Amzn-Trace-Id and the event, the
# invocation's trace (its segments are written when it finishes), or None when not traced.
Tracing = Callable[["FunctionConfig", str | None, str], InvocationTrace | None]


@dataclass(frozen=True)
class Archive:
    """A zip (function code or layer) known by its SHA-256, fetched only when not yet unpacked."""

    sha256: str
    content: Callable[[], bytes] = field(compare=False, repr=False)


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    code: Archive
    region: str = "us-east-1"
    timeout_s: float = 3
    memory_mb: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[Archive, ...] = ()
    version: str = "$LATEST"
    role: str | None = None  # the execution role's ARN
    tracing: str | None = None  # TracingConfig.Mode: "Active" or "PassThrough"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    def pool_key(self) -> str:
        return json.dumps(
            [
                self.arn,
                self.version,
                self.handler,
                self.code.sha256,
                [layer.sha256 for layer in self.layers],
                self.timeout_s,
                self.memory_mb,
                sorted(self.environment.items()),
                self.role,
                self.tracing,
            ]
        )


@dataclass
class InvocationResult:
    request_id: str
    payload: bytes
    function_error: str | None
    log_stream: str
    log_lines: list[str]
    duration_ms: float
    init_ms: float | None
    status: str  # "success", "error", "timeout", "crash", "oom"

    @property
    def error(self) -> dict[str, Any] | None:
        if self.function_error is None:
            return None
        parsed: dict[str, Any] = json.loads(self.payload)
        return parsed

    def log_tail(self, limit: int = 4096) -> str:
        """What Invoke returns in X-Amz-Log-Result: the last 4 KB of the invocation's log."""
        return "\n".join(self.log_lines)[-limit:]


class _Worker:
    """One execution environment: a Python 3.12 process serving invocations of one function."""

    def __init__(self, python: str, env: dict[str, str], cwd: Path, log_stream: str) -> None:
        self.log_stream = log_stream
        request_read, self._request_write = os.pipe()
        self._result_read, result_write = os.pipe()
        env = {
            **env,
            "_LOCALCLOUD_REQUEST_FD": str(request_read),
            "_LOCALCLOUD_RESULT_FD": str(result_write),
        }
        self.process = subprocess.Popen(
            [python, "-S", "-B", "-P", "-u", str(BOOTSTRAP)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(request_read, result_write),
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        os.close(request_read)
        os.close(result_write)
        self._output = b""
        self._output_changed = threading.Condition()
        self._results: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.last_used = time.monotonic()
        self._peak_mb = 0
        threading.Thread(target=self._read_output, daemon=True).start()
        threading.Thread(target=self._read_results, daemon=True).start()

    def _read_output(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while chunk := stdout.read1(65536):  # type: ignore[attr-defined]  # a BufferedReader
            with self._output_changed:
                self._output += chunk
                self._output_changed.notify_all()
        with self._output_changed:
            self._output_changed.notify_all()

    def _read_results(self) -> None:
        with os.fdopen(self._result_read, "rb") as results:
            for line in results:
                try:
                    self._results.put(json.loads(line))
                except ValueError:
                    break
        self._results.put(None)  # the process is gone

    def next_result(self, timeout: float) -> dict[str, Any] | None:
        """The next message from the runtime; None if it exited; raises queue.Empty on timeout."""
        return self._results.get(timeout=max(timeout, 0))

    def send(self, request: dict[str, Any]) -> None:
        os.write(self._request_write, (json.dumps(request) + "\n").encode())

    def take_output(self, request_id: str | None, wait: float = 2.0) -> bytes:
        """The log output up to this invocation's end marker (or all of it if there is none)."""
        marker = MARKER + request_id.encode() + MARKER + b"\n" if request_id else None
        deadline = time.monotonic() + wait
        with self._output_changed:
            while marker is not None and marker not in self._output:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    break
                self._output_changed.wait(remaining)
            if marker is not None and marker in self._output:
                taken, self._output = self._output.split(marker, 1)
            else:
                taken, self._output = self._output, b""
        return taken

    def resident_mb(self) -> int:
        """Resident memory now (0 once the process is gone)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return math.ceil(int(line.split()[1]) / 1024)
        return 0

    def max_memory_mb(self) -> int:
        """Peak resident memory of the environment (kept from before it was killed)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return self._peak_mb
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self._peak_mb = math.ceil(int(line.split()[1]) / 1024)
        return self._peak_mb

    def kill(self) -> None:
        if self.process.poll() is None:
            self.max_memory_mb()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        with contextlib.suppress(OSError):  # already closed by an earlier kill
            os.close(self._request_write)

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass(eq=False)
class LambdaRunner:
    """Runs invocations of deployed functions in warm Python 3.12 processes."""

    cache_dir: Path
    endpoint_url: str
    log_sink: LogSink | None = None
    _: KW_ONLY
    python: str | None = None
    idle_seconds: float = 300
    max_idle: int = 32
    credentials: CredentialSource | None = None
    tracing: Tracing | None = None
    xray_daemon: str | None = None
    _idle: dict[str, list[_Worker]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _unpack_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)
    _all: weakref.WeakSet[_Worker] = field(default_factory=weakref.WeakSet, init=False, repr=False)

    # -- packages --------------------------------------------------------------------------

    def _unpacked(self, kind: str, archive: Archive) -> Path:
        target = self.cache_dir / "lambda" / kind / archive.sha256
        if target.is_dir():
            return target
        with self._unpack_lock:
            if target.is_dir():
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
            try:
                with tempfile.TemporaryFile() as raw:
                    raw.write(archive.content())
                    raw.seek(0)
                    with zipfile.ZipFile(raw) as package:
                        package.extractall(staging)
                        # zip keeps Unix modes in external_attr; Lambda honours the executable bit
                        for info in package.infolist():
                            mode = info.external_attr >> 16
                            if mode:
                                os.chmod(staging / info.filename, mode | 0o400)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def _sys_path(self, fn: FunctionConfig) -> tuple[Path, list[str]]:
        code = self._unpacked("code", fn.code)
        paths = [str(code)]
        # Lambda extracts layers into /opt in order, a later layer overwriting an earlier one.
        for layer in reversed(fn.layers):
            opt = self._unpacked("layers", layer)
            paths += [
                str(opt / "python" / "lib" / "python3.12" / "site-packages"),
                str(opt / "python"),
            ]
        paths.append(str(runtime.runtime_dir(self.cache_dir)))
        return code, paths

    def _environment(
        self, fn: FunctionConfig, code: Path, paths: list[str], stream: str
    ) -> dict[str, str]:
        env = {
            key: str(value)
            for key, value in fn.environment.items()
            if key not in RESERVED_VARIABLES
        }
        env.update(
            {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "LAMBDA_TASK_ROOT": str(code),
                "LAMBDA_RUNTIME_DIR": paths[-1],
                "_HANDLER": fn.handler,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "AWS_LAMBDA_FUNCTION_NAME": fn.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_REGION": fn.region,
                "AWS_DEFAULT_REGION": fn.region,
                "AWS_ACCESS_KEY_ID": "localcloud",
                "AWS_SECRET_ACCESS_KEY": "localcloud",
                "AWS_SESSION_TOKEN": "localcloud",
                "_LOCALCLOUD_SYS_PATH": os.pathsep.join(paths),
            }
        )
        # Lambda gives each execution environment a session of the function's execution role.
        session = self.credentials(fn) if self.credentials is not None else None
        if session is not None:
            access_key, secret_key, token = session
            env |= {
                "AWS_ACCESS_KEY_ID": access_key,
                "AWS_SECRET_ACCESS_KEY": secret_key,
                "AWS_SESSION_TOKEN": token,
            }
        env.setdefault("AWS_ENDPOINT_URL", self.endpoint_url)
        if fn.tracing == "Active" and self.xray_daemon:
            # Lambda runs an X-Ray daemon beside a traced function and tells the SDK where.
            host, _, port = self.xray_daemon.rpartition(":")
            env |= {
                "AWS_XRAY_DAEMON_ADDRESS": self.xray_daemon,
                "_AWS_XRAY_DAEMON_ADDRESS": host,
                "_AWS_XRAY_DAEMON_PORT": port,
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            }
        return env

    # -- execution environments ------------------------------------------------------------

    def _checkout(self, fn: FunctionConfig) -> _Worker | None:
        key = fn.pool_key()
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                worker = idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return None

    def _checkin(self, fn: FunctionConfig, worker: _Worker) -> None:
        worker.last_used = time.monotonic()
        expired: list[_Worker] = []
        with self._lock:
            if self._closed:
                expired.append(worker)
            else:
                self._idle.setdefault(fn.pool_key(), []).append(worker)
                everyone = sorted(
                    (w for ws in self._idle.values() for w in ws), key=lambda w: w.last_used
                )
                now = time.monotonic()
                for candidate in everyone:
                    too_many = len(everyone) - len(expired) > self.max_idle
                    if too_many or now - candidate.last_used > self.idle_seconds:
                        expired.append(candidate)
                for ws in self._idle.values():
                    ws[:] = [w for w in ws if w not in expired]
        for old in expired:
            old.kill()

    def _start(self, fn: FunctionConfig) -> tuple[_Worker, dict[str, Any] | None, float]:
        python = self.python or runtime.python312()
        code, paths = self._sys_path(fn)
        now = datetime.now(UTC)
        stream = f"{now:%Y/%m/%d}/[{fn.version}]{uuid.uuid4().hex}"
        worker = _Worker(python, self._environment(fn, code, paths, stream), code, stream)
        with self._lock:
            self._all.add(worker)
        started = time.monotonic()
        try:
            ready = worker.next_result(max(INIT_LIMIT_SECONDS, fn.timeout_s))
        except queue.Empty:
            ready = {"ready": False, "error": None}
        return worker, ready, (time.monotonic() - started) * 1000

    # -- invoke -----------------------------------------------------------------------------

    def invoke(
        self,
        fn: FunctionConfig,
        event: str,
        *,
        request_id: str | None = None,
        invoked_arn: str | None = None,
        client_context: Any = None,
        trace_header: str | None = None,
    ) -> InvocationResult:
        request_id = request_id or str(uuid.uuid4())
        worker = self._checkout(fn)
        init_ms: float | None = None
        lines: list[tuple[int, str]] = []
        if worker is None:
            self._sys_path(
                fn
            )  # unpacking the package is Lambda's deployment work, not the invocation's
        began = time.monotonic()
        error: dict[str, Any] | None
        trace = self.tracing(fn, trace_header, event) if self.tracing is not None else None
        if worker is None:
            worker, ready, init_ms = self._start(fn)
            if ready is None or not ready.get("ready"):
                lines = self._lines(worker.take_output(None, wait=0.5))
                worker.kill()
                if ready is None:  # the runtime exited during init
                    error, status = _exit_error(request_id, worker.process.returncode), "crash"
                elif ready.get("error") is None:  # init did not finish in time
                    error, status = _timeout_error(request_id, fn.timeout_s), "timeout"
                else:
                    error, status = ready["error"], "error"
                lines.append(
                    (
                        _now_ms(),
                        f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\t"
                        f"Status: error\tError Type: {error['errorType']}",
                    )
                )
                return self._finish(
                    fn, worker, request_id, lines, error, began, init_ms, status, trace
                )
        deadline_ms = _now_ms() + int(fn.timeout_s * 1000)
        lines.append((_now_ms(), f"START RequestId: {request_id} Version: {fn.version}"))
        worker.send(
            {
                "request_id": request_id,
                "event": event,
                "deadline_ms": deadline_ms,
                "invoked_function_arn": invoked_arn or fn.arn,
                "client_context": client_context,
                # Lambda sets _X_AMZN_TRACE_ID for every invocation (sampled only with tracing)
                "trace_id": trace.header
                if trace is not None
                else (
                    f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                    f"Parent={uuid.uuid4().hex[:16]};Sampled=0"
                ),
            }
        )
        message = self._wait(worker, fn, deadline_ms / 1000)
        if message is not None and message.get("out_of_memory"):
            status = "oom"
            worker.kill()
            output = self._lines(worker.take_output(None, wait=0))
            error = {
                "errorType": "Runtime.OutOfMemory",
                "errorMessage": (
                    f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                ),
            }
            lines += [
                *output,
                (
                    _now_ms(),
                    f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
                ),
                (_now_ms(), "Runtime.OutOfMemory"),
            ]
        elif message is None:
            status = "crash"
            output = self._lines(worker.take_output(request_id, wait=0.5))
            error = _exit_error(request_id, worker.process.wait())
            reason = error["errorMessage"].split("Error: ", 1)[1]
            lines += [
                *output,
                (_now_ms(), f"RequestId: {request_id} Error: {reason}"),
                (_now_ms(), "Runtime.ExitError"),
            ]
        elif message.get("timeout"):
            status = "timeout"
            worker.kill()
            output = self._lines(worker.take_output(None, wait=0))
            error = _timeout_error(request_id, fn.timeout_s)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            message_text = f"{stamp} {request_id} Task timed out after {fn.timeout_s:.2f} seconds"
            lines += [*output, (_now_ms(), message_text)]
        else:
            lines += self._lines(worker.take_output(request_id))
            error = message.get("error")
            status = "error" if error else "success"
            if not error:
                payload = message["payload"].encode()
        result = self._finish(fn, worker, request_id, lines, error, began, init_ms, status, trace)
        if status == "success":
            result.payload = payload
        return result

    @staticmethod
    def _wait(worker: _Worker, fn: FunctionConfig, deadline: float) -> dict[str, Any] | None:
        """The invocation's result; {"timeout"} past the deadline; {"out_of_memory"} when the
        environment's memory goes over the function's memory size (Lambda stops it there)."""
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                return {"timeout": True}
            try:
                return worker.next_result(min(remaining, MEMORY_CHECK_SECONDS))
            except queue.Empty:
                if worker.resident_mb() > fn.memory_mb:
                    return {"out_of_memory": True}

    def _finish(
        self,
        fn: FunctionConfig,
        worker: _Worker,
        request_id: str,
        lines: list[tuple[int, str]],
        error: dict[str, Any] | None,
        began: float,
        init_ms: float | None,
        status: str,
        trace: InvocationTrace | None = None,
    ) -> InvocationResult:
        duration_ms = (time.monotonic() - began) * 1000 - (init_ms or 0)
        if trace is not None:
            trace.finish(init_ms, duration_ms, error is not None)
        memory = worker.max_memory_mb()
        if status in ("success", "error") and worker.alive():
            self._checkin(fn, worker)
        else:
            worker.kill()
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms + (init_ms or 0))} ms\t"
            f"Memory Size: {fn.memory_mb} MB\tMax Memory Used: {memory} MB"
        )
        if init_ms is not None:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        if status == "timeout":
            report += "\tStatus: timeout"
        elif status == "crash":
            report += "\tStatus: error\tError Type: Runtime.ExitError"
        elif status == "oom":
            report += "\tStatus: error\tError Type: Runtime.OutOfMemory"
        lines = [*lines, (_now_ms(), f"END RequestId: {request_id}"), (_now_ms(), report)]
        if self.log_sink is not None:
            self.log_sink(fn, worker.log_stream, lines)
        payload = json.dumps(error).encode() if error else b"null"
        return InvocationResult(
            request_id=request_id,
            payload=payload,
            function_error="Unhandled" if error else None,
            log_stream=worker.log_stream,
            log_lines=[text for _, text in lines],
            duration_ms=duration_ms,
            init_ms=init_ms,
            status=status,
        )

    @staticmethod
    def _lines(output: bytes) -> list[tuple[int, str]]:
        # One log event per line; a record the runtime joined with \r (a traceback) stays one
        # event, shown on several lines, as in CloudWatch.
        stamp = _now_ms()
        text = output.decode("utf-8", errors="replace")
        return [(stamp, line.replace("\r", "\n")) for line in text.split("\n") if line.strip()]

    def shutdown(self) -> None:
        """Stop every execution environment, idle or still running an invocation."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
        for worker in workers:
            worker.kill()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _timeout_error(request_id: str, timeout_s: float) -> dict[str, Any]:
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": (
            f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
        ),
    }


def _exit_error(request_id: str, returncode: int | None) -> dict[str, Any]:
    if returncode is not None and returncode < 0:
        reason = f"signal: {signal.Signals(-returncode).name.lower().removeprefix('sig')}"
    else:
        reason = f"exit status {returncode}"
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {reason}",
    }
