"""The stage-guard plugin: no implicit stage, the local stage on loopback only, and the user's
config/<stage>.yml checked (file, key, allowed values) before osls validates serverless.yml.

The checks run in node on synthetic input; two real `sls` runs show that the plugin refuses
before osls does any work (no package, no AWS call, no osls schema message).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.gates.node import ROOT, node

SLS = ROOT / "node_modules" / ".bin" / "sls"


def _checks(command: str, options: dict[str, Any], env: dict[str, str], service_dir: Path) -> Any:
    script = (
        "const {stageChecks} = require('./plugins/stage-guard');"
        "const [command, options, env, serviceDir] = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(stageChecks({command, options, env, serviceDir})));"
    )
    return node(script, [command, options, env, str(service_dir)])


@pytest.fixture
def service(tmp_path: Path) -> Path:
    """A copy of config/ (the only thing the checks read)."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path


LOCAL = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}


@pytest.mark.parametrize("command", ["deploy", "remove", "rollback"])
def test_a_command_that_targets_a_stack_needs_an_explicit_stage(
    command: str, service: Path
) -> None:
    problems = _checks(command, {}, LOCAL, service)

    assert problems == [
        f"sls {command} needs an explicit --stage (local, dev or prod): serverless.yml has no "
        "default stage, so that a plain command never deploys to a stage you did not name"
    ]


def test_package_without_a_stage_is_allowed_and_checks_the_dev_config(service: Path) -> None:
    dev = service / "config" / "dev.yml"
    dev.write_text(re.sub(r"(?m)^logRetentionDays: .*$", "logRetentionDays: 13", dev.read_text()))

    problems = _checks("package", {}, {}, service)

    assert len(problems) == 1
    assert problems[0].startswith(
        "config/dev.yml (stage dev): key logRetentionDays: expected a retention CloudWatch Logs "
        "accepts, got 13; allowed: 1, 3, 5, 7, 14, 30,"
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"AWS_ENDPOINT_URL": "https://cloudformation.us-east-1.amazonaws.com"},
            ["AWS_ENDPOINT_URL=https://cloudformation.us-east-1.amazonaws.com is not a loopback"],
        ),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_S3": "https://s3.x"},
            ["AWS_ENDPOINT_URL_S3=https://s3.x is not a loopback"],
        ),
        ({}, ["AWS_ENDPOINT_URL is not set"]),
    ],
)
def test_the_local_stage_deploys_only_to_a_loopback_endpoint(
    env: dict[str, str], expected: list[str], service: Path
) -> None:
    problems = _checks("deploy", {"stage": "local"}, env, service)

    prefix = "the local stage deploys to the embedded AWS only: "
    assert [p.removeprefix(prefix)[: len(e)] for p, e in zip(problems, expected, strict=True)] == (
        expected
    )
    assert all(p.startswith(prefix) for p in problems)


@pytest.mark.parametrize("endpoint", ["http://localhost:4566", "http://127.0.0.1:55001"])
def test_the_local_stage_on_loopback_passes(endpoint: str, service: Path) -> None:
    assert _checks("deploy", {"stage": "local"}, {"AWS_ENDPOINT_URL": endpoint}, service) == []


def test_dev_and_prod_need_no_local_endpoint(service: Path) -> None:
    assert _checks("deploy", {"stage": "prod"}, {}, service) == []


def test_an_unknown_stage_names_the_missing_file_and_the_known_stages(service: Path) -> None:
    problems = _checks("deploy", {"stage": "qa"}, {}, service)

    assert problems == ["config/qa.yml: no such file; the stages are dev, local, prod"]


def _sls(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    return subprocess.run(  # noqa: S603 - the project's own sls
        [str(SLS), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, "SLS_TELEMETRY_DISABLED": "1", **env},
        check=False,
        timeout=120,
    )


def test_sls_deploy_without_a_stage_stops_before_any_work() -> None:
    result = _sls("deploy")

    assert result.returncode != 0
    assert "sls deploy needs an explicit --stage" in result.stdout + result.stderr
    assert "Packaging" not in result.stdout + result.stderr


def test_sls_deploy_local_against_a_remote_endpoint_stops_before_any_work() -> None:
    result = _sls("deploy", "--stage", "local", AWS_ENDPOINT_URL="https://example.com")

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "AWS_ENDPOINT_URL=https://example.com is not a loopback address" in output
    assert "Packaging" not in output


def test_a_config_mistake_names_the_users_file_before_osls_validates_serverless_yml(
    tmp_path: Path,
) -> None:
    """osls would say `functions.api.memorySize: must be <= 10240` (serverless.yml's path)."""
    for name in ("serverless.yml", "package.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("config", "plugins", "functions", "resources", "stepfunctions"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("test"))
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    dev = tmp_path / "config" / "dev.yml"
    dev.write_text(dev.read_text().replace("api: {memory: 512,", "api: {memory: 20000,", 1))

    result = subprocess.run(  # noqa: S603 - the project's own sls
        [str(SLS), "package", "--stage", "dev", "--package", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "SLS_TELEMETRY_DISABLED": "1"},
        check=False,
        timeout=120,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "config/dev.yml (stage dev): key functions.api.memory: expected MB, 128-10240, got 20000"
        in output
    )
    assert "Configuration error" not in output
    assert not (tmp_path / "out").exists()
