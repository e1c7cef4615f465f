"""X-Ray: Lambda's and Step Functions' own segments, trace context carried as AWS carries it.

- Lambda with active tracing (TracingConfig Active): each invocation continues the caller's
  trace (the X-Amzn-Trace-Id of Invoke, or what S3, SNS and Step Functions pass on) or starts
  one, sampled (the local stack samples every request). Lambda writes two segments, the service
  (origin AWS::Lambda) and the function (AWS::Lambda::Function, its Initialization and
  Invocation subsegments), and hands the function `_X_AMZN_TRACE_ID` with the function segment
  as parent, so the SDK's subsegments nest under it. An SQS batch starts a new trace linked to
  the messages' traces (their AWSTraceHeader), as X-Ray's trace linking does.
- Step Functions with tracing enabled: an execution continues the trace of its StartExecution
  (X-Amzn-Trace-Id or traceHeader) or starts one; its segment (AWS::StepFunctions::StateMachine)
  has one subsegment per Lambda task, and the task's Invoke carries the trace on.
Both write with the role AWS writes with: the function's and the state machine's, which need
`xray:PutTraceSegments` (on "*").
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from localcloud.patches.context import LocalCloud
from localcloud.runner import FunctionConfig, InvocationTrace
from localcloud.xray import context as xray_context
from localcloud.xray import model, store
from localcloud.xray.daemon import Writer, XRayDaemon

log = logging.getLogger("localcloud.tracing")
MAX_LINKS = 20  # X-Ray links a segment to at most 20 traces
PUT = "xray:PutTraceSegments"


def may_write(writer: Writer) -> bool:
    from localcloud.iam import enforce

    return enforce.role_may(writer.role, writer.function, PUT, "*")


def _sqs_links(event: str) -> list[dict[str, Any]]:
    if '"aws:sqs"' not in event:
        return []
    try:
        records = json.loads(event).get("Records") or []
    except (ValueError, AttributeError):
        return []
    links: list[dict[str, Any]] = []
    for record in records:
        header = model.TraceHeader.parse(
            ((record.get("attributes") or {}) if isinstance(record, dict) else {}).get(
                "AWSTraceHeader"
            )
        )
        if header is not None and header.parent and len(links) < MAX_LINKS:
            link = {"trace_id": header.root, "id": header.parent}
            if link not in links:
                links.append(link)
    return links


@dataclass
class _Invocation:
    fn: FunctionConfig
    header: str
    trace_id: str
    parent_id: str | None
    service_id: str
    function_id: str
    links: list[dict[str, Any]]
    started: float = field(default_factory=time.time)

    def finish(self, init_ms: float | None, duration_ms: float, error: bool) -> None:
        ended = time.time()
        invoked = ended - duration_ms / 1000
        account, region = self.fn.arn.split(":")[4], self.fn.region
        writer = Writer(self.fn.role, self.fn.name, account, region)
        if not may_write(writer):
            log.warning("%s may not %s: its invocation's segments are lost", self.fn.name, PUT)
            return
        parts = []
        if init_ms is not None:
            parts.append(model.subsegment("Initialization", invoked - init_ms / 1000, invoked))
        parts.append(model.subsegment("Invocation", invoked, ended, error=error))
        # Lambda's two segments of an invocation: both named for the function, in its trace,
        # ending with the invocation and failed with it.
        segment = partial(
            model.segment, name=self.fn.name, trace_id=self.trace_id, end=ended, error=error
        )
        function = segment(
            origin="AWS::Lambda::Function",
            segment_id=self.function_id,
            parent_id=self.service_id,
            start=(invoked - init_ms / 1000) if init_ms is not None else invoked,
            aws={"function_arn": self.fn.arn, "resource_names": [self.fn.name]},
            subsegments=parts,
        )
        service = segment(
            origin="AWS::Lambda",
            segment_id=self.service_id,
            parent_id=self.parent_id,
            start=self.started,
            aws={"account_id": account, "resource_names": [self.fn.name]},
            links=self.links,
        )
        store.put_documents([service, function], account, region)


class LambdaTraces:
    """The runner's tracing hook: Lambda's X-Ray integration for each invocation."""

    def __init__(self, daemon: XRayDaemon | None) -> None:
        self._daemon = daemon

    def __call__(
        self, fn: FunctionConfig, upstream: str | None, event: str
    ) -> InvocationTrace | None:
        caller = model.TraceHeader.parse(upstream)
        if fn.tracing != "Active":
            return None  # PassThrough: nothing recorded (the header still reaches no SDK here)
        links = _sqs_links(event) if caller is None else []
        sampled = caller.sampled if caller is not None and caller.sampled is not None else True
        trace_id = caller.root if caller is not None else model.new_trace_id()
        service_id, function_id = model.new_segment_id(), model.new_segment_id()
        header = model.TraceHeader(trace_id, function_id, sampled)
        if self._daemon is not None:
            self._daemon.register(
                function_id, Writer(fn.role, fn.name, fn.arn.split(":")[4], fn.region)
            )
        if not sampled:
            return _Unsampled(header.format())
        return _Invocation(
            fn,
            header.format(),
            trace_id,
            caller.parent if caller is not None else None,
            service_id,
            function_id,
            links,
        )


@dataclass
class _Unsampled:
    header: str

    def finish(self, init_ms: float | None, duration_ms: float, error: bool) -> None:
        return None


# -- Step Functions ---------------------------------------------------------------------------


@dataclass
class _Execution:
    arn: str
    name: str
    role: str | None
    trace_id: str
    parent_id: str | None
    segment_id: str = field(default_factory=model.new_segment_id)
    started: float = field(default_factory=time.time)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_executions: dict[str, _Execution] = {}
_task_header: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "localcloud_task_trace_header", default=None
)


def _tracing_enabled(state_machine: Any) -> bool:
    for attribute in ("tracing_config", "tracingConfiguration"):
        config = getattr(state_machine, attribute, None)
        if isinstance(config, dict) and config.get("enabled") in (True, "true", "True"):
            return True
    return False


def _execution_started(execution: Any, header: str | None) -> None:
    if execution.exec_arn in _executions or not _tracing_enabled(execution.state_machine):
        return
    caller = model.TraceHeader.parse(header)
    if caller is not None and caller.sampled is False:
        return
    _executions[execution.exec_arn] = _Execution(
        arn=execution.exec_arn,
        name=str(execution.state_machine.name),
        role=str(execution.role_arn) if execution.role_arn else None,
        trace_id=caller.root if caller is not None else model.new_trace_id(),
        parent_id=caller.parent if caller is not None else None,
    )


def _execution_ended(execution: Any) -> None:
    traced = _executions.pop(execution.exec_arn, None)
    if traced is None:
        return
    account, region = execution.exec_arn.split(":")[4], execution.exec_arn.split(":")[3]
    writer = Writer(traced.role, "localcloud-states", account, region)
    if not may_write(writer):
        log.warning("%s may not %s: its execution's segment is lost", traced.name, PUT)
        return
    status = str(getattr(execution.exec_status, "value", execution.exec_status))
    with traced.lock:
        tasks = sorted(traced.tasks, key=lambda t: float(t["start_time"]))
    document = model.segment(
        name=traced.name,
        origin="AWS::StepFunctions::StateMachine",
        trace_id=traced.trace_id,
        segment_id=traced.segment_id,
        parent_id=traced.parent_id,
        start=traced.started,
        end=time.time(),
        aws={"execution_arn": traced.arn},
        subsegments=tasks,
        error=status in ("FAILED", "TIMED_OUT", "ABORTED"),
    )
    store.put_documents([document], account, region)


def state_machine_tracing(cloud: LocalCloud) -> None:
    """AWS::StepFunctions::StateMachine's TracingConfiguration takes effect (moto drops it)."""
    from moto.stepfunctions.models import StateMachine

    def keep_tracing(method: Any) -> Any:
        original = method.__func__

        def wrapped(cls: type[StateMachine], *args: Any, **kwargs: Any) -> Any:
            machine = original(cls, *args, **kwargs)
            template = next(a for a in args if isinstance(a, dict) and "Properties" in a)
            tracing = template["Properties"].get("TracingConfiguration") or {}
            enabled = str(tracing.get("Enabled", False)).lower() == "true"
            machine.tracingConfiguration = {"enabled": enabled}
            return machine

        return classmethod(wrapped)

    StateMachine.create_from_cloudformation_json = keep_tracing(  # type: ignore[method-assign]
        StateMachine.create_from_cloudformation_json
    )
    StateMachine.update_from_cloudformation_json = keep_tracing(  # type: ignore[method-assign]
        StateMachine.update_from_cloudformation_json
    )


def step_functions(cloud: LocalCloud) -> None:
    """Executions of traced state machines write their segment; Lambda tasks carry the trace."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: StepFunctionsParserBackend,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: str | None = None,
    ) -> Any:
        # The HTTP header wins over the body's traceHeader, as Step Functions documents.
        header = xray_context.current() or trace_header
        execution = original_start(self, state_machine_arn, name, execution_input, header)  # type: ignore[arg-type]
        _execution_started(execution, header)
        return execution

    original_terminated = BaseExecutionWorkerCommunication.terminated

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        original_terminated(self)
        try:
            _execution_ended(self.execution)
        except Exception:
            log.exception("the execution's trace segment could not be written")

    original_integration = lambda_eval_utils.execute_lambda_function_integration

    def execute_lambda_function_integration(
        env: Any, parameters: dict[str, Any], region: str, state_credentials: Any
    ) -> None:
        data = env.states.context_object.context_object_data
        traced = _executions.get(str(data.get("Execution", {}).get("Id")))
        if traced is None:
            return original_integration(env, parameters, region, state_credentials)
        call_id = model.new_segment_id()
        header = model.TraceHeader(traced.trace_id, call_id, True).format()
        started, failed = time.time(), False
        token = _task_header.set(header)
        try:
            original_integration(env, parameters, region, state_credentials)
        except Exception:
            failed = True
            raise
        finally:
            _task_header.reset(token)
            ended = time.time()
            call = model.subsegment(
                "Lambda",
                started,
                ended,
                segment_id=call_id,
                namespace="aws",
                error=failed,
                aws={"operation": "Invoke", "function_name": str(parameters.get("FunctionName"))},
            )
            state = model.subsegment(
                str(data.get("State", {}).get("Name", "Task")), started, ended, error=failed
            )
            state["subsegments"] = [call]
            with traced.lock:
                traced.tasks.append(state)
        return None

    client_for = lambda_eval_utils.boto_client_for  # type: ignore[attr-defined]

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = client_for(region=region, service=service, state_credentials=state_credentials)

        def add_trace_header(request: Any, **_: Any) -> None:
            header = _task_header.get()
            if header:
                request.headers["X-Amzn-Trace-Id"] = header

        client.meta.events.register("before-sign.lambda.Invoke", add_trace_header)
        return client

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    lambda_eval_utils.execute_lambda_function_integration = execute_lambda_function_integration
    lambda_eval_utils.boto_client_for = boto_client_for  # type: ignore[attr-defined]
