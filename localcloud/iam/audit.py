"""Every authorisation decided for a role session or a service principal, kept for the report.

Two files in the stack's state directory, both small: `iam-access.jsonl` holds each distinct
(principal, action, resource, decision) once, in the order first seen; `iam-roles.json` the
policies of every role a session was issued for, as they were when the last session was issued
(the report compares them with what was used, after the stack has stopped).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

ACCESS_FILE = "iam-access.jsonl"
ROLES_FILE = "iam-roles.json"

log = logging.getLogger("localcloud.iam")


class Audit:
    def __init__(self, state_dir: Path | None) -> None:
        self._dir = state_dir
        self._seen: set[tuple[str, str, str, bool]] = set()
        self._roles: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        if state_dir is not None:
            for name in (ACCESS_FILE, ROLES_FILE):
                (state_dir / name).unlink(missing_ok=True)

    def decided(
        self,
        *,
        principal: str,
        role_arn: str | None,
        action: str,
        resource: str,
        allowed: bool,
        enforced: bool,
        reason: str,
    ) -> None:
        key = (role_arn or principal, action, resource, allowed)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            if self._dir is None:
                return
            record = {
                "principal": principal,
                "role": role_arn,
                "action": action,
                "resource": resource,
                "allowed": allowed,
                "enforced": enforced,
                "reason": reason,
            }
            with open(self._dir / ACCESS_FILE, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")

    def role_policies(self, role_arn: str, policies: list[dict[str, Any]]) -> None:
        with self._lock:
            if self._roles.get(role_arn) == policies:
                return
            self._roles[role_arn] = policies
            if self._dir is not None:
                (self._dir / ROLES_FILE).write_text(json.dumps(self._roles, indent=1) + "\n")


def read_access(state_dir: Path) -> list[dict[str, Any]]:
    path = state_dir / ACCESS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_roles(state_dir: Path) -> dict[str, list[dict[str, Any]]]:
    path = state_dir / ROLES_FILE
    return json.loads(path.read_text()) if path.exists() else {}
