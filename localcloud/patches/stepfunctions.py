"""Step Functions: deployed state machines run, their Lambda tasks in the runner."""

from __future__ import annotations

import uuid
from typing import Any

from localcloud.patches.context import LocalCloud


def execute_state_machines(cloud: LocalCloud) -> None:
    """StartExecution runs the definition (moto's interpreter), Lambda tasks through the runner.

    moto runs definitions only with `execute_state_machine` on, and then keeps state machines in
    a second backend, which AWS::StepFunctions::StateMachine from CloudFormation does not write
    to. Point CloudFormation at that backend. The interpreter calls Lambda at
    localhost:$MOTO_PORT, which the server sets to its own port, so tasks reach the runner.
    """
    from moto.core.config import default_user_config
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    models.stepfunctions_backends = stepfunctions_parser_backends  # type: ignore[assignment]

    # StartExecution without a name gets a generated one (AWS: a UUID); moto's interpreter used
    # None, so a second unnamed execution of the same machine failed as ExecutionAlreadyExists.
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: StepFunctionsParserBackend,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: str | None = None,
    ) -> Any:
        return original(
            self,
            state_machine_arn,
            name or str(uuid.uuid4()),
            execution_input,  # type: ignore[arg-type]  # moto's annotation; None is no input
            trace_header,  # type: ignore[arg-type]
        )

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]


def state_machine_role_credentials(cloud: LocalCloud) -> None:
    """A state machine's tasks call Lambda, SNS and other services as its execution role.

    Step Functions assumes the state machine's RoleArn (or a state's Credentials.RoleArn) for
    every service integration; moto's interpreter signed with fixed dummy keys, which the local
    endpoint would take for admin. Each client now carries a session of that role, so a task
    the role may not run (a function it may not invoke, a topic it may not publish to) fails
    with AccessDenied as on AWS.
    """
    import sys

    import boto3
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.utils import boto_client as module

    from localcloud.iam import enforce

    original = module.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        if not role_arn:
            return original(region=region, service=service, state_credentials=state_credentials)
        session = enforce.role_session(role_arn, "localcloud-states", region)
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=cloud.endpoint_url,
            aws_access_key_id=session.access_key_id,
            aws_secret_access_key=session.secret_access_key,
            aws_session_token=session.session_token,
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=module.TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,  # type: ignore[attr-defined]
                read_timeout=module.TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,  # type: ignore[attr-defined]
            ),
        )

    # The interpreter's modules imported the function by name: replace it in each of them.
    for name, loaded in list(sys.modules.items()):
        if (
            name.startswith("moto.stepfunctions")
            and getattr(loaded, "boto_client_for", None) is original
        ):
            loaded.boto_client_for = boto_client_for  # type: ignore[attr-defined]
