"""Stopping the local stack: whatever is left of its state files, no server is orphaned and
no unrelated process is signalled."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud import server
from tests.support import wait_for


@pytest.fixture
def lookalike() -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line names localcloud, as `python -m localcloud serve` does."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "localcloud", "serve"]
    )
    yield process
    process.kill()
    process.wait()


def _exited(process: subprocess.Popen[bytes]) -> bool:
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_a_server_whose_info_file_is_gone_is_stopped_by_its_pid_file(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    (tmp_path / server.PID_FILE).write_text(f"{lookalike.pid}\n")

    assert server.stop_background(tmp_path) is True
    assert _exited(lookalike)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_running_server_is_stopped_and_its_files_removed(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    (tmp_path / server.PID_FILE).write_text(f"{lookalike.pid}\n")
    (tmp_path / server.INFO_FILE).write_text(json.dumps({"pid": lookalike.pid}))
    assert server.running(tmp_path) == {"pid": lookalike.pid}

    assert server.stop_background(tmp_path) is True
    assert _exited(lookalike)
    assert (server.running(tmp_path), sorted(p.name for p in tmp_path.iterdir())) == (None, [])


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to tell programs apart")
def test_a_stale_pid_now_used_by_another_program_is_left_alone(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "120"])  # noqa: S607 - coreutils' sleep
    try:
        # Until its exec is done, the child's command line is empty or its parent's: a process
        # being started, which the server's checks rightly take for one of theirs.
        cmdline = Path(f"/proc/{other.pid}/cmdline")
        wait_for(lambda: cmdline.read_bytes().startswith(b"sleep"), timeout=10, interval=0.01)
        (tmp_path / server.PID_FILE).write_text(f"{other.pid}\n")
        (tmp_path / server.INFO_FILE).write_text(json.dumps({"pid": other.pid}))

        assert server.running(tmp_path) is None
        assert server.stop_background(tmp_path) is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
