"""SnapStart restore hooks: registered only in a SnapStart environment, and what they drop."""

from __future__ import annotations

import random
from typing import Any

import pytest

from shared import aws as shared_aws
from shared import secrets, snapstart


class FakeRuntime:
    """snapshot_restore_py as Lambda's Python runtime provides it."""

    def __init__(self) -> None:
        self.after_restore: list[Any] = []

    def register_after_restore(self, func: Any, *args: Any, **kwargs: Any) -> None:
        self.after_restore.append(func)


@pytest.fixture(autouse=True)
def fresh_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapstart, "_registered", {"done": False})


@pytest.mark.parametrize("initialization", [None, "on-demand", "provisioned-concurrency"])
def test_no_hook_outside_snapstart(
    monkeypatch: pytest.MonkeyPatch, initialization: str | None
) -> None:
    if initialization is None:
        monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", initialization)
    runtime = FakeRuntime()
    assert snapstart.register(runtime) is False
    assert runtime.after_restore == []


def test_a_snapstart_environment_registers_the_restore_hook_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    runtime = FakeRuntime()
    assert snapstart.register(runtime) is True
    assert snapstart.register(runtime) is True  # a second decorated handler in the process
    assert runtime.after_restore == [snapstart.after_restore]


def test_the_restore_drops_clients_and_secrets_and_reseeds_random(aws: None) -> None:
    secretsmanager = aws_client = shared_aws.client("secretsmanager")
    secretsmanager.create_secret(Name="api", SecretString="before")
    assert secrets.get_secret("api") == "before"
    own = secrets.SecretCache(ttl_seconds=60)  # a handler's own cache (the api's keys)
    assert own.get("api") == "before"
    secretsmanager.put_secret_value(SecretId="api", SecretString="rotated")
    assert secrets.get_secret("api") == own.get("api") == "before"  # cached for their TTL
    assert shared_aws.client.cache_info().currsize == 1

    random.seed(7)
    expected = random.random()
    random.seed(7)
    snapstart.after_restore()

    assert shared_aws.client.cache_info().currsize == 0
    assert shared_aws.client("secretsmanager") is not aws_client  # created again on use
    # Read again, not the snapshot's value, by every cache.
    assert secrets.get_secret("api") == own.get("api") == "rotated"
    assert random.random() != expected  # not the snapshot's sequence


def test_the_decorator_registers_in_a_snapstart_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.handler import lambda_handler

    registered: list[bool] = []
    monkeypatch.setattr(snapstart, "register", lambda: registered.append(True) or True)
    lambda_handler(trigger="event")
    assert registered == [True]
