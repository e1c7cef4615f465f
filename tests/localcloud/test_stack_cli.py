"""`python -m localcloud env`: the exports a shell needs to reach the local stack."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from localcloud import stack
from tests.localcloud.conftest import ROOT


def _exports(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        found[name] = shlex.split(value)[0]
    return found


def test_env_points_at_the_default_endpoint_when_no_stack_runs(tmp_path: Path) -> None:
    exports = _exports(stack.shell_exports(tmp_path))
    assert exports["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert (exports["AWS_ACCESS_KEY_ID"], exports["AWS_REGION"]) == ("localcloud", "us-east-1")
    assert exports["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_env_is_a_command_whose_output_a_shell_can_eval(tmp_path: Path) -> None:
    script = (
        f'eval "$({shlex.quote(sys.executable)} -m localcloud env --state-dir {tmp_path})" '
        '&& echo "$AWS_ENDPOINT_URL $AWS_SECRET_ACCESS_KEY"'
    )
    shown = subprocess.run(  # noqa: S603 - bash with a script built here
        ["/bin/bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "http://127.0.0.1:4566 localcloud"
