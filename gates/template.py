"""Reading compiled CloudFormation templates: resources by type, and what intrinsics point at."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

Template = Mapping[str, Any]
Resource = Mapping[str, Any]

TEMPLATE_NAME = "cloudformation-template-update-stack.json"


def load(path: Path) -> dict[str, Any]:
    """A compiled template: a directory written by `sls package --package DIR`, or the file."""
    if path.is_dir():
        path = path / TEMPLATE_NAME
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def resources(template: Template, *types: str) -> dict[str, Resource]:
    found = template.get("Resources", {})
    return {rid: res for rid, res in found.items() if not types or res.get("Type") in types}


def props(resource: Resource) -> Mapping[str, Any]:
    value = resource.get("Properties", {})
    return value if isinstance(value, Mapping) else {}


def target_id(value: Any) -> str | None:
    """The logical id a Ref or Fn::GetAtt points at, else None."""
    if isinstance(value, Mapping):
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            if isinstance(att, list) and att:
                return str(att[0])
            if isinstance(att, str):
                return att.split(".")[0]
    return None


def text_of(value: Any) -> str | None:
    """A string's literal text; Fn::Sub's template; Fn::Join with `${...}` for non-literals."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub if isinstance(sub, str) else str(sub[0]) if sub else None
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            if isinstance(parts, list):
                return str(sep).join(text_of(p) or "${?}" for p in parts)
    return None


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a structure with its JSON path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def queue_name(resource: Resource) -> str | None:
    return text_of(props(resource).get("QueueName"))


def dead_letter_queue_ids(template: Template) -> set[str]:
    """Queues that hold what failed elsewhere: named *-dlq, a redrive policy's target, an
    on-failure destination (async invocation, stream mapping) or a function's DeadLetterConfig.
    """
    queues = resources(template, "AWS::SQS::Queue")
    ids = {rid for rid, res in queues.items() if (queue_name(res) or "").endswith("-dlq")}
    pointers: list[Any] = []
    for res in resources(template).values():
        body = props(res)
        redrive = body.get("RedrivePolicy")
        if isinstance(redrive, Mapping):
            pointers.append(redrive.get("deadLetterTargetArn"))
        destination = body.get("DestinationConfig")
        if isinstance(destination, Mapping):
            pointers.append((destination.get("OnFailure") or {}).get("Destination"))
        dead_letter = body.get("DeadLetterConfig")
        if isinstance(dead_letter, Mapping):
            pointers.append(dead_letter.get("TargetArn"))
    ids |= {target for target in map(target_id, pointers) if target in queues}
    return ids


def function_ids_by_name(template: Template) -> dict[str, str]:
    """Deployed function name (literal FunctionName) -> logical id."""
    names: dict[str, str] = {}
    for rid, res in resources(template, "AWS::Lambda::Function").items():
        name = text_of(props(res).get("FunctionName"))
        if name:
            names[name] = rid
    return names
