"""Secret gate: no secret value in a template, a function's environment or a stage config.

Environment variables carry secret *names*; values are fetched at run time (shared.secrets).
The gate fails on
- a variable whose name says secret (PASSWORD, TOKEN, API_KEY, SECRET, ...) holding a literal
  that is not a Secrets Manager / SSM name or an ARN;
- any variable whose value looks like key material (long, random-looking);
- a known credential format anywhere in the template or config (AWS access key ids,
  private keys, GitHub / Slack / Stripe tokens, JWTs);
- a Secrets Manager secret whose value is written in the template.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gates.findings import Finding
from gates.template import Template, props, resources, walk_strings

_SECRETISH_NAME = re.compile(
    r"PASSW(OR)?D|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY|SIGNING_?KEY",
    re.IGNORECASE,
)
# A Secrets Manager or SSM parameter name: lower-case path segments, at least one slash.
_SECRET_REFERENCE = re.compile(r"^(arn:[^\s]+|/?[a-z0-9_.@-]+(/[a-z0-9_.@-]+)+)$")
_KNOWN_FORMATS: dict[str, re.Pattern[str]] = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"),
}
_KEY_MATERIAL = re.compile(r"^[A-Za-z0-9+/=_-]{32,}$")


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_like_key_material(value: str) -> bool:
    return bool(_KEY_MATERIAL.match(value)) and entropy(value) >= 3.5


def check_environment(where: str, variables: Mapping[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for name, value in variables.items():
        if not isinstance(value, str):
            continue  # Ref / GetAtt / Sub: a reference, not a value
        if _SECRETISH_NAME.search(name) and value and not _SECRET_REFERENCE.match(value):
            found.append(
                Finding(
                    "secrets",
                    f"{where} environment {name}",
                    "holds a literal value; store it in Secrets Manager and pass the "
                    "secret's name (shared.secrets fetches it at run time)",
                )
            )
        elif _looks_like_key_material(value):
            found.append(
                Finding(
                    "secrets",
                    f"{where} environment {name}",
                    "looks like key material (long, random); pass a secret name instead",
                )
            )
    return found


def scan_text(where: str, text: str) -> list[Finding]:
    return [
        Finding("secrets", where, f"contains what looks like a {kind}")
        for kind, pattern in _KNOWN_FORMATS.items()
        if pattern.search(text)
    ]


def check(template: Template) -> list[Finding]:
    found: list[Finding] = []
    for rid, res in resources(template, "AWS::Lambda::Function").items():
        variables = props(res).get("Environment", {}).get("Variables", {})
        if isinstance(variables, Mapping):
            found += check_environment(rid, variables)
    for rid, res in resources(template, "AWS::SecretsManager::Secret").items():
        if "SecretString" in props(res):
            found.append(
                Finding(
                    "secrets",
                    rid,
                    "SecretString is written in the template; use GenerateSecretString "
                    "and set the value out of band",
                )
            )
    for path, text in walk_strings(template):
        found += scan_text(f"template {path}", text)
    return found


def check_files(paths: list[Path]) -> list[Finding]:
    found: list[Finding] = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            found += scan_text(f"{path.name}:{number}", line)
    return found
