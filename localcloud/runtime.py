"""Where the local Lambda runtime comes from: Python 3.12 and the runtime's boto3."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

PYTHON_VERSION = "3.12"
# What Lambda's python3.12 runtime ships in /var/runtime besides the runtime client itself.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
RUNTIME_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python_dateutil",
    "urllib3",
    "six",
)


class RuntimeMissingError(RuntimeError):
    """Python 3.12, the Lambda runtime, is not installed where localcloud looks for it."""


@cache
def python312() -> str:
    """The Python 3.12 interpreter: pyenv's 3.12.1 first (these machines), then PATH."""
    try:
        found = subprocess.run(
            ["pyenv", "which", "python3.12"],
            env={**os.environ, "PYENV_VERSION": "3.12.1"},
            capture_output=True,
            text=True,
            check=False,
        )
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    except FileNotFoundError:
        pass
    on_path = shutil.which("python3.12")
    if on_path:
        return on_path
    raise RuntimeMissingError(
        "Python 3.12 (the Lambda runtime) was not found: neither `PYENV_VERSION=3.12.1 pyenv which "
        "python3.12` nor `python3.12` on PATH. Install it (pyenv install 3.12, or your OS package)."
    )


def runtime_dir(root: Path) -> Path:
    """A directory holding only what Lambda's /var/runtime provides: boto3 and its dependencies.

    It links to this environment's copies, so a function that imports anything else (a library
    missing from its package or layer) fails here as it would on Lambda.
    """
    import boto3  # the server's own copy, pinned in requirements-dev.txt

    site_packages = Path(boto3.__file__).resolve().parent.parent
    target = root / "runtime" / f"python{PYTHON_VERSION}"
    target.mkdir(parents=True, exist_ok=True)
    names = list(RUNTIME_PACKAGES)
    for distribution in RUNTIME_DISTRIBUTIONS:
        names += [p.name for p in site_packages.glob(f"{distribution}-*.dist-info")]
    for name in names:
        link = target / name
        source = site_packages / name
        if source.exists() and not link.exists():
            with contextlib.suppress(FileExistsError):  # another process linked it first
                link.symlink_to(source)
    return target
