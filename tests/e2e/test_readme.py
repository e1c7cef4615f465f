"""The README's API examples run as written against the local stack: every bash block the
README marks `<!-- README example run by tests/e2e/test_readme.py -->`, in order, in one shell,
from a directory that looks like a checkout after `make up` (`.local/stack.json`, `.venv`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- README example run by tests/e2e/test_readme.py -->"


def readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    pattern = re.escape(MARKER) + r"\n```bash\n(.*?)```"
    return re.findall(pattern, text, flags=re.DOTALL)


def test_the_readme_marks_the_curl_and_the_client_examples() -> None:
    blocks = readme_examples()
    assert len(blocks) == 2
    assert all(route in blocks[0] for route in ("/documents", "/decision", "--form-string"))
    assert "docflow_client" in blocks[1]


def test_the_readme_api_examples_run_as_written(local_stack: LocalStack, tmp_path: Path) -> None:
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "stack.json").write_text(json.dumps(local_stack.description))
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    script = "set -euo pipefail\n" + "\n".join(readme_examples())

    finished = subprocess.run(  # noqa: S603 - bash running the README's own examples
        ["/bin/bash", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    assert "upload: 204" in lines
    decided = json.loads(next(line for line in lines if '"decision":' in line))
    assert (decided["decision"], decided["status"]) == ("approved", "processing")
    assert any(
        line.endswith("processed (approved by k-demo-alice-approve-local)") for line in lines
    )
