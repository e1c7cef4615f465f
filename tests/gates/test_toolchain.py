"""Node 22 everywhere: .nvmrc, package.json engines, the Makefile's pinned node, CI.

The version lives once, in .nvmrc; the others must agree with it. Under `make` (MAKELEVEL is
set), the node first on PATH, which npm, sls and the gates run on, must be that version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from gates.tools import ROOT

NVMRC = (ROOT / ".nvmrc").read_text().strip()


def _major(version: str) -> int:
    return int(version.lstrip("v").split(".")[0])


def _admits(engines: str, version: str) -> bool:
    """Enough of npm's range grammar for this field: space-separated >=, <, ^ comparators."""
    wanted = tuple(int(p) for p in version.lstrip("v").split("."))
    for comparator in engines.split():
        match = re.fullmatch(r"(>=|<|\^)(\d+)(?:\.(\d+))?(?:\.(\d+))?", comparator)
        assert match, f"engines comparator {comparator!r} not understood"
        operator = match.group(1)
        bound = tuple(int(g or 0) for g in match.groups()[1:])
        if operator == ">=" and wanted < bound:
            return False
        if operator == "<" and wanted >= bound:
            return False
        if operator == "^" and (wanted < bound or wanted[0] != bound[0]):
            return False
    return True


def test_nvmrc_pins_one_exact_node_22() -> None:
    assert re.fullmatch(r"22\.\d+\.\d+", NVMRC), NVMRC


def test_engines_require_node_22_and_refuse_20() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    engines = package["engines"]["node"]
    assert lock["packages"][""]["engines"]["node"] == engines
    assert _admits(engines, NVMRC)
    assert not _admits(engines, "20.20.2")
    assert "engine-strict=true" in (ROOT / ".npmrc").read_text().split()


def test_makefile_takes_the_version_from_nvmrc_with_a_recorded_sha512() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "NODE_VERSION := $(shell cat .nvmrc)" in makefile
    assert re.search(r"^NODE_SHA512\s*:= [0-9a-f]{128}$", makefile, re.MULTILINE)
    assert "sha512sum --check" in makefile
    assert re.search(r"^export PATH\s*:= \$\(CURDIR\)/\$\(NODE_DIR\)/bin:", makefile, re.MULTILINE)


def _setup_node_steps() -> list[dict[str, object]]:
    steps: list[dict[str, object]] = []
    for path in (ROOT / ".github").rglob("*.yml"):
        document = yaml.safe_load(path.read_text()) or {}
        found = [*document.get("runs", {}).get("steps", [])]
        for job in (document.get("jobs") or {}).values():
            found += job.get("steps", [])
        steps += [s for s in found if str(s.get("uses", "")).startswith("actions/setup-node@")]
    return steps


def test_ci_reads_the_node_version_from_nvmrc() -> None:
    steps = _setup_node_steps()
    assert steps
    for step in steps:
        with_ = step.get("with")
        assert isinstance(with_, dict)
        assert with_.get("node-version-file") == ".nvmrc"
        assert "node-version" not in with_


@pytest.mark.skipif("MAKELEVEL" not in os.environ, reason="checks the node `make` provides")
def test_make_puts_the_pinned_node_first_on_path() -> None:
    node = shutil.which("node")
    assert node is not None
    version = subprocess.run(  # noqa: S603 - the node on PATH, fixed argument
        [node, "-v"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version == f"v{NVMRC}", f"{node} is {version}"
    assert _major(version) == 22
