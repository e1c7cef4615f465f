"""IAM's policy evaluation logic, for one request in one account.

Pure: policy documents and a request in, a decision out; nothing here knows moto or HTTP.
It follows "Policy evaluation logic" in the IAM User Guide, for what a single account uses:

1. an explicit Deny in any applicable policy (identity-based or resource-based) wins;
2. else an Allow in the resource-based policy whose Principal names the caller (the role, its
   session, or a service principal) allows the request on its own;
3. else an Allow in an identity-based policy allows it;
4. else the request is implicitly denied.

Statements match on Action/NotAction (case-insensitive), Resource/NotResource (per ARN part,
case-sensitive), Principal/NotPrincipal and Condition (the operators below, with ...IfExists,
ForAllValues: and ForAnyValue:). Service control policies, permission boundaries and session
policies are not evaluated: docflow uses none (README, "What the local stack enforces").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    """One authorisation: who, which action on which resource, and the request's context keys.

    `principal` is the caller's ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`), a
    service principal (`s3.amazonaws.com`) when AWS calls on a service's behalf, or an identity
    provider's ARN (`arn:aws:iam::ACCOUNT:oidc-provider/HOST`) for a web identity. `role_arn` is the
    role behind a session. Context keys are matched case-insensitively, as IAM does.
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    role_arn: str | None = None
    account_id: str | None = None

    @property
    def is_service(self) -> bool:
        return self.principal.endswith(".amazonaws.com")


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


@dataclass(frozen=True)
class Result:
    decision: Decision
    reason: str  # the end of AWS's message: "because no identity-based policy allows ..."
    policy: str | None = None  # "identity" or "resource": which kind decided

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


def evaluate(
    request: Request,
    identity_policies: Sequence[Mapping[str, Any]] = (),
    resource_policy: Mapping[str, Any] | None = None,
) -> Result:
    """The decision for `request` under the caller's policies and the resource's policy."""
    identity = [] if request.is_service else list(identity_policies)
    resource = [resource_policy] if resource_policy else []
    for kind, documents, with_principal in (
        ("identity", identity, False),
        ("resource", resource, True),
    ):
        if any(
            _applies(s, request, with_principal)
            for s in _statements(documents)
            if s.get("Effect") == "Deny"
        ):
            article = "an" if kind == "identity" else "a"
            return Result(
                Decision.EXPLICIT_DENY,
                f"with an explicit deny in {article} {kind}-based policy",
                kind,
            )
    for statement in _statements(resource):
        # An Allow naming the account (its root) delegates to the account's identity policies;
        # one naming the role, its session or a service allows by itself.
        if (
            statement.get("Effect") == "Allow"
            and _applies(statement, request, True)
            and not _names_account_only(statement, request)
        ):
            return Result(Decision.ALLOW, "allowed by a resource-based policy", "resource")
    for statement in _statements(identity):
        if statement.get("Effect") == "Allow" and _applies(statement, request, False):
            return Result(Decision.ALLOW, "allowed by an identity-based policy", "identity")
    kind = "resource" if request.is_service else "identity"
    return Result(
        Decision.IMPLICIT_DENY, f"because no {kind}-based policy allows the {request.action} action"
    )


def _statements(documents: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for document in documents:
        statements = document.get("Statement", [])
        found += [statements] if isinstance(statements, Mapping) else list(statements)
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _element_admits(
    statement: Mapping[str, Any], name: str, matches: Callable[[str, str], bool], value: str
) -> bool | None:
    """Whether the statement's `name` element (Action, Resource) matches `value`, or its
    Not`name` element does not; None when it has neither."""
    if name in statement:
        return any(matches(p, value) for p in _as_list(statement[name]))
    if f"Not{name}" in statement:
        return not any(matches(p, value) for p in _as_list(statement[f"Not{name}"]))
    return None


def _applies(statement: Mapping[str, Any], request: Request, with_principal: bool) -> bool:
    if with_principal and not _principal_matches(statement, request):
        return False
    if not _element_admits(statement, "Action", action_matches, request.action):
        return False  # not the action, or neither Action nor NotAction
    resources = _element_admits(statement, "Resource", resource_matches, request.resource)
    if resources is False or (resources is None and not with_principal):
        return False  # an identity policy statement needs Resource or NotResource
    return conditions_match(statement.get("Condition") or {}, request.context)


# -- actions and resources --------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool, segment: bool = False) -> re.Pattern[str]:
    """`*` any run, `?` one character (within one ARN part when `segment`)."""
    any_run = "[^:]*" if segment else ".*"
    any_one = "[^:]" if segment else "."
    body = "".join(any_run if c == "*" else any_one if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def action_matches(pattern: str, action: str) -> bool:
    return bool(_wildcard(pattern, True).match(action))


def resource_matches(pattern: str, resource: str) -> bool:
    """ARNs match part by part; a wildcard in the last part (the resource) spans `/` and `:`."""
    if pattern == "*":
        return True
    if resource == "*":
        return False  # an action without a resource type matches only Resource "*"
    wanted, actual = pattern.split(":", 5), resource.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return bool(_wildcard(pattern, False).match(resource))
    return all(
        _wildcard(w, False, segment=index < 5).match(a)
        for index, (w, a) in enumerate(zip(wanted, actual, strict=True))
    )


# -- principals -------------------------------------------------------------------------------


def _principal_values(principal: Any) -> list[tuple[str, str]]:
    if principal == "*":
        return [("AWS", "*")]
    if isinstance(principal, Mapping):
        return [(kind, str(v)) for kind, values in principal.items() for v in _as_list(values)]
    return []


def _names(kind: str, value: str, request: Request) -> bool:
    if value == "*":
        return kind == "AWS" and not request.is_service
    if kind == "Service":
        return request.is_service and value == request.principal
    if kind == "Federated":
        # A web identity (sts:AssumeRoleWithWebIdentity): the caller is the identity provider's
        # ARN, and the token's claims are the request's context keys (`<provider>:sub`, ...).
        return not request.is_service and value == request.principal
    if kind != "AWS" or request.is_service:
        return False
    account = request.account_id or request.principal.split(":")[4]
    if value in (account, f"arn:aws:iam::{account}:root"):
        return True
    return value in (request.principal, request.role_arn)


def _principal_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "Principal" in statement:
        return any(_names(k, v, request) for k, v in _principal_values(statement["Principal"]))
    if "NotPrincipal" in statement:
        return not any(
            _names(k, v, request) for k, v in _principal_values(statement["NotPrincipal"])
        )
    return False


def _names_account_only(statement: Mapping[str, Any], request: Request) -> bool:
    if request.is_service:
        return False
    named = [v for k, v in _principal_values(statement.get("Principal")) if _names(k, v, request)]
    account = request.account_id or request.principal.split(":")[4]
    return bool(named) and all(v in (account, f"arn:aws:iam::{account}:root") for v in named)


# -- conditions -------------------------------------------------------------------------------


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_like(policy: str, value: str) -> bool:
    return bool(_wildcard(policy, False).match(value))


def _arn_like(policy: str, value: str) -> bool:
    """ARN operators match each of the six colon-separated parts on its own, as Resource does."""
    return resource_matches(policy, value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(policy: str, value: str) -> bool:
        p, v = _number(policy), _number(value)
        return p is not None and v is not None and compare(v, p)

    return match


def _date(text: str) -> datetime | None:
    number = _number(text)
    if number is not None:
        return datetime.fromtimestamp(number, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dated(compare: Callable[[datetime, datetime], bool]) -> Callable[[str, str], bool]:
    def match(policy: str, value: str) -> bool:
        p, v = _date(policy), _date(value)
        return p is not None and v is not None and compare(v, p)

    return match


def _ip(policy: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _bool(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


# Operator -> (match one policy value against one request value, negated).
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_numeric(lambda v, p: v == p), False),
    "NumericNotEquals": (_numeric(lambda v, p: v == p), True),
    "NumericLessThan": (_numeric(lambda v, p: v < p), False),
    "NumericLessThanEquals": (_numeric(lambda v, p: v <= p), False),
    "NumericGreaterThan": (_numeric(lambda v, p: v > p), False),
    "NumericGreaterThanEquals": (_numeric(lambda v, p: v >= p), False),
    "DateEquals": (_dated(lambda v, p: v == p), False),
    "DateNotEquals": (_dated(lambda v, p: v == p), True),
    "DateLessThan": (_dated(lambda v, p: v < p), False),
    "DateLessThanEquals": (_dated(lambda v, p: v <= p), False),
    "DateGreaterThan": (_dated(lambda v, p: v > p), False),
    "DateGreaterThanEquals": (_dated(lambda v, p: v >= p), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_string_equals, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn_like, False),  # ARN operators take wildcards, per ARN part
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}


class UnsupportedConditionError(ValueError):
    """A condition operator IAM knows and this evaluator does not (it never guesses)."""


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return [value] if isinstance(value, str) else [str(v) for v in value]
    return None


def conditions_match(conditions: Mapping[str, Any], context: Mapping[str, ContextValue]) -> bool:
    """Every operator block matches (AND); in a block every key (AND); per key any value (OR)."""
    for operator, block in conditions.items():
        for key, wanted in dict(block).items():
            if not _condition(operator, key, [str(w) for w in _as_list(wanted)], context):
                return False
    return True


def _condition(
    operator: str, key: str, wanted: list[str], context: Mapping[str, ContextValue]
) -> bool:
    values = _lookup(context, key)
    if operator == "Null":
        # "true": the key must be absent; "false": present.
        return any((values is None) == (w.lower() == "true") for w in wanted)
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in _OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedConditionError(f"condition operator {operator} is not supported")
    match, negated = _OPERATORS[name]
    if values is None:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated

    def one(value: str) -> bool:
        hit = any(match(w, value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    # A single-valued key (a multivalued key without a set qualifier: any of its values).
    return all(one(v) for v in values) if negated else any(one(v) for v in values)
