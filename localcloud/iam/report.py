"""`python -m localcloud iam-report`: per role, what was used, what was refused, what is unused.

Read from the state directory after `make demo` or an e2e run (the stack may be stopped): the
access records (`iam-access.jsonl`: every distinct action and resource a role session or a
service asked for, allowed or not) and the roles' policies as issued (`iam-roles.json`). A
granted action that no allowed request used is a candidate for removal: least privilege is
what the workflows need, measured, not what someone guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.iam.audit import read_access, read_roles
from localcloud.iam.policy import action_matches, resource_matches


@dataclass
class RoleUsage:
    role_arn: str
    used: set[tuple[str, str]] = field(default_factory=set)  # (action, resource) allowed
    refused: set[tuple[str, str, str]] = field(default_factory=set)  # (action, resource, why)
    granted: list[tuple[str, list[str]]] = field(default_factory=list)  # (action, resources)

    @property
    def name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    def unused(self) -> list[tuple[str, list[str]]]:
        """Granted actions (as written, wildcards kept) no allowed request matched."""
        found = []
        for action, resources in self.granted:
            if not any(
                action_matches(action, used_action)
                and any(resource_matches(r, used_resource) for r in resources)
                for used_action, used_resource in self.used
            ):
                found.append((action, resources))
        return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _grants(policies: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    grants: dict[str, list[str]] = {}
    for document in policies:
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, Mapping) else statements:
            if statement.get("Effect") != "Allow" or "Action" not in statement:
                continue
            resources = [str(r) for r in _as_list(statement.get("Resource"))]
            for action in _as_list(statement["Action"]):
                grants.setdefault(str(action), []).extend(resources)
    return sorted((action, sorted(set(rs))) for action, rs in grants.items())


def usage(state_dir: Path) -> dict[str, RoleUsage]:
    """Every role a session was issued for, with what it used and what it was granted."""
    roles: dict[str, RoleUsage] = {}
    for role_arn, policies in read_roles(state_dir).items():
        roles[role_arn] = RoleUsage(role_arn, granted=_grants(policies))
    for record in read_access(state_dir):
        used_by = record.get("role")
        if not used_by:
            continue
        entry = roles.setdefault(str(used_by), RoleUsage(str(used_by)))
        if record["allowed"]:
            entry.used.add((record["action"], record["resource"]))
        else:
            entry.refused.add((record["action"], record["resource"], record["reason"]))
    return roles


def services(state_dir: Path) -> list[dict[str, Any]]:
    """The service-to-service decisions (S3, SNS, EventBridge, API Gateway calling on)."""
    return [r for r in read_access(state_dir) if not r.get("role")]


def render(state_dir: Path) -> str:
    roles = usage(state_dir)
    if not roles:
        return (
            f"no IAM decisions recorded under {state_dir}: run `make demo` (or the e2e tests) "
            "with the local stack first"
        )
    lines = []
    for role in sorted(roles.values(), key=lambda r: r.name):
        lines.append(f"{role.name}")
        for action, resource in sorted(role.used):
            lines.append(f"  used     {action:<34} {resource}")
        for action, resource, why in sorted(role.refused):
            lines.append(f"  REFUSED  {action:<34} {resource}  ({why})")
        for action, resources in role.unused():
            lines.append(f"  unused   {action:<34} {', '.join(resources)}")
        lines.append("")
    refused = [r for r in services(state_dir) if not r["allowed"]]
    for record in refused:
        lines.append(
            f"service {record['principal']} REFUSED {record['action']} on {record['resource']}"
        )
    return "\n".join(lines).rstrip() + "\n"


def as_json(state_dir: Path) -> str:
    roles = usage(state_dir)
    return json.dumps(
        {
            role.name: {
                "role_arn": role.role_arn,
                "used": sorted(map(list, role.used)),
                "refused": sorted(map(list, role.refused)),
                "unused": [[a, rs] for a, rs in role.unused()],
            }
            for role in roles.values()
        },
        indent=2,
    )
