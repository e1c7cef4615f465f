"""Static IAM check: every policy of a compiled template against the IAM service
authorization reference, read through parliament (pinned; it ships the reference offline).

Every policy document (role inline policies, IAM policies, bucket, queue, topic and secret
resource policies: `gates.iam.policy_documents`; and each Lambda permission, as the statement
it adds to the function's resource policy) is first resolved to concrete values, as
CloudFormation would resolve it, in a made-up account and region (`gates.template.Resolver`),
so that parliament can match ARNs to resource types. Then each statement is analysed and
these are reported:

- UNKNOWN_ACTION / UNKNOWN_PREFIX: an action or service the reference does not know;
- RESOURCE_MISMATCH: an action whose required resource type matches none of the statement's
  resources (an action without a resource type matches only `"*"`), one finding per action;
- INVALID_ARN: a resource that is not a well-formed ARN (a Ref that answers a name or URL);
- UNKNOWN_CONDITION_FOR_ACTION, MISMATCHED_TYPE*, UNKNOWN_OPERATOR, MALFORMED, and the rest
  of parliament's checks, except the advice in ADVICE below;
- UNRESOLVED: an intrinsic this check cannot resolve (teach `gates.template.Resolver`).

Accepted findings are listed in gates/iam-reference-suppressions.yml, each with its reason.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from gates.findings import Finding
from gates.iam import policy_documents
from gates.template import (
    ACCOUNT,
    PARTITION,
    REGION,
    Resolver,
    Template,
    UnresolvedError,
    as_list,
    props,
    resources,
)
from gates.tools import MissingToolError

GATE = "iam-reference"
SUPPRESSIONS = Path(__file__).with_name("iam-reference-suppressions.yml")

# Parliament findings that are advice about style, not errors AWS would act on; each with
# why docflow does not report it.
ADVICE: dict[str, str] = {
    "RESOURCE_STAR": "where Resource '*' is acceptable is gates/iam.py's rule "
    "(STAR_RESOURCE_ACTIONS), which fails every other wildcard resource",
    "RESOURCE_EFFECTIVELY_STAR": "the same rule covers ARNs that are wildcards only",
}

# Parliament splits ARNs on colons; a DynamoDB stream label is a timestamp with colons
# (table/NAME/stream/2026-01-01T00:00:00.000), which would read as extra ARN parts.
_STREAM_LABEL = re.compile(r"^(arn:[^:]*:dynamodb:[^:]*:[^:]*:table/[^/]+/stream/)(.+)$")


@dataclass(frozen=True)
class Problem:
    """One parliament finding, before suppressions: where, the issue, the action if any."""

    where: str
    issue: str
    action: str | None
    detail: str

    def finding(self) -> Finding:
        return Finding(GATE, self.where, f"{self.issue}: {self.detail}")


@dataclass(frozen=True)
class Suppression:
    issue: str
    reason: str
    action: str | None = None  # fnmatch pattern, e.g. "logs:*"
    where: str | None = None  # regular expression searched in Problem.where

    def matches(self, problem: Problem) -> bool:
        if problem.issue != self.issue:
            return False
        if self.action is not None and not fnmatchcase(problem.action or "", self.action):
            return False
        return self.where is None or re.search(self.where, problem.where) is not None


def load_suppressions(path: Path = SUPPRESSIONS) -> list[Suppression]:
    """The repository's accepted findings; each entry must say why."""
    entries = yaml.safe_load(path.read_text()) or []
    found: list[Suppression] = []
    for index, entry in enumerate(entries):
        unknown = set(entry) - {"issue", "action", "where", "reason"}
        if unknown or not entry.get("issue") or not str(entry.get("reason") or "").strip():
            raise ValueError(
                f"{path.name} entry {index}: needs `issue` and a `reason`, optionally "
                f"`action` and `where` (got {sorted(entry)})"
            )
        found.append(Suppression(**entry))
    return found


def _parliament() -> Any:
    # parliament 1.6.4 imports pkg_resources (setuptools<81 pinned for it), which warns on
    # import, and leaves its data files open; neither is docflow's to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import parliament
        except ImportError as exc:
            raise MissingToolError(
                "parliament missing: run `make venv` (requirements-dev.txt pins it)"
            ) from exc
    return parliament


def normalise_resource(arn: str) -> str:
    """An ARN as parliament can split it: colons inside a DynamoDB stream label become dots."""
    match = _STREAM_LABEL.match(arn)
    return match.group(1) + match.group(2).replace(":", ".") if match else arn


def _normalised(statement: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(statement)
    for key in ("Resource", "NotResource"):
        if key in out:
            out[key] = [
                normalise_resource(r) if isinstance(r, str) else r for r in as_list(out[key])
            ]
    return out


def _action_of(finding: Any) -> str | None:
    location = finding.location if isinstance(finding.location, Mapping) else {}
    text = location.get("string")
    if finding.issue in {"UNKNOWN_ACTION", "UNKNOWN_PREFIX"} and isinstance(text, str):
        return text
    if finding.issue == "UNKNOWN_CONDITION_FOR_ACTION":
        match = re.search(r"for action (\S+)$", str(finding.detail))
        return match.group(1) if match else None
    return None


def _problems_of(where: str, finding: Any, statement: Mapping[str, Any]) -> Iterator[Problem]:
    if finding.issue in ADVICE:
        return
    location = finding.location if isinstance(finding.location, Mapping) else {}
    if finding.issue == "RESOURCE_MISMATCH":
        named = ", ".join(str(r) for r in as_list(statement.get("Resource", []))) or "none"
        for item in finding.detail:
            action, needed = item["action"], item["required_format"]
            need = (
                'it has no resource type: only Resource "*" matches'
                if needed == "*"
                else f"it needs a resource like {needed}"
            )
            yield Problem(
                where,
                finding.issue,
                action,
                f"{action} matches no resource ({need}); the statement names {named}",
            )
        return
    detail = finding.detail or _title(finding.issue)
    subject = location.get("string")
    text = f"{detail} ({subject})" if subject and str(subject) not in str(detail) else str(detail)
    yield Problem(where, finding.issue, _action_of(finding), text)


def _title(issue: str) -> str:
    title = _parliament().config.get(issue, {}).get("title")
    return str(title).strip() if title else issue


def _document_problems(parliament: Any, where: str, document: Mapping[str, Any]) -> list[Problem]:
    statements = [
        _normalised(s) if isinstance(s, Mapping) else s
        for s in as_list(document.get("Statement", []))
    ]
    body = {**document, "Statement": statements}
    policy = parliament.analyze_policy_string(json.dumps(body), ignore_private_auditors=True)
    found: list[Problem] = []
    # policy.findings holds the document's own (Version, duplicate Sid) and every statement's.
    per_statement = {id(f) for analysed in policy.statements for f in analysed.findings}
    for finding in policy.findings:
        if id(finding) not in per_statement:
            found += _problems_of(where, finding, {})
    for index, (statement, analysed) in enumerate(zip(statements, policy.statements, strict=False)):
        for finding in analysed.findings:
            found += _problems_of(f"{where} statement {index}", finding, statement)
    return found


def _lambda_permission(resolver: Resolver, body: Mapping[str, Any]) -> dict[str, Any]:
    """An AWS::Lambda::Permission as the statement Lambda adds to the function's policy."""
    principal = resolver.resolve(body.get("Principal"))
    service = isinstance(principal, str) and principal.endswith(".amazonaws.com")
    function = resolver.resolve(body.get("FunctionName"))  # a name, or an ARN
    if isinstance(function, str) and not function.startswith("arn:"):
        function = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{function}"
    conditions: dict[str, Any] = {}
    if "SourceArn" in body:
        conditions["ArnLike"] = {"aws:SourceArn": resolver.resolve(body["SourceArn"])}
    if "SourceAccount" in body:
        conditions["StringEquals"] = {"aws:SourceAccount": resolver.resolve(body["SourceAccount"])}
    statement = {
        "Effect": "Allow",
        "Principal": {"Service" if service else "AWS": principal},
        "Action": resolver.resolve(body.get("Action")),
        "Resource": function,
        **({"Condition": conditions} if conditions else {}),
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def _documents(template: Template) -> Iterator[tuple[str, Mapping[str, Any] | UnresolvedError]]:
    """(where, resolved document) for every policy, or the intrinsic that could not be."""
    resolver = Resolver(template)
    for where, document in policy_documents(template):
        if isinstance(document, str):  # a resource policy may be given as JSON text
            document = json.loads(document)
        if isinstance(document, Mapping):
            try:
                yield where, resolver.resolve(document)
            except UnresolvedError as exc:
                yield where, exc
    for rid, res in resources(template, "AWS::Lambda::Permission").items():
        try:
            yield f"{rid} (function policy)", _lambda_permission(resolver, props(res))
        except UnresolvedError as exc:
            yield f"{rid} (function policy)", exc


def problems(template: Template) -> list[Problem]:
    """Every parliament finding in the template's policies, suppressions not applied."""
    parliament = _parliament()
    found: list[Problem] = []
    for where, document in _documents(template):
        if isinstance(document, UnresolvedError):
            detail = f"{document}: teach gates.template.Resolver"
            found.append(Problem(where, "UNRESOLVED", None, detail))
        else:
            found += _document_problems(parliament, where, document)
    return found


def check(template: Template, suppressions: Iterable[Suppression] | None = None) -> list[Finding]:
    """Findings not accepted by a suppression (the repository's list by default)."""
    accepted = list(load_suppressions() if suppressions is None else suppressions)
    return [p.finding() for p in problems(template) if not any(s.matches(p) for s in accepted)]
