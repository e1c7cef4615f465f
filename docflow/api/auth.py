"""API keys, stored as SHA-256 hashes in one Secrets Manager secret per stage.

Secret value: {"keys": [{"key_id": "...", "owner": "...", "roles": ["submit", "approve"],
"sha256": "<hex of the key>"}]}. Keys are random 32-byte tokens, so a plain SHA-256 is the
right hash (no dictionary to defend against); comparison is constant-time. A key that is not
found triggers at most one refresh of the secret per `refresh_interval_s` (rotation), so bad
keys cannot hammer Secrets Manager.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import errors

# What a key may do: `submit` creates documents (docflow.api.service), `approve` decides on
# another key's documents (docflow.processing.approval); any valid key reads its owner's
# documents, so `read` alone is a read-only key.
ROLES = ("submit", "approve", "read")


@dataclass(frozen=True)
class Principal:
    key_id: str
    owner: str
    roles: frozenset[str]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return "dfk_" + secrets.token_urlsafe(32)


def key_entry(key_id: str, owner: str, key: str, roles: tuple[str, ...]) -> dict[str, Any]:
    """The secret entry for a key (what `make up` and operators write)."""
    return {"key_id": key_id, "owner": owner, "roles": list(roles), "sha256": hash_key(key)}


class KeyRing:
    def __init__(
        self,
        load: Callable[[bool], Any],
        refresh_interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._refresh_interval_s = refresh_interval_s
        self._clock = clock
        self._last_refresh = float("-inf")

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise errors.UnauthorizedError("missing API key: send it in the x-api-key header")
        digest = hash_key(presented)
        found = self._find(self._load(False), digest)
        if found is None and self._clock() - self._last_refresh >= self._refresh_interval_s:
            self._last_refresh = self._clock()
            found = self._find(self._load(True), digest)
        if found is None:
            raise errors.UnauthorizedError("invalid API key")
        return found

    @staticmethod
    def _find(secret: Any, digest: str) -> Principal | None:
        entries = secret.get("keys", []) if isinstance(secret, dict) else []
        match = None
        for entry in entries:
            # Compare against every entry so timing does not reveal a position.
            if hmac.compare_digest(str(entry.get("sha256", "")), digest):
                match = entry
        if match is None:
            return None
        return Principal(
            key_id=str(match["key_id"]),
            owner=str(match["owner"]),
            roles=frozenset(match.get("roles", ["submit"])),
        )
