"""Who signed a request: the stack's admin credentials, or a session of an IAM role.

The local STS (moto's) issues role sessions: access key ids starting with ``ASIA``, each kept
with its secret, session token and role. Every other access key is the account's admin (the
credentials `make up`, `sls` and test set-up use): its requests are not restricted, as the
account root's are not. Role credentials for functions and state machines are minted here,
in process, exactly as `sts:AssumeRole` would answer them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

ADMIN_ACCESS_KEY = "localcloud"
ADMIN_SECRET_KEY = "localcloud"  # noqa: S105 - the emulator's own, documented admin credentials
SESSION_SECONDS = 3600
_REFRESH_BEFORE_S = 300


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float  # epoch seconds


@dataclass(frozen=True)
class Principal:
    """A role session: `arn` as AWS names it in errors, `role_arn` for its policies."""

    arn: str
    role_arn: str
    account_id: str
    session_name: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]


def _partition(account_id: str) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account_id]["aws"]


def _assumed_role(access_key_id: str) -> Any:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sts.models import sts_backends

    for account_id in {DEFAULT_ACCOUNT_ID, *sts_backends.keys()}:
        found = _partition(account_id).get_assumed_role_from_access_key(access_key_id)
        if found is not None:
            return found
    return None


def is_session_key(access_key_id: str) -> bool:
    return access_key_id.startswith("ASIA")


def principal_for(access_key_id: str) -> Principal | None:
    """The role session behind a key; None for admin keys. Unknown ``ASIA`` keys raise."""
    if not is_session_key(access_key_id):
        return None
    found = _assumed_role(access_key_id)
    if found is None:
        raise UnknownSessionError(access_key_id)
    return Principal(
        arn=found.arn,
        role_arn=found.role_arn,
        account_id=found.account_id,
        session_name=found.session_name,
    )


def secret_for(access_key_id: str) -> str | None:
    """The secret key of an access key (to check a signature); None if the key is unknown."""
    if not is_session_key(access_key_id):
        return ADMIN_SECRET_KEY if access_key_id == ADMIN_ACCESS_KEY else None
    found = _assumed_role(access_key_id)
    return None if found is None else str(found.secret_access_key)


class UnknownSessionError(Exception):
    def __init__(self, access_key_id: str) -> None:
        super().__init__(f"The security token included in the request is invalid: {access_key_id}")


_minted: dict[tuple[str, str], Credentials] = {}
_mint_lock = threading.Lock()


def role_credentials(role_arn: str, session_name: str, region: str = "us-east-1") -> Credentials:
    """A session of `role_arn` from the local STS, reused until shortly before it expires."""
    key = (role_arn, session_name)
    with _mint_lock:
        cached = _minted.get(key)
        if cached is not None and cached.expires_at - time.time() > _REFRESH_BEFORE_S:
            return cached
        account_id = role_arn.split(":")[4]
        assumed = _partition(account_id).assume_role(
            region_name=region,
            role_session_name=session_name[:64],
            role_arn=role_arn,
            policy=None,
            duration=SESSION_SECONDS,
            external_id=None,
        )
        minted = Credentials(
            access_key_id=str(assumed.access_key_id),
            secret_access_key=str(assumed.secret_access_key),
            session_token=str(assumed.session_token),
            expires_at=time.time() + SESSION_SECONDS,
        )
        _minted[key] = minted
        return minted


def _role(role_arn: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[role_arn.split(":")[4]]["aws"].get_role_by_arn(role_arn)


def _document(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    raw = str(text)
    try:
        parsed: dict[str, Any] = json.loads(raw)
    except ValueError:
        parsed = json.loads(unquote(raw))
    return parsed


def identity_policies(role_arn: str) -> list[dict[str, Any]]:
    """The role's inline policies and the default versions of its managed policies."""
    role = _role(role_arn)
    documents = [_document(text) for text in role.policies.values()]
    for managed in role.managed_policies.values():
        default = next(v for v in managed.versions if v.version_id == managed.default_version_id)
        documents.append(_document(default.document))
    return documents


def trust_policy(role_arn: str) -> dict[str, Any]:
    return _document(_role(role_arn).assume_role_policy_document)


def role_exists(role_arn: str) -> bool:
    try:
        _role(role_arn)
    except Exception:  # moto raises its own NotFound types
        return False
    return True
