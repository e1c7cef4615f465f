"""Rewrites Lambda zips with bytecode compiled ahead, reproducibly.

Lambda's code directories (/var/task, /opt) are read-only, so without bytecode in the zip
every cold start compiles every imported module again. This compiles each `.py` into
`__pycache__/*.cpython-312.pyc` with hash-based invalidation (`checked-hash`: valid whatever
the file timestamps, so zips can carry fixed ones), and rewrites the archive so the same
inputs give the same bytes: entries sorted, timestamps fixed at 1980-01-01, permissions
normalised, stale bytecode from the build machine dropped, code objects naming the path the
file will have on Lambda rather than the build directory.

Usage: python3.12 repack.py SPEC.json   (SPEC: {"archives": [{"path": ..., "root": ...}]})
Prints one JSON line per archive: path, entries, compiled, failed (files that do not compile).
"""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

RUNTIME = (3, 12)
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 6
UNZIPPED_LIMIT = 262_144_000  # Lambda: code and layers, unzipped


class RepackError(Exception):
    """An archive cannot be read or rewritten; the message names it and the cause."""


def _is_stale_bytecode(name: str) -> bool:
    path = PurePosixPath(name)
    return path.suffix in {".pyc", ".pyo"} or "__pycache__" in path.parts


def _extract(archive: Path, into: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as source:
            for info in source.infolist():
                if info.is_dir() or _is_stale_bytecode(info.filename):
                    continue
                target = into / info.filename
                if not target.resolve().is_relative_to(into.resolve()):
                    raise RepackError(
                        f"{archive}: entry {info.filename!r} escapes the archive root"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                with source.open(info) as reader, open(target, "wb") as writer:
                    shutil.copyfileobj(reader, writer)
                mode = info.external_attr >> 16
                executable = bool(mode & 0o111)
                target.chmod(0o755 if executable else 0o644)
    except (OSError, zipfile.BadZipFile) as exc:
        raise RepackError(f"cannot read {archive}: {exc}") from exc


def _compile(tree: Path, root: str) -> tuple[int, list[str]]:
    """Compiles every .py under tree; code objects name root/<relative path>."""
    compiled = 0
    failed: list[str] = []
    for source in sorted(tree.rglob("*.py")):
        relative = source.relative_to(tree).as_posix()
        try:
            py_compile.compile(
                str(source),
                dfile=f"{root.rstrip('/')}/{relative}",
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
                quiet=1,
            )
            compiled += 1
        except py_compile.PyCompileError:
            # Some wheels ship templates or test data named *.py; Python would fail on them
            # only if they were imported, so they stay source-only.
            failed.append(relative)
    return compiled, failed


def _write(tree: Path, archive: Path) -> int:
    files = sorted(
        (path.relative_to(tree).as_posix(), path) for path in tree.rglob("*") if path.is_file()
    )
    handle, temporary = tempfile.mkstemp(dir=archive.parent, prefix=f".{archive.name}.")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as target:
            for name, path in files:
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.create_system = 3  # unix, so external_attr carries the mode
                mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, path.read_bytes(), compresslevel=COMPRESS_LEVEL)
        os.chmod(temporary, 0o644)
        # replaces a symlink (serverless-python-requirements' cache) by the rewritten file
        os.replace(temporary, archive)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(files)


def unzipped_bytes(archive: Path) -> int:
    try:
        with zipfile.ZipFile(archive) as source:
            return sum(info.file_size for info in source.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise RepackError(f"cannot read {archive}: {exc}") from exc


def repack(archive: Path, root: str) -> dict[str, Any]:
    size = unzipped_bytes(archive)
    if size > UNZIPPED_LIMIT:
        # never unpack what Lambda would refuse (or a zip bomb): the deployment-limits
        # plugin reports it with the figures
        return {"path": str(archive), "skipped": f"unzips to {size:,} bytes, past Lambda's limit"}
    with tempfile.TemporaryDirectory(prefix="repack-") as work:
        tree = Path(work)
        _extract(archive, tree)
        compiled, failed = _compile(tree, root)
        entries = _write(tree, archive)
    return {"path": str(archive), "entries": entries, "compiled": compiled, "failed": failed}


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != RUNTIME:
        found = ".".join(map(str, sys.version_info[:3]))
        print(
            f"repack: bytecode must be compiled by Python {RUNTIME[0]}.{RUNTIME[1]}, the Lambda "
            f"runtime, but this is Python {found} ({sys.executable}); set "
            "custom.pythonRequirements.pythonBin to a python3.12",
            file=sys.stderr,
        )
        return 2
    spec = json.loads(Path(argv[1]).read_text())
    try:
        for item in spec["archives"]:
            print(json.dumps(repack(Path(item["path"]), item["root"])), flush=True)
    except RepackError as exc:
        print(f"repack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
