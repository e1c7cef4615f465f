from __future__ import annotations

import pytest

from docflow.api.auth import KeyRing, Principal, key_entry
from shared.errors import UnauthorizedError
from tests.support import Clock


class _Secret:
    """Stands in for Secrets Manager: counts loads and can rotate keys."""

    def __init__(self, *entries: dict[str, object]) -> None:
        self.value = {"keys": list(entries)}
        self.loads: list[bool] = []

    def __call__(self, refresh: bool) -> dict[str, object]:
        self.loads.append(refresh)
        return self.value


def test_a_valid_key_yields_its_owner_and_roles() -> None:
    ring = KeyRing(_Secret(key_entry("k1", "alice", "secret-1", ("submit", "approve"))))
    assert ring.authenticate("secret-1") == Principal(
        "k1", "alice", frozenset({"submit", "approve"})
    )


@pytest.mark.parametrize("presented", [None, "", "wrong"])
def test_missing_or_wrong_keys_are_unauthorized(presented: str | None) -> None:
    ring = KeyRing(_Secret(key_entry("k1", "alice", "secret-1", ("submit",))))
    with pytest.raises(UnauthorizedError):
        ring.authenticate(presented)


def test_an_unknown_key_refreshes_the_secret_once_per_interval() -> None:
    secret, clock = _Secret(), Clock(1000.0)
    ring = KeyRing(secret, refresh_interval_s=60, clock=clock)
    for _ in range(5):
        with pytest.raises(UnauthorizedError):
            ring.authenticate("bad")
    assert secret.loads.count(True) == 1
    secret.value = {"keys": [key_entry("k2", "bob", "rotated-in", ("submit",))]}
    clock.now += 61
    assert ring.authenticate("rotated-in").owner == "bob"


def test_the_secret_holds_hashes_not_keys() -> None:
    entry = key_entry("k1", "alice", "secret-1", ("submit",))
    assert "secret-1" not in str(entry)
