"""A processing stack in moto: the documents stack plus the events topic with a tap queue.

`proc.document(...)` records a document and uploads its bytes the way the API and intake
would, and returns the execution input intake sends. `proc.run(name, event)` calls a task
handler in process, as Step Functions would. `workflow` runs the real state machine in
moto's Step Functions interpreter, whose Lambda invocations are dispatched to the handlers
in this process (moto itself would need Docker).
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config

from docflow.documents.model import Document, HistoryEntry, Status, incoming_key, now_iso
from docflow.documents.model import new_document_id as new_id
from docflow.documents.store import DocumentStore, from_item
from shared import aws as shared_aws
from tests.conftest import Stack
from tests.functional.conftest import LambdaContext
from tests.processing_definition import definition, function_arn
from tests.support import fresh_import

_IMPORT_LOCK = threading.Lock()

FUNCTIONS = {
    "processExtract": "process_extract",
    "processTransform": "process_transform",
    "processPolicy": "process_policy",
    "processRequestApproval": "process_request_approval",
    "processFinalize": "process_finalize",
    "processReject": "process_reject",
    "processCompensate": "process_compensate",
}

Api = Callable[..., tuple[int, Any]]


def decide(api: Api, document_id: str, body: Any, key: str = "alice-approver") -> tuple[int, Any]:
    """POST /documents/{id}/decision with `body`, by default as alice's approver key."""
    return api("POST /documents/{id}/decision", key=key, path_id=document_id, body=body)


@dataclass
class Proc:
    stack: Stack
    topic_arn: str
    tap_url: str
    modules: dict[str, ModuleType] = field(default_factory=dict)

    @property
    def store(self) -> DocumentStore:
        return DocumentStore(self.stack.documents_table)

    def document(
        self,
        data: bytes,
        content_type: str,
        filename: str,
        owner: str = "alice",
        status: Status = Status.PROCESSING,
        submitted_by: str | None = "k-alice",
    ) -> dict[str, Any]:
        document_id = new_id()
        created = now_iso()
        key = incoming_key(document_id, filename)
        document = Document(
            document_id=document_id,
            owner=owner,
            filename=filename,
            declared_type=content_type,
            declared_size=len(data),
            status=Status.AWAITING_UPLOAD,
            created_at=created,
            updated_at=created,
            object_key=key,
            history=(HistoryEntry(Status.AWAITING_UPLOAD, created, "api"),),
            submitted_by=submitted_by,
        )
        self.store.create(document)
        put = shared_aws.client("s3").put_object(Bucket=self.stack.bucket, Key=key, Body=data)
        document = self.store.transition(document, Status.ACCEPTED, "intake")
        if status is Status.PROCESSING:
            self.store.transition(document, Status.PROCESSING, "intake")
        return {
            "document_id": document_id,
            "bucket": self.stack.bucket,
            "key": key,
            "version_id": put.get("VersionId"),
            "content_type": content_type,
            "size": len(data),
        }

    def backdate(self, document_id: str, seconds: int) -> None:
        """Make the document's last change `seconds` older (as if it had been waiting)."""
        document = self.doc(document_id)
        then = datetime.fromisoformat(document.updated_at) - timedelta(seconds=seconds)
        shared_aws.client("dynamodb").update_item(
            TableName=self.stack.documents_table,
            Key={"document_id": {"S": document_id}},
            UpdateExpression="SET updated_at = :at",
            ExpressionAttributeValues={":at": {"S": then.isoformat()}},
        )

    def handler(self, function: str) -> Callable[[Any, Any], Any]:
        # Map iterations call the same task from several threads at once: import it once.
        with _IMPORT_LOCK:
            if function not in self.modules:
                self.modules[function] = fresh_import(f"handlers.{FUNCTIONS[function]}")
        return self.modules[function].handler  # type: ignore[no-any-return]

    def run(self, function: str, event: Any) -> Any:
        return self.handler(function)(event, LambdaContext(f"docflow-test-{function}"))

    def doc(self, document_id: str) -> Document:
        found = self.store.get(document_id)
        assert found is not None
        return found

    def item(self, document_id: str) -> dict[str, Any]:
        response = shared_aws.client("dynamodb").get_item(
            TableName=self.stack.documents_table, Key={"document_id": {"S": document_id}}
        )
        return from_item(response["Item"])

    def keys(self, prefix: str) -> list[str]:
        """Every object version and delete marker under the prefix."""
        response = shared_aws.client("s3").list_object_versions(
            Bucket=self.stack.bucket, Prefix=prefix
        )
        entries = response.get("Versions", []) + response.get("DeleteMarkers", [])
        return sorted(entry["Key"] for entry in entries)

    def read(self, key: str) -> bytes:
        body = shared_aws.client("s3").get_object(Bucket=self.stack.bucket, Key=key)["Body"]
        return bytes(body.read())

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """(event_type attribute, message) of everything published since the last call."""
        sqs = shared_aws.client("sqs")
        found = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                envelope = json.loads(message["Body"])
                attribute = envelope["MessageAttributes"]["event_type"]["Value"]
                found.append((attribute, json.loads(envelope["Message"])))
                sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def proc(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Proc:
    sns = shared_aws.client("sns")
    sqs = shared_aws.client("sqs")
    topic_arn = sns.create_topic(Name="docflow-test-events")["TopicArn"]
    tap_url = sqs.create_queue(QueueName="docflow-test-events-tap")["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=tap_arn)
    environment = {
        "EVENTS_TOPIC_ARN": topic_arn,
        "IMAGE_MAX_PIXELS": "40000000",
        "CSV_REQUIRED_COLUMNS": "id,date,amount",
        "POLICY_AMOUNT_THRESHOLD": "1000",
        "POLICY_IMAGE_MAX_BYTES": "200000",
        "POLICY_SENDER_ALLOW_LIST": "alice,bob",
        "APPROVAL_TIMEOUT_SECONDS": "3600",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Proc(stack, topic_arn, tap_url)


@dataclass
class Workflow:
    proc: Proc
    arn: str
    calls: list[str] = field(default_factory=list)
    # function -> what its next calls do, in order: raise the exception, or (None) run
    faults: dict[str, list[Exception | None]] = field(default_factory=dict)

    def start(self, execution_input: dict[str, Any]) -> str:
        return str(
            shared_aws.client("stepfunctions").start_execution(
                stateMachineArn=self.arn,
                name=execution_input["document_id"],
                input=json.dumps(execution_input),
            )["executionArn"]
        )

    def wait(self, execution_arn: str, bound_s: float = 60) -> dict[str, Any]:
        client = shared_aws.client("stepfunctions")
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            described = client.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return dict(described)
            time.sleep(0.05)
        raise AssertionError(f"{execution_arn} still running after {bound_s} s")

    def wait_for_status(self, document_id: str, status: Status, bound_s: float = 30) -> None:
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            if self.proc.doc(document_id).status is status:
                return
            time.sleep(0.05)
        raise AssertionError(f"{document_id} never reached {status}")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        client = shared_aws.client("stepfunctions")
        return list(client.get_execution_history(executionArn=execution_arn)["events"])


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture
def workflow_factory(proc: Proc, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Workflow]:
    monkeypatch.setitem(default_user_config["stepfunctions"], "execute_state_machine", True)
    by_name = {function_arn(f).rsplit(":", 1)[-1]: f for f in FUNCTIONS}
    created: list[Workflow] = []

    def invoke(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        function = by_name[self.function_name]
        workflow = created[-1]
        workflow.calls.append(function)
        payload = json.loads(event) if isinstance(event, str) else event
        try:
            pending = workflow.faults.get(function)
            fault = pending.pop(0) if pending else None
            if fault is not None:
                raise fault
            result = proc.run(function, payload)
        except Exception as exc:  # what the Lambda runtime reports for an unhandled error
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}), True, ""
        return json.dumps(result), False, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke)

    def make(**overrides: Any) -> Workflow:
        iam = shared_aws.client("iam")
        role = iam.create_role(
            RoleName=f"docflow-test-processing-{len(created)}",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        lambda_client = shared_aws.client("lambda")
        if not created:
            for function in FUNCTIONS:
                lambda_client.create_function(
                    FunctionName=function_arn(function).rsplit(":", 1)[-1],
                    Runtime="python3.12",
                    Role=role,
                    Handler="handler.handler",
                    Code={"ZipFile": _zip()},
                )
        machine = definition("local")
        for state, changes in overrides.items():
            machine["States"][state].update(changes)
        arn = shared_aws.client("stepfunctions").create_state_machine(
            name=f"docflow-test-processing-{len(created)}",
            definition=json.dumps(machine),
            roleArn=role,
        )["stateMachineArn"]
        workflow = Workflow(proc, arn)
        created.append(workflow)
        return workflow

    return make


@pytest.fixture
def workflow(workflow_factory: Callable[..., Workflow]) -> Workflow:
    return workflow_factory()
