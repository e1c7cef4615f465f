"""Compiled templates of every stage, packaged once per test session.

`sls package` needs no AWS account. Each stage is packaged into the session's temporary
directory (never the working tree, where someone may be packaging too). Set
DOCFLOW_PACKAGED_DIR to a directory holding <stage>/cloudformation-template-update-stack.json
(`make gates` leaves them in .package/gates) to check those instead of packaging again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates import config as stage_config
from gates import template, tools
from tests.support import packaged

STAGES = ("local", "dev", "prod")

Compiled = Callable[[str], Path]


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """stage -> path of its compiled template; packages on first use."""
    cache: dict[str, Path] = {}

    def get(stage: str) -> Path:
        if stage not in cache:
            if (reused := packaged(stage)) is not None:
                path = reused / template.TEMPLATE_NAME
                assert path.is_file(), f"DOCFLOW_PACKAGED_DIR has no template for {stage}"
            else:
                out = tmp_path_factory.mktemp(f"package-{stage}")
                ok, output = tools.package(stage, out)
                assert ok, f"sls package --stage {stage} failed:\n{output[-4000:]}"
                path = out / template.TEMPLATE_NAME
            cache[stage] = path
        return cache[stage]

    return get


@pytest.fixture
def load(compiled: Compiled) -> Callable[[str], dict[str, Any]]:
    """stage -> a fresh copy of its compiled template (tests may seed violations in it)."""

    def get(stage: str) -> dict[str, Any]:
        return copy.deepcopy(template.load(compiled(stage)))

    return get


@pytest.fixture
def write(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def put(data: dict[str, Any]) -> Path:
        path = tmp_path / "seeded-template.json"
        path.write_text(json.dumps(data))
        return path

    return put


def stage_settings(stage: str) -> dict[str, Any]:
    return stage_config.load_stage(stage)
