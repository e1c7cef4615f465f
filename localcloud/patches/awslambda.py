"""Lambda: run functions in the process runner, and keep what CloudFormation set."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction, LayerVersion
from moto.awslambda.utils import get_backend
from moto.core.common_models import CloudFormationModel
from moto.logs.models import logs_backends

from localcloud.patches import models
from localcloud.patches.context import LocalCloud
from localcloud.runner import Archive, FunctionConfig, InvocationResult
from localcloud.xray import context as xray_context

log = logging.getLogger("localcloud.lambda")


def _code_of(version: LayerVersion) -> Callable[[], bytes]:
    return lambda: bytes(version.code_bytes)


def function_config(fn: LambdaFunction) -> FunctionConfig:
    """The runner's view of a function as moto holds it (code and layers as deployed)."""
    backend = get_backend(fn.account_id, fn.region)
    layers = []
    for layer in fn.layers:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is None:
            raise ValueError(f"layer {layer['Arn']} of {fn.function_name} does not exist")
        layers.append(Archive(version.code_digest, _code_of(version)))
    return FunctionConfig(
        name=fn.function_name,
        arn=fn.function_arn,
        handler=fn.handler or "",
        code=Archive(fn.code_digest, lambda: fn.code_bytes),
        region=fn.region,
        timeout_s=float(fn.timeout),
        memory_mb=int(fn.memory_size),
        environment={k: str(v) for k, v in (fn.environment_vars or {}).items()},
        layers=tuple(layers),
        version=str(fn.version),
        role=str(fn.role) if fn.role else None,
        tracing=_tracing_mode(fn.tracing_config),
    )


def _tracing_mode(config: Any) -> str | None:
    return str(config.get("Mode")) if isinstance(config, dict) and config.get("Mode") else None


def write_logs(fn: FunctionConfig, stream: str, lines: list[tuple[int, str]]) -> None:
    """Lambda writes each execution environment's output to one stream of /aws/lambda/<name>."""
    from localcloud.iam import enforce

    account_id = fn.arn.split(":")[4]
    target = f"arn:aws:logs:{fn.region}:{account_id}:log-group:{fn.log_group}:log-stream:{stream}"
    # Lambda writes the logs with the function's role: without the grant they are lost, as on AWS.
    if not all(
        enforce.role_may(fn.role, fn.name, action, target)
        for action in ("logs:CreateLogStream", "logs:PutLogEvents")
    ):
        return
    backend = logs_backends[account_id][fn.region]
    backend.ensure_log_group(fn.log_group)
    group = backend.groups[fn.log_group]
    if stream not in group.streams:
        group.create_log_stream(stream)
    group.put_log_events(stream, [{"timestamp": ts, "message": text} for ts, text in lines])


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _event_text(body: Any) -> str:
    if body is None or body == "" or body == b"":
        return "{}"
    if isinstance(body, bytes):
        body = body.decode()
    if not isinstance(body, str):
        return json.dumps(body)
    json.loads(body)  # Lambda rejects a payload that is not JSON before running anything
    return body


def _run(
    fn: LambdaFunction, event: str, request_id: str | None = None, trace_header: str | None = None
) -> InvocationResult:
    cloud = LocalCloud.get()
    if not str(fn.run_time or "").startswith("python3"):
        raise NotImplementedError(
            f"localcloud runs Python functions only; {fn.function_name} uses {fn.run_time}"
        )
    return cloud.runner.invoke(
        function_config(fn), event, request_id=request_id, trace_header=trace_header
    )


def invoke_async(fn: LambdaFunction, event: str, trace_header: str | None = None) -> str:
    """An asynchronous invocation (S3, SNS, EventBridge, InvocationType=Event), as Lambda runs it.

    Lambda queues the event and answers 202 at once; on a function error it retries twice
    (MaximumRetryAttempts of the function's event invoke config, default 2) with the same request
    id, then sends the event to the function's dead-letter queue or topic if one is configured.
    The trace header of the request that caused it (S3's write, SNS's publish) goes along.
    """
    cloud = LocalCloud.get()
    request_id = str(uuid.uuid4())
    trace_header = trace_header or xray_context.current()
    retries = 2
    if fn.event_invoke_config:
        retries = int(fn.event_invoke_config[0].config.get("MaximumRetryAttempts", 2))

    def run() -> None:
        result: InvocationResult | None = None
        for attempt in range(retries + 1):
            try:
                result = _run(fn, event, request_id, trace_header)
            except Exception:
                log.exception("async invocation of %s failed to start", fn.function_name)
                return
            if result.function_error is None:
                return
            if attempt < retries:
                delays = cloud.async_retry_delays
                time.sleep(delays[min(attempt, len(delays) - 1)])
        if result is not None:
            _dead_letter(fn, event, request_id, result)
            _on_failure(fn, event, request_id, result, retries + 1)

    cloud.executor.submit(run)
    return request_id


def _dead_letter(fn: LambdaFunction, event: str, request_id: str, result: InvocationResult) -> None:
    target = (getattr(fn, "localcloud_dead_letter_config", None) or {}).get("TargetArn")
    if not target:
        return
    error = result.error or {}
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {
            "DataType": "String",
            "StringValue": str(error.get("errorMessage", ""))[:1024],
        },
    }
    _send_to(target, event, attributes, fn)


def _on_failure(
    fn: LambdaFunction, event: str, request_id: str, result: InvocationResult, attempts: int
) -> None:
    """Send the invocation record to the OnFailure destination of the event invoke config."""
    if not fn.event_invoke_config:
        return
    config = fn.event_invoke_config[0].config
    target = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if not target:
        return
    record = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{fn.function_arn}:{fn.version}",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": json.loads(event),
        "responseContext": {
            "statusCode": 200,
            "executedVersion": str(fn.version),
            "functionError": result.function_error,
        },
        "responsePayload": result.error,
    }
    _send_to(target, json.dumps(record), {}, fn)


_SEND_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction"}


def _send_to(
    target: str, body: str, attributes: dict[str, Any], fn: LambdaFunction | None = None
) -> None:
    """Lambda sends a failed event to a dead-letter queue or destination, with `fn`'s role."""
    from localcloud.iam import enforce

    account_id, region = target.split(":")[4], target.split(":")[3]
    action = _SEND_ACTIONS.get(target.split(":")[2])
    if (
        fn is not None
        and action
        and not enforce.role_may(fn.role, fn.function_name, action, target)
    ):
        log.warning("%s may not %s to %s: the event is lost", fn.function_name, action, target)
        return
    if target.startswith("arn:aws:sqs:"):
        from moto.sqs.models import sqs_backends

        sqs_backends[account_id][region].send_message(
            target.split(":")[5], body, message_attributes=attributes
        )
    elif target.startswith("arn:aws:sns:"):
        from moto.sns.models import sns_backends

        sns_backends[account_id][region].publish(body, arn=target, message_attributes=attributes)
    elif target.startswith("arn:aws:lambda:"):
        from moto.awslambda.utils import get_backend

        invoke_async(get_backend(account_id, region).get_function(target), body)
    else:
        log.warning("destination %s is not supported locally", target)


def process_runner(cloud: LocalCloud) -> None:
    """Lambda runs the deployed package in a Python 3.12 environment (moto: Docker only).

    Synchronous invokes answer the function's result, or its error with `X-Amz-Function-Error:
    Unhandled`; `X-Amz-Log-Result` carries the last 4 KB of the log; `Event` invokes are queued
    and answered 202; `DryRun` runs nothing. Every invocation's output goes to CloudWatch Logs.
    """

    def invoke(
        self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any
    ) -> bytes:
        invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        trace_header = _header(request_headers, "X-Amzn-Trace-Id")
        event = _event_text(body)
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            response_headers["x-amz-request-id"] = invoke_async(self, event, trace_header)
            return b""
        result = _run(self, event, trace_header=trace_header)
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["x-amz-log-result"] = base64.b64encode(result.log_tail().encode()).decode()
        response_headers["x-amz-executed-version"] = str(self.version)
        response_headers["x-amz-request-id"] = result.request_id
        return result.payload

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


def _replace_layer(
    cls: type[LayerVersion],
    original_resource: LayerVersion,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> LayerVersion:
    return LayerVersion.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )


def cloudformation_properties(cloud: LocalCloud) -> None:
    """AWS::Lambda::Function's Layers and DeadLetterConfig take effect (moto drops them on create).

    Also, Ref of an AWS::Lambda::LayerVersion is its version ARN (moto returned the model object),
    and the layer is named by LayerName.
    """
    original_update_configuration = LambdaFunction.update_configuration

    def update_configuration(
        self: LambdaFunction, config_updates: dict[str, Any]
    ) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.localcloud_dead_letter_config = config_updates["DeadLetterConfig"]  # type: ignore[attr-defined]
        return original_update_configuration(self, config_updates)

    def created(fn: LambdaFunction, properties: dict[str, Any]) -> None:
        extra: dict[str, Any] = {
            k: properties[k] for k in ("Layers", "DeadLetterConfig") if k in properties
        }
        if extra:
            fn.update_configuration(extra)
        if "Architectures" in properties:
            fn.architectures = properties["Architectures"]

    def updating(fn: LambdaFunction, properties: dict[str, Any]) -> None:
        # Inline Code.ZipFile is source text on update too (moto zipped it on create only).
        code = properties.get("Code", {})
        if isinstance(code.get("ZipFile"), str):
            zipped = LambdaFunction._create_zipfile_from_plaintext_code(code["ZipFile"])
            code["ZipFile"] = base64.b64encode(zipped)

    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    models.hook(LambdaFunction, after_create=created, before_update=updating)
    LayerVersion.physical_resource_id = property(lambda self: self.arn)  # type: ignore[attr-defined]
    # A layer version is immutable: CloudFormation replaces it, publishing the next version
    # (moto has no update, so a changed layer lost its Ref and the functions their layer).
    LayerVersion.update_from_cloudformation_json = classmethod(_replace_layer)  # type: ignore[method-assign,assignment]
    # AWS names the layer from its LayerName property; moto looked for "LayerVersion".
    LayerVersion.cloudformation_name_type = staticmethod(lambda: "LayerName")  # type: ignore[method-assign]


class EventInvokeConfig(models.LocalModel, CloudFormationModel):
    """AWS::Lambda::EventInvokeConfig: retries and destinations of asynchronous invocations."""

    TYPE = "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create(cls, spec: models.Spec) -> EventInvokeConfig:
        from moto.awslambda.models import EventInvokeConfig as MotoConfig

        fn = get_backend(spec.account_id, spec.region).get_function(spec.properties["FunctionName"])
        config: dict[str, Any] = {
            k: spec.properties[k]
            for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if k in spec.properties
        }
        if "MaximumRetryAttempts" in config:
            config["MaximumRetryAttempts"] = int(config["MaximumRetryAttempts"])
        fn.event_invoke_config = [MotoConfig(fn.function_arn, fn.last_modified, config)]
        return cls(fn.function_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            get_backend(account_id, region_name).get_function(
                self.physical_id
            ).event_invoke_config = []
        except Exception:
            log.debug("function %s already deleted", self.physical_id)


def event_invoke_config(cloud: LocalCloud) -> None:
    """AWS::Lambda::EventInvokeConfig sets retries and destinations (moto has no model for it).

    Asynchronous invocations then retry MaximumRetryAttempts times and send the invocation
    record to DestinationConfig.OnFailure (SQS, SNS or Lambda), as Lambda does.
    """
    assert EventInvokeConfig.cloudformation_type() == "AWS::Lambda::EventInvokeConfig"
