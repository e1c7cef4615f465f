"""The runtime side of the process-based Lambda runner, run by Python 3.12 as a child process.

It plays the part of Lambda's python3.12 runtime (awslambdaric): it imports the handler once
(the init phase), then serves invocations one at a time for as long as the parent keeps the
execution environment warm. It uses the standard library only, because it runs before the
function's package and layers are on ``sys.path`` and must not shadow anything in them.

Protocol with the parent (localcloud.runner), one JSON document per line:
- requests arrive on the file descriptor named by ``_LOCALCLOUD_REQUEST_FD``;
- the ready message (after init) and one result per request leave on ``_LOCALCLOUD_RESULT_FD``;
- the function's stdout and stderr are the log stream; after each invocation the runtime writes
  ``\\x1e<request id>\\x1e\\n`` to it so the parent can cut the log per invocation.
Keeping results off stdout means a handler that prints garbage cannot corrupt its answer.
"""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

_REQUEST_FD = int(os.environ.pop("_LOCALCLOUD_REQUEST_FD"))
_RESULT_FD = int(os.environ.pop("_LOCALCLOUD_RESULT_FD"))
_SYS_PATH = os.environ.pop("_LOCALCLOUD_SYS_PATH").split(os.pathsep)
MARKER = b"\x1e"


class LambdaContext:
    """The context object Lambda passes to a Python handler (same attribute names)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["request_id"]
        self.function_name: str = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version: str = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb: str = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.invoked_function_arn: str = request["invoked_function_arn"]
        self.log_group_name: str = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name: str = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity: Any = None
        self.client_context: Any = request.get("client_context")
        self._deadline_ms: int = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _LambdaLogFormatter(logging.Formatter):
    """The format Lambda's Python runtime installs on the root logger."""

    request_id = ""

    def __init__(self) -> None:
        super().__init__(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
        )
        self.converter = time.gmtime
        self.default_time_format = "%Y-%m-%dT%H:%M:%S"

    def format(self, record: logging.LogRecord) -> str:
        record.aws_request_id = _LambdaLogFormatter.request_id
        return super().format(record).replace("\n", "\r")


def _send(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        written = os.write(_RESULT_FD, data)
        data = data[written:]


def _lines(fd: int) -> Any:
    buffer = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line


def _error(
    exc: BaseException, error_type: str | None = None, message: str | None = None
) -> dict[str, Any]:
    # Lambda's stackTrace starts in the function's code: drop the runtime's and importlib's frames.
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename != __file__ and not frame.filename.startswith("<frozen importlib")
    ]
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: dict[str, Any]) -> None:
    """Lambda logs an unhandled error as one record: `[ERROR] Type: message` and the trace."""
    text = f"[ERROR] {error['errorType']}: {error['errorMessage']}"
    if error.get("stackTrace"):
        text += "\rTraceback (most recent call last):\r" + "".join(error["stackTrace"]).replace(
            "\n", "\r"
        )
    sys.stdout.flush()
    sys.stderr.write(text.rstrip("\r") + "\n")
    sys.stderr.flush()


def _to_json(value: Any) -> str:
    """Serialise like the runtime does: Decimal as a number, anything else non-JSON fails."""

    def default(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return json.dumps(value, default=default)


def _load_handler(handler: str) -> Any:
    module_path, _, function_name = handler.rpartition(".")
    if not module_path:
        raise _InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    try:
        module = importlib.import_module(module_path.replace("/", "."))
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_path}': {exc}"
        ) from exc
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_path}': {exc}"
        ) from exc
    function = getattr(module, function_name, None)
    if function is None:
        raise _InitError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_path}'",
        )
    return function


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def main() -> None:
    sys.path[:0] = _SYS_PATH
    os.chdir(os.environ["LAMBDA_TASK_ROOT"])
    formatter = _LambdaLogFormatter()
    root_handler = logging.StreamHandler(sys.stdout)
    root_handler.setFormatter(formatter)
    logging.getLogger().addHandler(root_handler)

    started = time.monotonic()
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _InitError as exc:
        error = {"errorMessage": str(exc), "errorType": exc.error_type, "stackTrace": []}
        _log_error(error)
        _send({"ready": False, "error": error, "init_ms": (time.monotonic() - started) * 1000})
        return
    except Exception as exc:
        error = _error(exc)
        _log_error(error)
        _send({"ready": False, "error": error, "init_ms": (time.monotonic() - started) * 1000})
        return
    _send({"ready": True, "init_ms": (time.monotonic() - started) * 1000})

    for line in _lines(_REQUEST_FD):
        request = json.loads(line)
        request_id = request["request_id"]
        _LambdaLogFormatter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id", "")
        context = LambdaContext(request)
        started = time.monotonic()
        try:
            result = handler(json.loads(request["event"]), context)
            try:
                message: dict[str, Any] = {"payload": _to_json(result)}
            except (TypeError, ValueError) as exc:
                error = {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": request_id,
                    "stackTrace": [],
                }
                _log_error(error)
                message = {"error": error}
        except Exception as exc:
            error = _error(exc)
            error["requestId"] = request_id
            _log_error(error)
            message = {"error": error}
        message["duration_ms"] = (time.monotonic() - started) * 1000
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, MARKER + request_id.encode() + MARKER + b"\n")
        _send(message)


if __name__ == "__main__":
    main()
