"""Helpers shared by the test suites: template fragments, events, the moto-backed stack."""

from __future__ import annotations

import copy
import importlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from localcloud import runtime

ROOT = Path(__file__).resolve().parent.parent
EVENTS = Path(__file__).resolve().parent / "events"
# The keys that lead every log line of an invocation: Powertools for AWS Lambda's, in its
# order, then docflow's (the event's own fields follow).
LOG_LINE_KEYS = (
    "level",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "correlation_id",
    "document_id",
)


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: `!Ref x` becomes {"Ref": x}, `!Sub s` {"Fn::Sub": s}..."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template_fragment(relative: str) -> dict[str, Any]:
    """A resources/*.yml fragment as data, intrinsics kept as their JSON forms."""
    with (ROOT / relative).open() as handle:
        return dict(yaml.load(handle, Loader=_CfnLoader))  # noqa: S506 - SafeLoader subclass


def table_definition(relative: str, logical_id: str, name: str) -> dict[str, Any]:
    """CreateTable arguments for a table declared in a template fragment (the deployed schema)."""
    properties = copy.deepcopy(
        load_template_fragment(relative)["Resources"][logical_id]["Properties"]
    )
    keep = {
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
        "BillingMode",
        "StreamSpecification",
    }
    definition = {k: v for k, v in properties.items() if k in keep}
    if "StreamSpecification" in definition:
        # CloudFormation enables the stream by declaring it; the API wants it said.
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            **definition["StreamSpecification"],
        }
    definition["TableName"] = name
    return definition


def event(name: str, **overrides: Any) -> dict[str, Any]:
    """A real event payload from tests/events/<name>.json with top-level overrides."""
    data = json.loads((EVENTS / f"{name}.json").read_text())
    data.update(overrides)
    return dict(data)


def fresh_import(module: str) -> ModuleType:
    """Import a handler module anew, so it reads the environment the test set up."""
    sys.modules.pop(module, None)
    return importlib.import_module(module)


def log_writes(functions: str = "*") -> dict[str, Any]:
    """The statement that lets Lambda write `functions`' logs (IAM is enforced locally)."""
    return {
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {
            "Fn::Sub": "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
            f"/aws/lambda/{functions}:*"
        },
    }


def lambda_role(*statements: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """An AWS::IAM::Role that Lambda may assume, granting `statements` and nothing else."""
    properties: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        },
    }
    if name:
        properties["RoleName"] = name
    if statements:
        properties["Policies"] = [
            {"PolicyName": "grants", "PolicyDocument": {"Statement": list(statements)}}
        ]
    return {"Type": "AWS::IAM::Role", "Properties": properties}


class Clock:
    """A clock that stands still until the test moves it (`clock.now += 5`)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def refusal(call: Callable[[], Any]) -> tuple[int, str, str]:
    """How an AWS API refused `call`: the HTTP status, the error code and the message."""
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def python312_or_skip() -> str:
    """The Lambda runtime's interpreter; the test is skipped, saying what is missing, without it."""
    try:
        return runtime.python312()
    except runtime.RuntimeMissingError as exc:
        pytest.skip(str(exc))


def checkout_copy(into: Path) -> Path:
    """The checkout's files without its build state, sharing its installed tools (node_modules,
    the virtual environments, the provisioned Node): somewhere to run `sls`, which writes
    `.serverless/` in the service directory, beside runs in the working tree."""
    build_state = shutil.ignore_patterns(
        *(".git", "node_modules", ".venv*", ".tools", ".package", ".serverless", ".local"),
        *(".requirements*", ".hypothesis", ".artifacts", ".bench", "*cache*"),
    )
    shutil.copytree(ROOT, into, ignore=build_state)
    for installed in ("node_modules", ".venv", ".venv-checkov", ".tools"):
        if (ROOT / installed).exists():
            (into / installed).symlink_to(ROOT / installed)
    return into


def packaged(stage: str) -> Path | None:
    """The directory `sls package --stage STAGE` filled under DOCFLOW_PACKAGED_DIR (`make test`
    sets it to the gates' packages, `.package/gates`), or None when it is not set."""
    reuse = os.environ.get("DOCFLOW_PACKAGED_DIR")
    return Path(reuse) / stage if reuse else None


def package_sources(into: Path) -> Path:
    """What a function package is built from (handlers, docflow, shared and the packaging
    plugin's repack.py), copied from the checkout into `into`."""
    for name in ("handlers", "docflow", "shared"):
        shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__"))
    repack = Path("plugins/python-packaging/python/repack.py")
    (into / repack).parent.mkdir(parents=True)
    shutil.copy(ROOT / repack, into / repack)
    return into


def wait_for(condition: Callable[[], Any], timeout: float = 120.0, interval: float = 0.25) -> Any:
    """Poll until condition() is truthy: events flow asynchronously, as in AWS."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f} s: {condition}")
        time.sleep(interval)
