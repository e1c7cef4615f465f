"""What every benchmark shares: fresh-process timing, medians, results files."""

from __future__ import annotations

import compileall
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def time_process(code: str, env: dict[str, str], python_args: tuple[str, ...] = ()) -> float:
    """Wall time in ms of a fresh Python process running `code` from the project root."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *python_args, "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return (time.perf_counter() - started) * 1000


def lambda_site() -> Path:
    """A site directory with what a function has on Lambda: requirements.txt and boto3.

    The development venv holds more (rich, for one, which structlog imports when present),
    so a process measured there would import what Lambda never loads. Built once per
    requirements, under .bench/ (not committed).
    """
    inputs = [ROOT / "requirements.txt", ROOT / "constraints.txt"]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in inputs)).hexdigest()[:16]
    site = ROOT / ".bench" / f"lambda-site-{digest}"
    if not (site / ".complete").exists():
        shutil.rmtree(site, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(site),
                "-r",
                str(inputs[0]),
                "-c",
                str(inputs[1]),
                "boto3",
            ],
            check=True,
        )
        compileall.compile_dir(site, quiet=1)
        (site / ".complete").touch()
    return site


def site_environment(env: dict[str, str], site: Path) -> dict[str, str]:
    """`env` for a `python -S` process that sees only `site` and the project."""
    return {**env, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}


def measure_process(
    code: str, env: dict[str, str], python_args: tuple[str, ...] = ()
) -> tuple[float, float]:
    """(wall ms, CPU ms: user + system) of a fresh Python process running `code`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *python_args, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, code)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2) + "\n")
    return path


def copy_checkout(into: Path, linked: tuple[str, ...] = ("node_modules", ".venv")) -> Path:
    """The working tree's files (tracked and new, not ignored) copied into `into`, and links
    to the environments `linked` names, so a benchmark can change and deploy its own copy."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    for name in linked:
        if (ROOT / name).exists():
            (into / name).symlink_to((ROOT / name).resolve())
    return into
