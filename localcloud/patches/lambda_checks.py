"""Lambda's deploy-time checks, and a stack that fails as CloudFormation reports a failure.

The rules are in localcloud.iam.deploytime; here they are put where moto creates and updates
functions, event source mappings and event invoke configurations, from the Lambda API and from
CloudFormation alike. For `sls deploy` to fail the way it does on AWS, three CloudFormation gaps
in moto are closed as well: a resource that raises fails the stack with its reason, a role's
policies change on a stack update, and an update applies a resource's dependencies first.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from moto.awslambda.exceptions import (
    InvalidParameterValueException,
    InvalidRoleFormat,
    LambdaClientError,
)
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.utils import get_backend, make_function_arn
from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.core.exceptions import ServiceException
from moto.iam.models import Role
from werkzeug.exceptions import HTTPException

from localcloud.iam import deploytime
from localcloud.iam.deploytime import Refusal
from localcloud.patches import awslambda, models
from localcloud.patches.cloudformation import change_set_named
from localcloud.patches.context import LocalCloud

log = logging.getLogger("localcloud.lambda")

_ROLE_ARN = re.compile(InvalidRoleFormat.pattern)


class LambdaRefusedError(InvalidParameterValueException):
    """Lambda's 400 for a role that falls short; `refusal` says what was missing."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def _refuse(refusal: Refusal | None) -> None:
    """Raise Lambda's error, unless IAM runs in report mode (`LOCALCLOUD_IAM=report`)."""
    if refusal is None:
        return
    from localcloud.iam import enforce

    enforcer = enforce.current()
    if enforcer is not None and not enforcer.enforcing:
        log.warning("lambda would refuse %s", refusal.describe())
        return
    log.warning("lambda refused %s", refusal.describe())
    raise LambdaRefusedError(refusal)


def _mode(tracing_config: Any) -> str | None:
    return str(tracing_config.get("Mode")) if isinstance(tracing_config, Mapping) else None


def _target(config: Any) -> str | None:
    target = config.get("TargetArn") if isinstance(config, Mapping) else None
    return str(target) if target else None


def _on_failure(destination_config: Any) -> str | None:
    if not isinstance(destination_config, Mapping):
        return None
    target = (destination_config.get("OnFailure") or {}).get("Destination")
    return str(target) if target else None


def _check_function(name: str, arn: str, role: Any, tracing: Any, dead_letter_config: Any) -> None:
    if not isinstance(role, str) or not _ROLE_ARN.match(role):
        return  # moto answers a malformed role with its own validation error
    if role.split(":")[4] != arn.split(":")[4]:
        return  # and a role of another account ("Cross-account pass role is not allowed.")
    _refuse(
        deploytime.check_function(
            name=name,
            arn=arn,
            role_arn=role,
            tracing_mode=_mode(tracing),
            dead_letter_target=_target(dead_letter_config),
        )
    )


def _check_mapping(backend: LambdaBackend, function: str, source: str, destination: Any) -> None:
    try:
        fn = backend.get_function(function)
    except LambdaClientError:
        return  # moto answers a missing function itself
    _refuse(
        deploytime.check_event_source(
            function_name=fn.function_name,
            role_arn=str(fn.role),
            source_arn=source,
            on_failure=_on_failure(destination),
        )
    )


def lambda_deploy_checks(cloud: LocalCloud) -> None:
    """Lambda refuses a function, mapping or destination its execution role cannot serve.

    On CreateFunction and UpdateFunctionConfiguration (and AWS::Lambda::Function) Lambda checks
    that it can assume the role, that active tracing has the X-Ray write actions and that the
    dead-letter target can be sent to; on CreateEventSourceMapping and UpdateEventSourceMapping
    (AWS::Lambda::EventSourceMapping) that the role can read the queue or stream and send to the
    on-failure destination; on PutFunctionEventInvokeConfig (AWS::Lambda::EventInvokeConfig)
    that it can send to the destinations. It answers InvalidParameterValueException (400) and
    creates nothing. moto checked none of it. With `LOCALCLOUD_IAM=report` a refusal is logged
    and the call goes through.
    """
    original_create_function = LambdaBackend.create_function
    original_create_mapping = LambdaBackend.create_event_source_mapping
    original_update_mapping = LambdaBackend.update_event_source_mapping
    original_put_invoke_config = LambdaBackend.put_function_event_invoke_config
    original_update_configuration = LambdaFunction.update_configuration

    def create_function(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
        name = spec.get("FunctionName")
        if name:
            arn = make_function_arn(self.region_name, self.account_id, name)
            _check_function(
                name, arn, spec.get("Role"), spec.get("TracingConfig"), spec.get("DeadLetterConfig")
            )
        return original_create_function(self, spec)

    def check_template_function(
        resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        # moto passes neither TracingConfig nor DeadLetterConfig on to CreateFunction: check the
        # template's properties before anything is created.
        arn = make_function_arn(region_name, account_id, resource_name)
        _check_function(
            resource_name,
            arn,
            properties.get("Role"),
            properties.get("TracingConfig"),
            properties.get("DeadLetterConfig"),
        )

    def keep_tracing(fn: LambdaFunction, properties: dict[str, Any]) -> None:
        if "TracingConfig" in properties:
            fn.tracing_config = properties["TracingConfig"]

    def update_configuration(
        self: LambdaFunction, config_updates: dict[str, Any]
    ) -> dict[str, Any]:
        if {"Role", "TracingConfig", "DeadLetterConfig"} & config_updates.keys():
            dead_letter = config_updates.get(
                "DeadLetterConfig", getattr(self, "localcloud_dead_letter_config", None)
            )
            _check_function(
                self.function_name,
                self.function_arn,
                config_updates.get("Role", self.role),
                config_updates.get("TracingConfig", self.tracing_config),
                dead_letter,
            )
        if "TracingConfig" in config_updates:  # moto keeps the mode it was created with
            self.tracing_config = config_updates["TracingConfig"]
        return original_update_configuration(self, config_updates)

    def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        if spec.get("FunctionName") and spec.get("EventSourceArn"):
            _check_mapping(
                self, spec["FunctionName"], spec["EventSourceArn"], spec.get("DestinationConfig")
            )
        return original_create_mapping(self, spec)

    def update_event_source_mapping(self: LambdaBackend, uuid: str, spec: dict[str, Any]) -> Any:
        mapping = self.get_event_source_mapping(uuid)
        if mapping is not None and {"FunctionName", "DestinationConfig"} & spec.keys():
            _check_mapping(
                self,
                spec.get("FunctionName", mapping.function_arn),
                mapping.event_source_arn,
                spec.get("DestinationConfig", mapping.destination_config),
            )
        return original_update_mapping(self, uuid, spec)

    def put_function_event_invoke_config(
        self: LambdaBackend, function_name: str, config: dict[str, Any]
    ) -> dict[str, Any]:
        fn = self.get_function(function_name)
        _refuse(
            deploytime.check_destinations(
                function_name=fn.function_name,
                role_arn=str(fn.role),
                destination_config=config.get("DestinationConfig"),
            )
        )
        return original_put_invoke_config(self, function_name, config)

    def check_invoke_config(
        resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        fn = get_backend(account_id, region_name).get_function(properties["FunctionName"])
        _refuse(
            deploytime.check_destinations(
                function_name=fn.function_name,
                role_arn=str(fn.role),
                destination_config=properties.get("DestinationConfig"),
            )
        )

    LambdaBackend.create_function = create_function  # type: ignore[method-assign]
    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
    LambdaBackend.update_event_source_mapping = update_event_source_mapping  # type: ignore[method-assign]
    LambdaBackend.put_function_event_invoke_config = put_function_event_invoke_config  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    models.hook(LambdaFunction, before_create=check_template_function, after_create=keep_tracing)
    models.hook(awslambda.EventInvokeConfig, before_create=check_invoke_config)


# -- CloudFormation: a resource that fails ------------------------------------------------------


class ResourceFailedError(Exception):
    """A resource CloudFormation could not create or update, with the reason it reports."""

    def __init__(
        self, logical_id: str, resource_type: str, operation: str, reason: str, physical_id: str
    ) -> None:
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.operation = operation  # "CREATE" or "UPDATE"
        self.reason = reason
        self.physical_id = physical_id


_HANDLER_ERROR_CODES = {400: "InvalidRequest", 403: "AccessDenied", 404: "NotFound"}


def handler_message(exc: BaseException, resource_type: str) -> str:
    """The reason CloudFormation gives for a resource its handler could not create or update."""
    code, message = 400, None
    if isinstance(exc, ServiceException):
        message = str(exc.message)
    elif isinstance(exc, HTTPException) and getattr(exc, "message", None):  # moto's RESTError
        code, message = int(exc.code or 400), str(vars(exc)["message"])
    elif (
        isinstance(exc, ValueError)
        and len(exc.args) == 2
        and str(exc.args[0]).endswith("Exception")
    ):
        message = str(exc.args[1])  # moto's ValueError("InvalidParameterValueException", ...)
    if message is None:
        # Not an AWS error but a gap in the emulator: say so rather than pose as AWS.
        return f"localcloud: {type(exc).__name__}: {exc}"
    parts = resource_type.split("::")
    service = parts[1] if len(parts) == 3 else "CloudFormation"
    if resource_type == "AWS::Lambda::EventSourceMapping":
        # As aws-samples/cross-account-amazon-dynamodb-replication issue 11 shows it.
        message = f"Invalid request provided: {message}"
    handler_code = _HANDLER_ERROR_CODES.get(code, "GeneralServiceException")
    return (
        f'Resource handler returned message: "{message} (Service: {service}, Status Code: '
        f'{code}, Request ID: {uuid.uuid4()})" (RequestToken: {uuid.uuid4()}, '
        f"HandlerErrorCode: {handler_code})"
    )


def _record_failure(stack: Stack, failure: ResourceFailedError, stack_operation: str) -> None:
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=failure.logical_id,
            physical_resource_id=failure.physical_id,
            resource_type=failure.resource_type,
            resource_status=f"{failure.operation}_FAILED",
            resource_status_reason=failure.reason,
            resource_properties=None,
        )
    )
    reason = (
        f"The following resource(s) failed to {failure.operation.lower()}: [{failure.logical_id}]. "
    )
    stack._add_stack_event(f"{stack_operation}_FAILED", resource_status_reason=reason)
    stack.status = f"{stack_operation}_FAILED"
    stack.stack_status_reason = reason  # type: ignore[attr-defined]
    log.warning(
        "stack %s: %s %s failed to %s: %s",
        stack.name,
        failure.resource_type,
        failure.logical_id,
        failure.operation.lower(),
        failure.reason,
    )


def cfn_resource_failures(cloud: LocalCloud) -> None:
    """A resource that fails to create or update fails the stack, with its reason in the events.

    CloudFormation answers ExecuteChangeSet, CreateStack and UpdateStack at once; a resource its
    handler refuses gets a CREATE_FAILED or UPDATE_FAILED event whose reason is the service's
    message, and the stack a *_FAILED status with "The following resource(s) failed to ...",
    which `sls deploy` prints with the resource's logical id. moto let the resource's exception
    escape the API call (a Lambda JSON error inside a CloudFormation XML answer, which SDKs
    cannot parse and retry) and left the stack in progress. Nothing is rolled back locally: the
    stack ends as AWS leaves it with rollback disabled (`--disable-rollback`), the resources
    applied before the failure kept, and the next deploy continues from there.
    """
    original_create = parsing.parse_and_create_resource
    original_update = parsing.parse_and_update_resource

    def failing_as(operation: str, original: Any) -> Any:
        """`original` (moto's create or update of one resource) with its error recorded as
        the resource's failure, as CloudFormation's handlers report it."""

        def parse_and_apply_resource(
            logical_id: str,
            resource_json: dict[str, Any],
            resources_map: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            try:
                return original(logical_id, resource_json, resources_map, account_id, region_name)
            except ResourceFailedError:
                raise
            except Exception as exc:
                resource_type = str(resource_json.get("Type", ""))
                current = resources_map._parsed_resources.get(logical_id)
                physical = (
                    str(getattr(current, "physical_resource_id", "") or "")
                    if operation == "UPDATE"
                    else ""
                )
                raise ResourceFailedError(
                    logical_id,
                    resource_type,
                    operation,
                    handler_message(exc, resource_type),
                    physical,
                ) from exc

        return parse_and_apply_resource

    parse_and_create_resource = failing_as("CREATE", original_create)
    parse_and_update_resource = failing_as("UPDATE", original_update)

    original_execute = CloudFormationBackend.execute_change_set
    original_create_stack = CloudFormationBackend.create_stack
    original_update_stack = CloudFormationBackend.update_stack

    def execute_change_set(
        self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
    ) -> None:
        change_set = change_set_named(self, change_set_name, stack_name)
        try:
            original_execute(
                self, change_set.change_set_id if change_set else change_set_name, stack_name
            )
        except ResourceFailedError as failure:
            if change_set is None:
                raise
            change_set.execution_status = "EXECUTE_FAILED"
            _record_failure(self.stacks[change_set.stack_id], failure, change_set.change_set_type)
        else:
            if change_set is not None:
                self.stacks[change_set.stack_id].stack_status_reason = None  # type: ignore[attr-defined]

    def create_stack(self: CloudFormationBackend, name: str, *args: Any, **kwargs: Any) -> Stack:
        try:
            return original_create_stack(self, name, *args, **kwargs)
        except ResourceFailedError as failure:
            stack = next(s for s in self.stacks.values() if s.name == name)
            _record_failure(stack, failure, "CREATE")
            return stack

    def update_stack(self: CloudFormationBackend, name: str, *args: Any, **kwargs: Any) -> Stack:
        try:
            return original_update_stack(self, name, *args, **kwargs)
        except ResourceFailedError as failure:
            stack = self.get_stack(name)
            _record_failure(stack, failure, "UPDATE")
            return stack

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
    CloudFormationBackend.update_stack = update_stack  # type: ignore[method-assign]


# -- CloudFormation: roles, and the order of an update -------------------------------------------


def cfn_iam_role_update(cloud: LocalCloud) -> None:
    """A changed AWS::IAM::Role gets its new trust policy and inline Policies.

    CloudFormation updates both in place; moto's update set the description only, so a role kept
    the policies of its first deploy: a grant removed from the template still allowed, and one
    added was never seen (by Lambda's checks or by the local stack's IAM enforcement).
    """

    def updated(role: Role, properties: dict[str, Any]) -> None:
        trust = properties.get("AssumeRolePolicyDocument")
        if trust is not None:
            role.assume_role_policy_document = (
                trust if isinstance(trust, str) else json.dumps(trust)
            )
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies") or []}
        for name in [n for n in role.policies if n not in wanted]:
            role.delete_policy(name)
        for name, document in wanted.items():
            role.put_policy(name, document)  # kept as the template gave it, as moto's create does

    models.hook(Role, after_update=updated)


_SUB_NAME = re.compile(r"\$\{([^!}][^}.]*)[.}]")


def references(node: Any) -> Iterator[str]:
    """The logical ids a template fragment names (Ref, Fn::GetAtt, Fn::Sub, DependsOn)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                name = value[0] if isinstance(value, list) else str(value).split(".", 1)[0]
                yield str(name)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                yield from _SUB_NAME.findall(str(text))
                yield from references(value[1] if isinstance(value, list) else None)
            elif key == "DependsOn":
                yield from [value] if isinstance(value, str) else [str(v) for v in value]
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def cfn_update_dependencies_first(cloud: LocalCloud) -> None:
    """On a stack update, a resource is created or updated after the resources it references.

    CloudFormation orders an update by the template's dependencies (Ref, Fn::GetAtt, Fn::Sub,
    DependsOn). moto created the new resources first and then updated the changed ones in
    template order, where the Serverless Framework puts functions before their roles: a function
    was checked against its role's previous policies, and a removed grant went unnoticed until
    the next deploy. Here each changed resource a resource depends on is updated just before it,
    and a resource Lambda refused is not tried again in the same update (moto retries a failure
    up to four times, for dependencies it does not order).
    """
    from moto.cloudformation.parsing import ResourceMap

    original_update = ResourceMap.update
    create = parsing.parse_and_create_resource
    update = parsing.parse_and_update_resource

    def settle(logical_id: str, resource_json: Any, resources_map: Any, *where: str) -> None:
        """Update first the changed resources that `logical_id` references."""
        pending: set[str] | None = getattr(resources_map, "_localcloud_pending", None)
        if not pending:
            return
        pending.discard(logical_id)
        for name in references(resource_json):
            if name in pending:
                pending.discard(name)
                resources_map._parsed_resources[name] = parsing.parse_and_update_resource(
                    name, resources_map._resource_json_map[name], resources_map, *where
                )

    def resource_map_update(
        self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> None:
        self._localcloud_pending = set(self.build_resource_diff(template, parameters)["Modify"])
        self._localcloud_settled = set()
        self._localcloud_failed = {}
        try:
            original_update(self, template, parameters)
        finally:
            del self._localcloud_pending, self._localcloud_settled, self._localcloud_failed

    def parse_and_create_resource(
        logical_id: str, resource_json: Any, resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        settle(logical_id, resource_json, resources_map, account_id, region_name)
        return create(logical_id, resource_json, resources_map, account_id, region_name)

    def parse_and_update_resource(
        logical_id: str, resource_json: Any, resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        settled: set[str] | None = getattr(resources_map, "_localcloud_settled", None)
        failed: dict[str, Exception] = getattr(resources_map, "_localcloud_failed", {})
        if settled is not None and logical_id in settled:
            return resources_map._parsed_resources[logical_id]  # updated early, not twice
        if logical_id in failed:
            raise failed[logical_id]  # its dependencies came first: trying again changes nothing
        settle(logical_id, resource_json, resources_map, account_id, region_name)
        try:
            updated = update(logical_id, resource_json, resources_map, account_id, region_name)
        except ResourceFailedError as exc:
            if isinstance(exc.__cause__, LambdaRefusedError):
                failed[logical_id] = exc
            raise
        if settled is not None:
            settled.add(logical_id)
        return updated

    ResourceMap.update = resource_map_update  # type: ignore[method-assign]
    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource
