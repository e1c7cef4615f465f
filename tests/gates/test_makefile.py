"""The Makefile: `make help` lists every target, and `make clean` stops the local stack first."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make(*args: str) -> str:
    return subprocess.run(  # noqa: S603 - make with fixed arguments
        ["make", "--no-print-directory", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _phony_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    targets: set[str] = set()
    for line in re.findall(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE):
        targets.update(line.split())
    return targets


def test_make_help_lists_every_target_with_a_description() -> None:
    listed = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^  make (\S+)\s+(.+)$", _make("help"), flags=re.MULTILINE)
    }

    assert _phony_targets() - set(listed) == set()
    assert all(text.strip() for text in listed.values())
    assert {"down", "deploy", "stage-diff", "gates", "clean"} <= set(listed)


def test_make_clean_stops_the_local_stack_before_removing_its_state() -> None:
    steps = _make("-n", "clean").splitlines()

    down = next(i for i, step in enumerate(steps) if "localcloud down" in step)
    remove = next(
        i for i, step in enumerate(steps) if step.startswith("rm -rf") and ".local" in step
    )
    assert down < remove


def _until_started(pid: int) -> None:
    """Until ps shows the program's command line (empty while the process is being exec'd)."""
    for _ in range(100):
        shown = subprocess.run(  # noqa: S603 - ps with fixed arguments
            ["ps", "-ww", "-o", "command=", "-p", str(pid)],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if "localcloud" in shown:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not start")


def test_make_down_without_the_venv_still_stops_the_local_stack(tmp_path: Path) -> None:
    """A removed .venv must not orphan the server its pid file names."""
    server = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "-m", "localcloud", "serve"]
    )
    try:
        _until_started(server.pid)
        (tmp_path / ".local").mkdir()
        (tmp_path / ".local" / "localcloud.pid").write_text(f"{server.pid}\n")
        (tmp_path / ".nvmrc").write_text((ROOT / ".nvmrc").read_text())

        stopped = subprocess.run(  # noqa: S603 - make with fixed arguments
            ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "down"],  # noqa: S607
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

        assert (stopped.returncode, stopped.stdout.strip()) == (
            0,
            f"localcloud: stopped (pid {server.pid})",
        ), stopped.stderr
        assert server.wait(timeout=10) is not None
        assert list((tmp_path / ".local").iterdir()) == []
    finally:
        server.kill()
        server.wait()
