"""The processing state machine's definition as data, for tests.

`definition(stage)` reads stepfunctions/processing.yml the way osls and
serverless-step-functions would for `stage`: `${self:custom.config.*}` from config/<stage>.yml,
`Ref: <function>` as the function's ARN (as the plugin inlines it).
`compiled_definition(path)` reads it from a template `sls package` produced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.support import ROOT, load_template_fragment

ACCOUNT = "123456789012"
REGION = "us-east-1"
_VARIABLE = re.compile(r"\$\{self:custom\.config\.([\w.]+)\}")


def function_arn(function: str, prefix: str = "docflow-test") -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{prefix}-{function}"


def _resolve(value: Any, config: dict[str, Any], prefix: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return function_arn(value["Ref"], prefix)
        return {k: _resolve(v, config, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, config, prefix) for v in value]
    if isinstance(value, str):
        whole = _VARIABLE.fullmatch(value)
        if whole:
            found: Any = config
            for part in whole.group(1).split("."):
                found = found[part]
            return found
        assert "${" not in value, f"unresolved variable in {value!r}"
    return value


def state_machine(stage: str = "local", prefix: str = "docflow-test") -> dict[str, Any]:
    """The stateMachines entry of stepfunctions/processing.yml, resolved for `stage`."""
    config = yaml.safe_load((ROOT / "config" / f"{stage}.yml").read_text())
    raw = load_template_fragment("stepfunctions/processing.yml")
    machine = dict(raw)
    machine["definition"] = _resolve(raw["definition"], config, prefix)
    return machine


def definition(stage: str = "local", prefix: str = "docflow-test") -> dict[str, Any]:
    return dict(state_machine(stage, prefix)["definition"])


def compiled_definition(template_path: Path) -> dict[str, Any]:
    """The processing definition from a compiled CloudFormation template (its Fn::Sub body)."""
    template = json.loads(template_path.read_text())
    machine = template["Resources"]["ProcessingStateMachine"]
    body = machine["Properties"]["DefinitionString"]
    if isinstance(body, dict):
        sub = body["Fn::Sub"]
        body = sub[0] if isinstance(sub, list) else sub
    text = re.sub(
        r"\$\{AWS::(\w+)\}",
        lambda m: {"Partition": "aws", "Region": REGION, "AccountId": ACCOUNT}.get(
            m.group(1), m.group(1)
        ),
        body,
    )
    assert "${" not in text, "the definition references more than pseudo parameters"
    return _without_default_query_language(json.loads(text))


def _without_default_query_language(value: Any) -> Any:
    """The plugin writes `"QueryLanguage": "JSONPath"` (the default) on every state."""
    if isinstance(value, dict):
        return {
            k: _without_default_query_language(v)
            for k, v in value.items()
            if not (k == "QueryLanguage" and v == "JSONPath")
        }
    if isinstance(value, list):
        return [_without_default_query_language(v) for v in value]
    return value


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, nested Map/Parallel states included."""
    for name, state in states.items():
        yield name, state
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            yield from all_states(processor["States"])
        if state.get("Type") == "Parallel":
            for branch in state["Branches"]:
                yield from all_states(branch["States"])


def error_names(states: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for _, state in all_states(states):
        for clause in [*state.get("Retry", []), *state.get("Catch", [])]:
            names.update(clause["ErrorEquals"])
    return names
