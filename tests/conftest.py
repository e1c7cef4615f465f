"""Fixtures shared by every suite: AWS emulated in process by moto, and a docflow stack in it.

The stack's tables are created from the same template fragments serverless.yml deploys
(`resources/*.yml`), so the tests cannot drift from the deployed schema.

`make test` runs the suites on several processes (pytest-xdist, `TEST_WORKERS`). Tests that
must share one process are grouped below (`group_of`); every other module runs wherever a
worker is free.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto import mock_aws

from docflow.api.auth import key_entry
from shared import aws as shared_aws
from tests.support import table_definition

REGION = "us-east-1"

# Tests that must run in one worker, in collection order (by their node id's start):
# - local-stack: the e2e suite shares one local stack (a session fixture: one deploy per worker),
#   its grants check goes last over what the others did, and it runs `sls` in the working tree
#   (osls writes `.serverless/` there), as do the stage guard's tests;
# - templates: the compiled templates are packaged once per session, so once per worker.
# Every other module is a unit of its own (its module fixtures are set up once); the lifecycle
# tests deploy and remove their own stack from a copy of the checkout, beside the e2e suite.
GROUPS = {
    "tests/e2e/test_lifecycle.py": "tests/e2e/test_lifecycle.py",
    "tests/e2e/": "local-stack",
    "tests/gates/test_stage_guard.py": "local-stack",
    "tests/templates/": "templates",
}
# The units workers start with, the longest first (longest-processing-time scheduling: the
# e2e suite is the run's critical path); the others follow in collection order.
LONGEST_FIRST = ("local-stack", "tests/e2e/test_lifecycle.py", "templates")


def group_of(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: its group, else its module."""
    for start, group in GROUPS.items():
        if nodeid.startswith(start):
            return group
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In each xdist worker, the units of LONGEST_FIRST ahead of the others: the scheduler
    hands units out in the order of the workers' collection (they all collect alike)."""
    if hasattr(config, "workerinput"):
        rank = {unit: place for place, unit in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(group_of(item.nodeid), len(rank)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`-n N` sends each unit of `group_of` to one worker, LONGEST_FIRST first. (xdist's own
    `--dist loadgroup` reads `xdist_group` marks into node ids, which pytest 9 no longer
    lets a plugin rewrite.)"""
    if config.getvalue("dist") not in ("load", "loadscope", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # keep the collection's order of units

    class Grouped(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return Grouped(config, log)


@dataclass
class Stack:
    bucket: str = "docflow-test-documents"
    documents_table: str = "docflow-test-documents"
    idempotency_table: str = "docflow-test-idempotency"
    api_keys_secret: str = "docflow/test/api-keys"
    keys: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return shared_aws.client(service)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process; credentials are dummies and no endpoint escapes to the network."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    shared_aws.reset(session=False)  # the session's parsed service models serve every test
    with mock_aws():
        yield
    shared_aws.reset(session=False)


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Bucket, tables and the API-key secret, with keys for two owners and an approver."""
    stack = Stack()
    dynamodb = shared_aws.client("dynamodb")
    dynamodb.create_table(
        **table_definition("resources/storage.yml", "DocumentsTable", stack.documents_table)
    )
    dynamodb.create_table(
        **table_definition("resources/storage.yml", "IdempotencyTable", stack.idempotency_table)
    )
    s3 = shared_aws.client("s3")
    s3.create_bucket(Bucket=stack.bucket)
    s3.put_bucket_versioning(Bucket=stack.bucket, VersioningConfiguration={"Status": "Enabled"})
    stack.keys = {
        "alice": "dfk_alice_key",
        "bob": "dfk_bob_key",
        "alice-viewer": "dfk_viewer",
        "alice-approver": "dfk_alice_approver",
        "bob-approver": "dfk_bob_approver",
    }
    entries = [
        # Both roles: it may decide, but never on a document it submitted itself.
        key_entry("k-alice", "alice", stack.keys["alice"], ("submit", "approve")),
        key_entry("k-bob", "bob", stack.keys["bob"], ("submit",)),
        key_entry("k-viewer", "alice", stack.keys["alice-viewer"], ("read",)),
        key_entry("k-alice-approver", "alice", stack.keys["alice-approver"], ("approve",)),
        key_entry("k-bob-approver", "bob", stack.keys["bob-approver"], ("approve",)),
    ]
    shared_aws.client("secretsmanager").create_secret(
        Name=stack.api_keys_secret, SecretString=json.dumps({"keys": entries})
    )
    stack.environment = {
        "DOCFLOW_STAGE": "test",
        "DOCUMENTS_TABLE": stack.documents_table,
        "DOCUMENTS_BUCKET": stack.bucket,
        "IDEMPOTENCY_TABLE": stack.idempotency_table,
        "API_KEYS_SECRET": stack.api_keys_secret,
        "MAX_UPLOAD_BYTES": str(1024 * 1024),
        "ALLOWED_TYPES": "image/png,image/jpeg,text/csv,application/pdf",
        "SIGNATURES_KEY": "security/signatures.json",
        "STATE_MACHINE_NAME": "",
        "UPLOAD_URL_TTL_SECONDS": "600",
    }
    for name, value in stack.environment.items():
        monkeypatch.setenv(name, value)
    return stack
