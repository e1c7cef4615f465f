"""The process runner runs a package as Lambda's python3.12 runtime would, and fails like it."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from pathlib import Path

import pytest

from localcloud.runner import Archive, FunctionConfig, LambdaRunner
from tests.localcloud.conftest import make_zip

HANDLER = """
import json, os, sys, time
import boto3
import helper

COLD = True

def handler(event, context):
    global COLD
    cold, COLD = COLD, False
    action = event.get("action")
    print("event", json.dumps(event))
    if action == "raise":
        raise ValueError("the document is not a document")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "garbage":
        sys.stdout.buffer.write(b"\\xff\\xfe\\x00\\x1e not utf-8\\n")
        sys.stdout.flush()
        return {"ok": True}
    if action == "set":
        return {1, 2}
    if action == "hog":
        hog = b"x" * (event["megabytes"] * 1024 * 1024)
        time.sleep(event.get("hold", 0))
        return len(hog)
    if action == "exit":
        os._exit(7)
    return {
        "cold": cold,
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "log_group": context.log_group_name,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "env": {k: os.environ.get(k) for k in ("AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME",
                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "STAGE", "AWS_ENDPOINT_URL")},
        "helper": helper.VALUE,
        "boto3": boto3.__file__,
        "cwd": os.getcwd(),
    }
"""


def _archive(files: dict[str, str]) -> Archive:
    data = make_zip(files)
    return Archive(hashlib.sha256(data).hexdigest(), lambda: data)


@pytest.fixture
def function() -> FunctionConfig:
    return FunctionConfig(
        name="docflow-test-demo",
        arn="arn:aws:lambda:us-east-1:123456789012:function:docflow-test-demo",
        handler="handlers/demo.handler",
        code=_archive({"handlers/__init__.py": "", "handlers/demo.py": HANDLER}),
        layers=(_archive({"python/helper.py": "VALUE = 'from the layer'\n"}),),
        timeout_s=2,
        memory_mb=256,
        environment={"STAGE": "test", "AWS_REGION": "eu-west-9"},
    )


@pytest.fixture
def runner(tmp_path: Path, python312: str) -> LambdaRunner:
    logs: list[tuple[str, str, list[tuple[int, str]]]] = []
    runner = LambdaRunner(
        tmp_path,
        "http://127.0.0.1:9",
        lambda fn, stream, lines: logs.append((fn.log_group, stream, lines)),
    )
    runner.logs = logs  # type: ignore[attr-defined]
    yield runner
    runner.shutdown()


def test_handler_gets_lambda_environment_context_and_layers(
    runner: LambdaRunner, function: FunctionConfig
) -> None:
    result = runner.invoke(function, json.dumps({"action": "hello"}), request_id="req-1")
    assert result.function_error is None
    answer = json.loads(result.payload)
    assert 0 < answer["remaining"] <= 2000
    assert answer["request_id"] == "req-1"
    assert (answer["function_name"], answer["memory"]) == ("docflow-test-demo", "256")
    assert answer["arn"] == function.arn
    assert answer["log_group"] == "/aws/lambda/docflow-test-demo"
    # reserved variables cannot be overridden by the function's environment, as on Lambda
    assert answer["env"] == {
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "docflow-test-demo",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "_HANDLER": "handlers/demo.handler",
        "STAGE": "test",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    assert answer["helper"] == "from the layer"
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", answer["trace"]
    )
    assert "/runtime/python3.12/boto3/" in answer["boto3"]  # the runtime's boto3, not the package's


def test_environment_is_reused_warm_and_logs_have_start_end_report(
    runner: LambdaRunner, function: FunctionConfig
) -> None:
    first = runner.invoke(function, "{}")
    second = runner.invoke(function, "{}")
    assert json.loads(first.payload)["cold"] is True
    assert json.loads(second.payload)["cold"] is False
    assert first.init_ms is not None
    assert second.init_ms is None
    assert first.log_stream == second.log_stream
    lines = second.log_lines
    assert lines[0] == f"START RequestId: {second.request_id} Version: $LATEST"
    assert lines[1] == "event {}"
    assert lines[2] == f"END RequestId: {second.request_id}"
    assert lines[3].startswith(f"REPORT RequestId: {second.request_id}\tDuration: ")
    assert "Memory Size: 256 MB" in lines[3]
    assert "Init Duration" in first.log_lines[-1]
    group, stream, written = runner.logs[-1]  # type: ignore[attr-defined]
    assert (group, stream) == ("/aws/lambda/docflow-test-demo", second.log_stream)
    assert [text for _, text in written] == lines


def test_unhandled_error_has_lambdas_shape(runner: LambdaRunner, function: FunctionConfig) -> None:
    result = runner.invoke(function, json.dumps({"action": "raise"}))
    assert result.function_error == "Unhandled"
    error = json.loads(result.payload)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the document is not a document"
    assert error["requestId"] == result.request_id
    assert 'handlers/demo.py", line' in error["stackTrace"][0]  # starts in the function's code
    (record,) = [line for line in result.log_lines if line.startswith("[ERROR]")]
    assert record.startswith("[ERROR] ValueError: the document is not a document\n")
    assert "Traceback (most recent call last):\n" in record  # one event for the whole trace
    # the environment survives a handled exception
    assert json.loads(runner.invoke(function, "{}").payload)["cold"] is False


def test_timeout_kills_the_environment_and_answers_task_timed_out(
    runner: LambdaRunner, function: FunctionConfig
) -> None:
    result = runner.invoke(function, json.dumps({"action": "sleep", "seconds": 30}))
    assert result.status == "timeout"
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 2.00 seconds",
    }
    assert any(line.endswith("Task timed out after 2.00 seconds") for line in result.log_lines)
    assert result.log_lines[-1].endswith("Status: timeout")
    after = runner.invoke(function, "{}")
    assert json.loads(after.payload)["cold"] is True  # a new environment


def test_garbage_output_does_not_corrupt_the_result(
    runner: LambdaRunner, function: FunctionConfig
) -> None:
    result = runner.invoke(function, json.dumps({"action": "garbage"}))
    assert json.loads(result.payload) == {"ok": True}
    assert any("not utf-8" in line for line in result.log_lines)


def test_non_json_result_is_a_marshal_error(runner: LambdaRunner, function: FunctionConfig) -> None:
    result = runner.invoke(function, json.dumps({"action": "set"}))
    error = json.loads(result.payload)
    assert result.function_error == "Unhandled"
    assert error["errorType"] == "Runtime.MarshalError"
    assert (
        error["errorMessage"]
        == "Unable to marshal response: Object of type set is not JSON serializable"
    )


def test_exiting_runtime_is_an_exit_error(runner: LambdaRunner, function: FunctionConfig) -> None:
    result = runner.invoke(function, json.dumps({"action": "exit"}))
    assert json.loads(result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": (
            f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 7"
        ),
    }


def test_missing_dependency_fails_at_import_like_lambda(
    runner: LambdaRunner, function: FunctionConfig
) -> None:
    without_layer = FunctionConfig(**{**function.__dict__, "layers": ()})
    result = runner.invoke(without_layer, "{}")
    assert json.loads(result.payload)["errorType"] == "Runtime.ImportModuleError"
    assert json.loads(result.payload)["errorMessage"] == (
        "Unable to import module 'handlers/demo': No module named 'helper'"
    )


def test_missing_handler_function(runner: LambdaRunner, function: FunctionConfig) -> None:
    renamed = FunctionConfig(**{**function.__dict__, "handler": "handlers/demo.nothing"})
    error = json.loads(runner.invoke(renamed, "{}").payload)
    assert error == {
        "errorMessage": "Handler 'nothing' missing on module 'handlers/demo'",
        "errorType": "Runtime.HandlerNotFound",
        "stackTrace": [],
    }


def test_shutdown_stops_environments_that_are_still_running(
    runner: LambdaRunner, function: FunctionConfig
) -> None:
    patient = FunctionConfig(**{**function.__dict__, "timeout_s": 600})
    results = []
    invocation = threading.Thread(
        target=lambda: results.append(
            runner.invoke(patient, json.dumps({"action": "sleep", "seconds": 600}))
        )
    )
    invocation.start()
    # the handler prints its event before it sleeps: wait until it is running
    while not any(b'"action": "sleep"' in w._output for w in list(runner._all)):
        time.sleep(0.05)
    runner.shutdown()
    invocation.join()
    assert results[0].status == "crash"
    error = json.loads(results[0].payload)
    assert error["errorMessage"].endswith("Runtime exited with error: signal: kill")


def test_memory_over_the_memory_size_stops_the_invocation(
    runner: LambdaRunner, function: FunctionConfig
) -> None:
    small = FunctionConfig(**{**function.__dict__, "memory_mb": 128, "timeout_s": 60})
    result = runner.invoke(small, json.dumps({"action": "hog", "megabytes": 200, "hold": 30}))
    assert result.status == "oom"
    assert json.loads(result.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": (
            f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed"
        ),
    }
    assert result.log_lines[-1].endswith("Error Type: Runtime.OutOfMemory")
    within = runner.invoke(small, json.dumps({"action": "hog", "megabytes": 1}))
    assert json.loads(within.payload) == 1024 * 1024
