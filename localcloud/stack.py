"""`make up` / `make down`: the local stack, deployed with `sls deploy --stage local`.

`up` starts the embedded AWS if it is not running, deploys (a second `up` redeploys), makes
sure the two demo owners' API keys are in the stage's API-key secret, and writes what a client
needs to `.local/stack.json`, printing the same as a short table.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import yaml

from localcloud import changes, runtime, server

ROOT = Path(__file__).resolve().parent.parent
STACK_FILE = "stack.json"
KEYS_FILE = "demo-api-keys.json"  # survives `down`, so the demo owners keep their keys
REGION = "us-east-1"
# Two separate owners, so the demo and the tests can show that one owner cannot see the other's
# documents; each owner has a submit-only key and an approve-only key, since the key that
# submitted a document may not decide on it (separation of duties). Keys are created once per
# state directory and put back after a restart (moto keeps everything in memory; the stage
# secret is re-created empty by each fresh deploy).
DEMO_OWNERS = ("demo-alice", "demo-bob")
DEMO_KEYS = tuple(
    (f"{owner}-{role}", owner, (role,)) for owner in DEMO_OWNERS for role in ("submit", "approve")
)


class DeployError(RuntimeError):
    pass


def _client(service: str, endpoint_url: str, region: str = REGION) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="localcloud",
        aws_secret_access_key="localcloud",  # noqa: S106 - the emulator accepts any credentials
    )


def stack_client(stack: dict[str, Any], service: str) -> Any:
    """A client of `service` on the local stack that stack.json describes."""
    return _client(service, stack["endpoint_url"], stack["region"])


# A profile or session token left in the environment would win over (or be sent with) the
# emulator's dummy keys: SDK v3 skips static keys while AWS_PROFILE is set.
_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN")


def _tool_dirs() -> list[str]:
    """The venv's bin (python, the packaging's pip) and, where `make` unpacked it, the Node of
    .nvmrc (osls' plugins require Node 22; a machine's node may be older)."""
    dirs = [str(Path(sys.executable).parent)]
    nvmrc = ROOT / ".nvmrc"
    if nvmrc.exists():
        node_bin = ROOT / ".tools" / f"node-{nvmrc.read_text().strip()}" / "bin"
        if (node_bin / "node").exists():
            dirs.append(str(node_bin))
    return dirs


def deploy_environment(endpoint_url: str) -> dict[str, str]:
    """What `sls` needs to deploy to the embedded AWS instead of an AWS account."""
    inherited = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    return {
        **inherited,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "localcloud",
        "AWS_SECRET_ACCESS_KEY": "localcloud",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "DOCFLOW_PYTHON312": os.environ.get("DOCFLOW_PYTHON312") or runtime.python312(),
        "PATH": os.pathsep.join([*_tool_dirs(), os.environ.get("PATH", "")]),
        "SLS_TELEMETRY_DISABLED": "1",
        "AWS_PAGER": "",
    }


def shell_exports(state_dir: Path) -> str:
    """Lines for `eval` in a shell: what `deploy_environment` gives `sls`, for the user's own
    `sls`, `aws` and boto3 commands (the running stack's endpoint, else the default one).

    PATH is extended where it is evaluated (the venv and Node first), not frozen as it is here.
    """
    import shlex

    info = server.running(state_dir)
    endpoint = info["endpoint_url"] if info else "http://127.0.0.1:4566"
    wanted = deploy_environment(endpoint)
    names = (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "DOCFLOW_PYTHON312",
        "SLS_TELEMETRY_DISABLED",
        "AWS_PAGER",
    )
    lines = [f"unset {' '.join(_CLEARED)}"]
    lines += [f"export {name}={shlex.quote(wanted[name])}" for name in names]
    lines.append(f'export PATH={shlex.quote(os.pathsep.join(_tool_dirs()))}:"$PATH"')
    return "\n".join(lines)


def deploy(
    endpoint_url: str,
    stage: str = "local",
    progress: Callable[[str], None] | None = None,
    sls: Path = ROOT / "node_modules" / ".bin" / "sls",
    package: Path | None = None,
) -> float:
    """Run `sls deploy --stage <stage>` against the embedded AWS; returns seconds taken.

    With `package`, osls deploys that `sls package --package` directory as it is (no packaging
    step), as a pipeline deploys the artifact it built. With `progress`, each line osls prints
    is passed on as it comes (quiet otherwise). A failure raises `DeployError` with osls' own
    error block, which a tail of its output can miss.
    """
    started = time.monotonic()
    process = subprocess.Popen(
        [str(sls), "deploy", "--stage", stage, *(["--package", str(package)] if package else [])],
        cwd=ROOT,
        env=deploy_environment(endpoint_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None  # stdout=PIPE above
    output = []
    for line in process.stdout:
        output.append(line.rstrip("\n"))
        if progress is not None and line.strip():
            progress(line.rstrip())
    if process.wait() != 0:
        raise DeployError("sls deploy failed:\n" + "\n".join(error_block(output) or output[-30:]))
    return time.monotonic() - started


def error_block(lines: list[str], limit: int = 40) -> list[str]:
    """The error osls printed (its `Error:` block), which a tail of the output may miss."""
    starts = [i for i, line in enumerate(lines) if line.strip() == "Error:"]
    if not starts:
        return []
    block = []
    for line in lines[starts[-1] + 1 :][:limit]:
        if line.startswith("View the full error"):
            break
        block.append(line)
    return [line for line in block if line.strip()]


def _stack_resources(
    endpoint_url: str, stack_name: str
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    cfn = _client("cloudformation", endpoint_url)
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    return outputs, resources


def _api_keys(endpoint_url: str, secret_name: str, previous: dict[str, Any]) -> dict[str, Any]:
    """The demo keys, present in the secret (added, or put back after a restart).

    Keyed by name (`demo-alice-submit`, ...); each entry has its key_id, key, owner and roles.
    Demo keys of an earlier layout (the ones `previous` holds under other names) leave the
    secret, so no old key with both roles keeps working.
    """
    from docflow.api.auth import hash_key, key_entry, new_key

    client = _client("secretsmanager", endpoint_url)
    value = json.loads(client.get_secret_value(SecretId=secret_name)["SecretString"])
    wanted_ids = {f"k-{name}-local" for name, _, _ in DEMO_KEYS}
    stale_ids = {
        str(entry.get("key_id"))
        for name, entry in previous.items()
        if isinstance(entry, dict) and name not in {n for n, _, _ in DEMO_KEYS}
    } - wanted_ids
    entries = value.setdefault("keys", [])
    kept = [entry for entry in entries if entry.get("key_id") not in stale_ids]
    changed = len(kept) != len(entries)
    value["keys"] = entries = kept
    stored = {entry.get("sha256") for entry in entries}
    keys: dict[str, Any] = {}
    for name, owner, roles in DEMO_KEYS:
        known = previous.get(name) or {}
        key = known.get("key") or new_key()
        key_id = f"k-{name}-local"
        if hash_key(key) not in stored:
            entries.append(key_entry(key_id, owner, key, roles))
            changed = True
        keys[name] = {"key_id": key_id, "key": key, "owner": owner, "roles": list(roles)}
    if changed:
        client.put_secret_value(SecretId=secret_name, SecretString=json.dumps(value))
    return keys


def demo_key(stack: dict[str, Any], owner: str, role: str = "submit") -> str:
    """The key of a demo owner with exactly `role` (from a `.local/stack.json` description)."""
    for entry in stack["api_keys"].values():
        if entry["owner"] == owner and entry["roles"] == [role]:
            return str(entry["key"])
    raise KeyError(f"no {role} key for owner {owner!r} in the stack description")


def describe(info: dict[str, Any], state_dir: Path, stage: str = "local") -> dict[str, Any]:
    """What a client needs, read from the deployed stack (never from serverless.yml guesses)."""
    endpoint_url = info["endpoint_url"]
    config = yaml.safe_load((ROOT / "config" / f"{stage}.yml").read_text())
    stack_name = _stack_name(stage)
    outputs, resources = _stack_resources(endpoint_url, stack_name)
    by_type: dict[str, dict[str, str]] = {}
    for resource in resources:
        if resource.get("PhysicalResourceId"):
            kind = by_type.setdefault(resource["ResourceType"], {})
            kind[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    keys_file = state_dir / KEYS_FILE
    previous = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    secret_name = config["api"]["keysSecretName"]
    api_keys = _api_keys(endpoint_url, secret_name, previous)
    keys_file.write_text(json.dumps(api_keys, indent=2) + "\n")
    keys_file.chmod(0o600)
    # On AWS the sender identity is verified once per account, outside the template (someone
    # follows the verification mail); the embedded AWS starts empty, so verify it here.
    sender = (config.get("fanout") or {}).get("notify", {}).get("sender")
    if sender:
        _client("ses", endpoint_url).verify_email_identity(EmailAddress=sender)
    machines = by_type.get("AWS::StepFunctions::StateMachine", {})
    return {
        "stage": stage,
        "stack": stack_name,
        "region": REGION,
        "endpoint_url": endpoint_url,
        "api_url": info["api_url"],
        "console_url": info.get("console_url"),
        "documents_bucket": outputs.get("DocumentsBucketName")
        or next(iter(by_type.get("AWS::S3::Bucket", {}).values()), None),
        "tables": dict(sorted(by_type.get("AWS::DynamoDB::Table", {}).items())),
        "state_machine_arn": next(iter(machines.values()), None),
        "state_machines": machines,
        "api_keys_secret": secret_name,
        "api_keys": api_keys,
        "mail_log": str(state_dir / "mail.jsonl"),
        "outputs": outputs,
    }


def table(stack: dict[str, Any]) -> str:
    rows = [
        ("AWS endpoint", stack["endpoint_url"]),
        ("HTTP API", stack["api_url"]),
        ("console", stack.get("console_url") or "-"),
        ("documents bucket", stack["documents_bucket"]),
        *((f"table {name}", physical) for name, physical in stack["tables"].items()),
        ("state machine", stack["state_machine_arn"] or "-"),
        *((f"API key {name}", entry["key"]) for name, entry in stack["api_keys"].items()),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name.ljust(width)}  {value}" for name, value in rows)


def check_config(stage: str) -> None:
    """config/<stage>.yml against config/schema.json before osls sees it (file, key, values)."""
    from gates import config as stage_config

    findings = stage_config.validate_all((stage,))
    if findings:
        raise DeployError("\n".join(f"{finding.where}: {finding.message}" for finding in findings))


class Progress:
    """`make up`'s phases, each line with the seconds since the start."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{self.elapsed():5.1f}s] {message}", flush=True)


def _stack_name(stage: str) -> str:
    service = yaml.safe_load(
        "\n".join(
            line
            for line in (ROOT / "serverless.yml").read_text().splitlines()
            if line.startswith("service:")
        )
    )["service"]
    return f"{service}-{stage}"


def _deployed_stack_id(endpoint_url: str, stack_name: str) -> str | None:
    cfn = _client("cloudformation", endpoint_url)
    try:
        (found,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except cfn.exceptions.ClientError:
        return None
    return None if str(found["StackStatus"]).startswith("DELETE") else str(found["StackId"])


def _code_sha256(endpoint_url: str) -> dict[str, str]:
    """Lambda's CodeSha256 of every deployed function, by name."""
    found: dict[str, str] = {}
    for page in _client("lambda", endpoint_url).get_paginator("list_functions").paginate():
        found.update({fn["FunctionName"]: fn["CodeSha256"] for fn in page["Functions"]})
    return found


def _update_code(
    endpoint_url: str, record: changes.Record, names: tuple[str, ...], progress: Progress
) -> None:
    """The changed functions' code replaced in place (UpdateFunctionCode), as
    `sls deploy function -f NAME` does."""
    client = _client("lambda", endpoint_url)
    for name in names:
        try:
            content, package = changes.build(ROOT, record.packages[name])
        except (OSError, zipfile.BadZipFile) as exc:
            raise DeployError(f"cannot build {name}'s package: {exc}") from exc
        try:
            answer = client.update_function_code(
                FunctionName=package.function_name, ZipFile=content
            )
        except client.exceptions.ClientError as exc:
            raise DeployError(
                f"UpdateFunctionCode {package.function_name} was refused: "
                f"{exc.response['Error'].get('Message', exc)}"
            ) from exc
        record.packages[name] = dataclasses.replace(package, code_sha256=answer["CodeSha256"])
        progress(f"{name}: code updated ({len(content) / 1024:.0f} KB zipped)")


_HOW = {
    "full": "sls deploy --stage {stage}",
    "code": "updating the changed functions' code in place",
    "none": "nothing to deploy",
}


def up(state_dir: Path, port: int, api_port: int, stage: str = "local", full: bool = False) -> int:
    """Start the embedded AWS if needed and bring the stack to what the tree says, by the
    quickest faithful way (localcloud.changes): a full deploy, code in place, or nothing."""
    progress = Progress()
    check_config(stage)
    progress(f"config/{stage}.yml checked")
    info = server.running(state_dir)
    if info is None:
        progress("starting the embedded AWS")
        info = server.start_background("127.0.0.1", port, api_port, state_dir)
        progress(f"embedded AWS at {info['endpoint_url']} (HTTP APIs at {info['api_url']})")
    else:
        progress(f"embedded AWS running at {info['endpoint_url']}")
    endpoint_url = info["endpoint_url"]
    stack_name = _stack_name(stage)
    template = changes.template_digest(ROOT)
    record = changes.Record.load(state_dir)
    plan = (
        changes.Plan("full", "asked for (--full)")
        if full
        else changes.plan(
            ROOT,
            record,
            info,
            _deployed_stack_id(endpoint_url, stack_name),
            template,
            _code_sha256(endpoint_url),
        )
    )
    progress(f"{plan.reason}: {_HOW[plan.kind].format(stage=stage)}")
    deploy_started = progress.elapsed()
    if plan.kind == "full":
        changes.forget(state_dir)  # a deploy that fails part-way leaves no record to trust
        deploy(endpoint_url, stage, progress=lambda line: progress(f"  sls | {line}"))
        stack_id = _deployed_stack_id(endpoint_url, stack_name)
        if stack_id is None:
            raise DeployError(f"sls deploy finished but the stack {stack_name} is not there")
        record = changes.after_full_deploy(
            ROOT, info, stack_id, template, _code_sha256(endpoint_url)
        )
        record.save(state_dir)
    elif plan.kind == "code":
        assert record is not None  # a code plan is made from a record
        _update_code(endpoint_url, record, plan.functions, progress)
        record.save(state_dir)
    deploy_s = progress.elapsed() - deploy_started
    stack = describe(info, state_dir, stage)
    stack["deployed"] = {"how": plan.kind, "reason": plan.reason, "functions": list(plan.functions)}
    stack["timings_s"] = {"deploy": round(deploy_s, 2), "up": round(progress.elapsed(), 2)}
    (state_dir / STACK_FILE).write_text(json.dumps(stack, indent=2) + "\n")
    progress(f"up to date ({plan.kind} deploy: {deploy_s:.1f} s); {state_dir / STACK_FILE}:")
    print(table(stack))
    print("localcloud: point sls, the AWS CLI and boto3 at it (then: npx sls info --stage local):")
    print(f"  {setup_line(state_dir)}")
    return 0


def setup_line(state_dir: Path) -> str:
    """The one line that points a shell at this stack, for `make up` to print."""
    import shlex

    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    command = f"{shlex.quote(str(python))} -m localcloud env"
    if state_dir != server.STATE_DIR:
        command += f" --state-dir {shlex.quote(str(state_dir))}"
    return f'eval "$({command})"'


def down(state_dir: Path) -> int:
    stopped = server.stop_background(state_dir)
    (state_dir / STACK_FILE).unlink(missing_ok=True)
    changes.forget(state_dir)
    print("localcloud: stopped" if stopped else "localcloud: not running")
    return 0
