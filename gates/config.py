"""Stage configuration: schema validation and the differences between two stages.

The schema (config/schema.json) is the same file the stage-controls plugin validates with
ajv inside `sls`; this module validates with jsonschema so the gate runs without Node.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from gates.findings import Finding

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
SCHEMA_PATH = CONFIG_DIR / "schema.json"
STAGES = ("local", "dev", "prod")

_MISSING = object()


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text())
    Draft7Validator.check_schema(schema)
    return schema


def load_stage(stage: str, config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    path = config_dir / f"{stage}.yml"
    if not path.is_file():
        raise FileNotFoundError(f"stage {stage!r}: no configuration file {path}")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"stage {stage!r}: {path} must hold a mapping of keys to values")
    return data


def validate_stage(
    stage: str,
    config: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    function_names: frozenset[str] | None = None,
) -> list[Finding]:
    """Findings for one stage's configuration; each names the stage, the key and what to fix.

    `function_names`, when given, is the set of functions serverless.yml defines: keys of
    `reservedConcurrency` and the entries of `canary.functions` must name one of them.
    """
    validator = Draft7Validator(dict(schema if schema is not None else load_schema()))
    where = _where(stage)
    findings = [
        Finding("config", where, _describe(error))
        for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    ]
    shapes_valid = not findings
    problems = _name_problems(stage, config, function_names)
    # Cross-key rules, once the shapes are right.
    if shapes_valid:
        problems += _cold_start_problems(config)
    return findings + [Finding("config", where, p) for p in problems]


def _name_problems(
    stage: str, config: Mapping[str, Any], function_names: frozenset[str] | None
) -> list[str]:
    """Keys that must name the stage or serverless.yml's functions and do not."""
    found = []
    tags = config.get("tags")
    if isinstance(tags, Mapping) and "stage" in tags and tags["stage"] != stage:
        found.append(
            f"key tags.stage: expected {stage!r} (the stage's name; its budget filters "
            f"on it), got {tags['stage']!r}"
        )
    if function_names is None:
        return found
    functions = ", ".join(sorted(function_names))
    reserved = config.get("reservedConcurrency")
    if isinstance(reserved, Mapping):
        # Every function is bounded as the stage decides: a reservation or an explicit null
        # (none, or an SQS consumer bounded by its event source's maximumConcurrency).
        found += [
            f"key reservedConcurrency.{name}: missing; expected an integer 1-1000, "
            "or null for no reservation (every function is listed)"
            for name in sorted(function_names - set(reserved))
        ]
        found += [
            f"key reservedConcurrency.{name}: expected the name of a function ({functions}), "
            f"got {name!r}"
            for name in sorted(set(reserved) - function_names)
        ]
    canary = config.get("canary")
    if isinstance(canary, Mapping):
        found += [
            f"key canary.functions: expected names of functions ({functions}), got {name!r}"
            for name in canary.get("functions") or []
            if name not in function_names
        ]
    return found


def _cold_start_problems(config: Mapping[str, Any]) -> list[str]:
    """The rules between keys that the schema cannot say (lib/coldstart.js says the same)."""
    shifted = list((config.get("canary") or {}).get("functions") or [])
    reserved = config.get("reservedConcurrency") or {}
    found = []
    for name, setting in (config.get("coldStart") or {}).items():
        if name not in shifted:
            found.append(
                f"key coldStart.{name}: expected a function in canary.functions "
                f"({', '.join(shifted) or 'none'}): provisioned concurrency and SnapStart "
                "apply to the alias of published versions"
            )
        provisioned = setting.get("provisionedConcurrency")
        if provisioned and reserved.get(name) is not None and provisioned > reserved[name]:
            found.append(
                f"key coldStart.{name}.provisionedConcurrency: expected at most "
                f"reservedConcurrency.{name} ({reserved[name]}), got {provisioned}"
            )
    return found


def _where(stage: str) -> str:
    """The user's file, as the plugin names it: `config/dev.yml (stage dev)`."""
    return f"config/{stage}.yml (stage {stage})"


def _key(path: Any) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _describe(error: ValidationError) -> str:
    """One line: the key, the expected value (from the schema's description), what was found."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    key = _key(error.absolute_path)
    if error.validator == "required":
        missing = str(error.message).split("'")[1]
        sub = schema.get("properties", {}).get(missing, {})
        expected = sub.get("description") or _expected_from(sub) or "a value"
        where = f"{key}.{missing}" if error.absolute_path else missing
        return f"key {where}: missing; expected {expected}"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        return f"key {key}: {error.message}; expected only: {allowed}"
    expected = schema.get("description") or _expected_from(schema) or str(error.validator)
    if error.validator == "enum":
        # The description says what the values mean; the list says which ones to write.
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        return f"key {key}: expected {expected}, got {error.instance!r}; allowed: {allowed}"
    return f"key {key}: expected {expected}, got {error.instance!r} ({error.message})"


def _expected_from(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "type" in schema:
        return f"a value of type {schema['type']}"
    return ""


def validate_all(
    stages: tuple[str, ...] = STAGES,
    config_dir: Path = CONFIG_DIR,
    function_names: frozenset[str] | None = None,
) -> list[Finding]:
    schema = load_schema(config_dir / "schema.json")
    findings: list[Finding] = []
    for stage in stages:
        try:
            config = load_stage(stage, config_dir)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            findings.append(Finding("config", _where(stage), str(exc)))
            continue
        findings.extend(validate_stage(stage, config, schema, function_names))
    return findings


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted keys to leaf values; lists are leaves (they are compared whole)."""
    if isinstance(value, Mapping) and value:
        for key in value:
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def diff_stages(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every key whose value differs; `_MISSING` if absent."""
    left, right = dict(flatten(a)), dict(flatten(b))
    return [
        (key, left.get(key, _MISSING), right.get(key, _MISSING))
        for key in sorted(left.keys() | right.keys())
        if left.get(key, _MISSING) != right.get(key, _MISSING)
    ]


def format_diff(name_a: str, name_b: str, rows: list[tuple[str, Any, Any]]) -> str:
    def show(value: Any) -> str:
        return "(absent)" if value is _MISSING else json.dumps(value)

    if not rows:
        return f"{name_a} and {name_b} have the same configuration"
    width = max(len("key"), *(len(key) for key, _, _ in rows))
    col = max(len(name_a), *(len(show(v)) for _, v, _ in rows))
    lines = [f"{'key':<{width}}  {name_a:<{col}}  {name_b}"]
    lines += [f"{key:<{width}}  {show(va):<{col}}  {show(vb)}" for key, va, vb in rows]
    return "\n".join(lines)
