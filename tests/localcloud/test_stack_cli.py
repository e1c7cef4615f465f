"""`python -m localcloud env`: the exports a shell needs to reach the local stack."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud import runtime, stack
from tests.localcloud.conftest import ROOT


def _exports(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if not line.startswith("export "):
            continue
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


def _bash(state_dir: Path, then: str, **environ: str) -> subprocess.CompletedProcess[str]:
    script = f'eval "$({shlex.quote(sys.executable)} -m localcloud env --state-dir {state_dir})"'
    return subprocess.run(  # noqa: S603 - bash with a script built here
        ["/bin/bash", "-c", f"{script} && {then}"],
        cwd=ROOT,
        env={"HOME": str(state_dir), **environ},
        capture_output=True,
        text=True,
        check=False,
    )


def _in_bash(state_dir: Path, then: str, **environ: str) -> str:
    shown = _bash(state_dir, then, DOCFLOW_PYTHON312=runtime.python312(), **environ)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def test_env_extends_the_path_where_it_is_evaluated(tmp_path: Path) -> None:
    """The venv (and the Node of .nvmrc, where make unpacked it) first, then the shell's own
    PATH as it is when evaluated, not as it was when the exports were printed."""
    path = _in_bash(tmp_path, 'echo "$PATH"', PATH="/usr/bin:/bin")

    first, *rest = path.split(":")
    assert first == str(Path(sys.executable).parent)
    assert rest[-2:] == ["/usr/bin", "/bin"]


def test_env_clears_a_profile_that_would_win_over_the_local_keys(tmp_path: Path) -> None:
    shown = _in_bash(
        tmp_path,
        'echo "${AWS_PROFILE-unset} ${AWS_SESSION_TOKEN-unset} $AWS_ACCESS_KEY_ID"',
        PATH="/usr/bin:/bin",
        AWS_PROFILE="prod-admin",
        AWS_SESSION_TOKEN="token-of-a-real-account",
    )
    assert shown == "unset unset localcloud"


@pytest.mark.skipif(
    shutil.which("python3.12", path="/usr/bin:/bin") is not None, reason="3.12 is on /usr/bin"
)
def test_env_without_python_312_says_so_and_stops_the_shells_and(tmp_path: Path) -> None:
    shown = _bash(tmp_path, "echo ran", PATH="/usr/bin:/bin")

    assert (shown.returncode, shown.stdout) == (1, "")
    assert shown.stderr.startswith("localcloud: Python 3.12 (the Lambda runtime) was not found")


def test_a_failed_deploy_shows_its_progress_then_the_error_itself(tmp_path: Path) -> None:
    """osls prints its error block before more output (a tail could miss it): the failure
    names the error, and each line was passed on as it came."""
    fake = tmp_path / "sls"
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'Deploying docflow to stage local'\n"
        "echo 'Error:'\n"
        "echo 'CREATE_FAILED: ApiLambdaFunction (AWS::Lambda::Function)'\n"
        "echo 'Resource handler returned message: \"Memory size 99999 is over 10240\"'\n"
        "echo\n"
        "echo 'View the full error: https://example.invalid'\n"
        + "echo 'a line of noise'\n" * 40
        + "exit 1\n"
    )
    fake.chmod(0o755)
    seen: list[str] = []

    with pytest.raises(stack.DeployError) as failed:
        stack.deploy("http://127.0.0.1:1", progress=seen.append, sls=fake)

    assert str(failed.value) == (
        "sls deploy failed:\n"
        "CREATE_FAILED: ApiLambdaFunction (AWS::Lambda::Function)\n"
        'Resource handler returned message: "Memory size 99999 is over 10240"'
    )
    assert seen[:2] == ["Deploying docflow to stage local", "Error:"]
    assert len(seen) == 45
