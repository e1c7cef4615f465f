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
            self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
        )

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
