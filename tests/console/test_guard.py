"""The console answers loopback clients asking for a loopback host, and only reads."""

from __future__ import annotations

import pytest

from localcloud.console import guard


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.53", "::1"])
def test_a_loopback_peer_reading_a_loopback_host_is_answered(peer: str) -> None:
    for host in ("127.0.0.1:4568", "localhost:4568", "localhost", "[::1]:4568"):
        assert guard.refusal("GET", peer, host) is None
    assert guard.refusal("HEAD", peer, "localhost") is None


@pytest.mark.parametrize("peer", ["10.0.0.7", "192.168.1.2", "fe80::1", "", None, "not-an-ip"])
def test_any_other_peer_is_refused(peer: str | None) -> None:
    assert guard.refusal("GET", peer, "127.0.0.1:4568") == (
        403,
        "the console answers loopback clients only",
    )


@pytest.mark.parametrize(
    "host", ["evil.test", "evil.test:4568", "127.0.0.1.evil.test", "", "localhost.evil.test"]
)
def test_a_foreign_host_name_is_refused_even_from_loopback(host: str) -> None:
    # A page on evil.test that rebinds its name to 127.0.0.1 still sends Host: evil.test.
    refused = guard.refusal("GET", "127.0.0.1", host)
    assert refused is not None
    assert refused[0] == 403


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_anything_but_reading_is_refused_as_method_not_allowed(method: str) -> None:
    assert guard.refusal(method, "127.0.0.1", "localhost") == (
        405,
        "the console is read-only: GET and HEAD only",
    )
