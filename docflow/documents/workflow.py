"""The processing workflow as the other packages drive it: start, stop, resume a waiting task."""

from __future__ import annotations

import json
import re
from typing import Any

from docflow.documents.errors import ApprovalExpiredError, ApprovalTokenInvalidError
from shared import aws

_EXECUTION_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_EXECUTION_NAME = 80


def execution_name(name: str) -> str:
    """`name` as Step Functions accepts it: unsafe characters replaced, at most 80 long."""
    return _EXECUTION_NAME_UNSAFE.sub("-", name)[:MAX_EXECUTION_NAME]


class Workflow(aws.Adapter):
    """Executions of one state machine, named by its name in this account and region or its ARN.

    A name is resolved to an ARN on the first start (an STS call), never at construction.
    """

    service = "stepfunctions"

    def __init__(self, state_machine: str, client_factory: aws.ClientFactory | None = None) -> None:
        super().__init__(client_factory)
        self.state_machine = state_machine

    @property
    def state_machine_arn(self) -> str:
        if self.state_machine.startswith("arn:"):
            return self.state_machine
        return aws.arn("states", f"stateMachine:{self.state_machine}")

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start (or find, for a duplicate name) the named execution; its ARN."""
        name = execution_name(name)
        state_machine_arn = self.state_machine_arn
        client = self._client_factory()
        with aws.translated("starting the processing workflow"):
            try:
                response = client.start_execution(
                    stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
                )
            except client.exceptions.ExecutionAlreadyExists:
                prefix = state_machine_arn.replace(":stateMachine:", ":execution:")
                return f"{prefix}:{name}"
        return str(response["executionArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        """Stop an execution that may still be running; one already finished is fine."""
        client = self._client_factory()
        with aws.translated("stopping a stuck execution"):
            try:
                client.stop_execution(
                    executionArn=execution_arn, error="docflow.Swept", cause=cause
                )
            except client.exceptions.ExecutionDoesNotExist:
                return


class Tasks(aws.Adapter):
    """Resumes an execution waiting on a task token."""

    service = "stepfunctions"

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        client = self._client_factory()
        with aws.translated("sending the decision to the workflow"):
            try:
                client.send_task_success(taskToken=token, output=json.dumps(output))
            except client.exceptions.TaskTimedOut as exc:
                raise ApprovalExpiredError(
                    "the approval expired: the workflow no longer waits for this decision"
                ) from exc
            except (client.exceptions.InvalidToken, client.exceptions.TaskDoesNotExist) as exc:
                raise ApprovalTokenInvalidError(
                    f"the recorded approval token was not accepted ({aws.error_code(exc)}); "
                    "the workflow will reject the document when its approval times out"
                ) from exc
