"""The local stack for end-to-end tests: localcloud started and `sls deploy --stage local` run once
(of the local package `make test` has just built and checked, when DOCFLOW_PACKAGED_DIR names
it).

The stack gets its own state directory and free loopback ports, so it neither disturbs nor
reuses a stack started with `make up`. It is skipped only when Python 3.12, the Lambda runtime,
is missing; any other failure to start or deploy fails the session.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from gates import template
from localcloud import server, stack
from tests.processing_samples import csv_bytes
from tests.support import packaged, python312_or_skip
from tests.support import wait_for as wait_for  # the fixtures' modules import it from here

pytestmark = pytest.mark.e2e

FINAL = frozenset({"processed", "rejected", "quarantined", "failed"})
# True when every e2e test was collected: only then does the run measure every workflow.
FULL_E2E_RUN = pytest.StashKey[bool]()
_LAST = "test_every_granted_action_is_used_by_some_workflow"


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they deselect
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    chosen = {Path(str(item.path)).name for item in items if Path(str(item.path)).parent == here}
    every = {path.name for path in here.glob("test_*.py")}
    config.stash[FULL_E2E_RUN] = (
        chosen == every and not config.option.keyword and not getattr(config.option, "lf", False)
    )
    # The grants check reads what all the other tests made the roles do: it goes last.
    items.sort(key=lambda item: item.name == _LAST)


THROTTLED = 429


def retry_throttled[Answer](send: Callable[[], Answer], status: Callable[[Answer], int]) -> Answer:
    """`send()` again, backing off, while the stage's throttling answers 429, as a client of
    API Gateway should: the tests check what an input gets, and the local stage's rate limit
    (config/local.yml `api.throttle`) is reached whenever the machine is fast enough."""
    delay = 0.25
    answer = send()
    for _ in range(8):
        if status(answer) != THROTTLED:
            break
        time.sleep(delay)
        delay = min(delay * 2, 4.0)
        answer = send()
    return answer


STACK_PREFIX = "docflow-local"  # service-stage: every resource name of the local stage


@dataclass
class LocalStack:
    description: dict[str, Any]
    state_dir: Path
    deploy_seconds: float
    unattended_approval: str = ""
    """A flagged document uploaded right after the deploy that nobody decides on: its approval
    expires (config/local.yml, 60 s) while the other tests run, not in a test's own wait."""

    @property
    def endpoint_url(self) -> str:
        return str(self.description["endpoint_url"])

    @property
    def api_url(self) -> str:
        return str(self.description["api_url"])

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=stack.REGION,
            aws_access_key_id="localcloud",
            aws_secret_access_key="localcloud",
        )

    def queue_url(self, name: str) -> str:
        """The URL of the local stage's queue `name` (without the stack prefix)."""
        sqs = self.client("sqs")
        return str(sqs.get_queue_url(QueueName=f"{STACK_PREFIX}-{name}")["QueueUrl"])

    def queue_depth(self, name: str) -> int:
        """Messages waiting plus in flight in the stage's queue `name`."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def key(self, owner: str = "demo-alice", role: str = "submit") -> str:
        """The owner's key with exactly `role` (each demo owner has a submit-only and an
        approve-only key: the key that submitted a document may not decide on it)."""
        return stack.demo_key(self.description, owner, role)

    def upload(
        self, filename: str, content_type: str, body: bytes, owner: str = "demo-alice"
    ) -> str:
        """Create a document through the API and POST its bytes to the presigned upload."""
        created = self.api(
            "POST",
            "/documents",
            owner,
            json={"filename": filename, "content_type": content_type, "size": len(body)},
        )
        assert created.status_code == 201, created.text
        document = created.json()
        upload = document["upload"]
        sent = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": (filename, body, content_type)},
            timeout=60,
        )
        assert sent.status_code in (200, 201, 204), sent.text
        return str(document["document_id"])

    def wait_status(
        self, document_id: str, wanted: AbstractSet[str] = FINAL, timeout: float = 180
    ) -> dict[str, Any]:
        """The document once its status is one of `wanted` (events flow asynchronously)."""

        def reached() -> dict[str, Any] | None:
            answer = self.api("GET", f"/documents/{document_id}")
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body if body["status"] in wanted else None

        return dict(wait_for(reached, timeout=timeout))

    def api(
        self,
        method: str,
        path: str,
        owner: str = "demo-alice",
        role: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """A call with the owner's key for `role` (by default the one the route needs)."""
        headers = {
            "x-api-key": self.key(owner, role or role_for(path)),
            **kwargs.pop("headers", {}),
        }
        return retry_throttled(
            lambda: requests.request(
                method, f"{self.api_url}{path}", headers=headers, timeout=60, **kwargs
            ),
            lambda answer: answer.status_code,
        )


def role_for(path: str) -> str:
    """The role a route needs: decisions take an approver's key, everything else a submitter's
    (which also reads and lists the owner's documents)."""
    return "approve" if path.rstrip("/").endswith("/decision") else "submit"


def _packaged_local() -> Path | None:
    """The local package `make test` built and checked just before pytest, if there is one:
    deployed as it is, it saves packaging again."""
    directory = packaged("local")
    return directory if directory and (directory / template.TEMPLATE_NAME).is_file() else None


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    python312_or_skip()
    state_dir = tmp_path_factory.mktemp("local-stack")
    info = server.start_background("127.0.0.1", server.free_port(), server.free_port(), state_dir)
    try:
        deploy_seconds = stack.deploy(info["endpoint_url"], package=_packaged_local())
        local = LocalStack(stack.describe(info, state_dir), state_dir, deploy_seconds)
        # 3 x 4,000 = 12,000: over the local approval threshold of 10,000.
        local.unattended_approval = local.upload(
            "unattended.csv", "text/csv", csv_bytes(3, amount="4000")
        )
        yield local
    finally:
        server.stop_background(state_dir)


def deploy_template(local: LocalStack, name: str, template: dict[str, Any]) -> None:
    """Deploy a hand-made CloudFormation stack next to docflow's, through a change set."""
    cfn = local.client("cloudformation")
    cfn.create_change_set(
        StackName=name,
        ChangeSetName="e2e",
        TemplateBody=json.dumps(template),
        ChangeSetType="CREATE",
    )
    cfn.execute_change_set(StackName=name, ChangeSetName="e2e")
