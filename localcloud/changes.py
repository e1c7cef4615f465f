"""What changed since the local stack was deployed, and the quickest faithful way to apply it.

`make up` deploys in one of three ways:

- full, `sls deploy --stage local`: the first time, after the embedded AWS restarted (its state
  is in memory), after `sls remove`, when an input of the template changed (serverless.yml,
  config/, functions/, resources/, stepfunctions/, plugins/, the npm or Python requirements),
  or when a function's package would gain or lose a file;
- code: only the content of files in some functions' packages changed. Those zips are built as
  `sls package` builds them (the function's `package.patterns` after the service's, then the
  packaging plugin's repack: bytecode compiled ahead, reproducible entries) and sent with
  UpdateFunctionCode, as `sls deploy function -f NAME` does, without packaging everything else;
- none: nothing changed; the running stack is left as it is.

What was deployed is recorded in `<state dir>/deployed.json`: the server it went to, the stack's
id, a digest of the template's inputs, and per function its patterns, files, a digest of their
contents and the code's SHA-256 as Lambda reports it (code changed by hand, say with
`sls deploy function`, is then noticed too).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

RECORD_FILE = "deployed.json"
# What the compiled template (and so a full deploy) depends on, besides the code.
TEMPLATE_INPUTS = (
    "serverless.yml",
    "config",
    "functions",
    "resources",
    "stepfunctions",
    "plugins",
    "package.json",
    "package-lock.json",
    "requirements.txt",
    ".nvmrc",
)
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", ".pytest_cache"})


def _files_under(root: Path, name: str) -> Iterator[Path]:
    path = root / name
    if path.is_file():
        yield path
    elif path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and not _SKIPPED_DIRS.intersection(child.relative_to(root).parts):
                yield child


def _digest(entries: Iterable[tuple[str, bytes]]) -> str:
    hasher = hashlib.sha256()
    for name, content in sorted(entries):
        hasher.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return hasher.hexdigest()


def template_digest(root: Path) -> str:
    """A digest of every input of the compiled template (names and contents)."""
    return _digest(
        (path.relative_to(root).as_posix(), path.read_bytes())
        for name in TEMPLATE_INPUTS
        for path in _files_under(root, name)
    )


# -- package patterns, as osls applies them ---------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A glob of osls' `package.patterns` as a regex: `**` any depth, `*` and `?` within one
    path segment."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def included(path: str, patterns: Sequence[str]) -> bool:
    """Whether a file is packaged: the last pattern that matches it decides (`!` excludes)."""
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _pattern_regex(pattern.removeprefix("!")).match(path):
            verdict = not negated
    return verdict


def package_files(root: Path, patterns: Sequence[str]) -> list[str]:
    """The files (relative POSIX paths) a package with these patterns holds."""
    tops = sorted(
        {
            p.split("/", 1)[0]
            for p in patterns
            if not p.startswith("!") and not any(c in p.split("/", 1)[0] for c in "*?[")
        }
    )
    found = []
    for top in tops:
        for path in _files_under(root, top):
            relative = path.relative_to(root).as_posix()
            if included(relative, patterns):
                found.append(relative)
    return sorted(found)


def _is_bytecode(name: str) -> bool:
    return name.endswith((".pyc", ".pyo")) or "__pycache__" in name.split("/")


def zip_sources(archive: bytes | Path) -> dict[str, bytes]:
    """A package's files, bytecode aside (the packaging plugin adds it)."""
    source = io.BytesIO(archive) if isinstance(archive, bytes) else archive
    with zipfile.ZipFile(source) as package:
        return {
            info.filename: package.read(info)
            for info in package.infolist()
            if not info.is_dir() and not _is_bytecode(info.filename)
        }


# -- the record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """One function's package as it was deployed."""

    function_name: str  # the deployed name: docflow-local-api
    patterns: tuple[str, ...]
    files: tuple[str, ...]
    sources: str  # digest of the files' names and contents
    code_sha256: str  # Lambda's CodeSha256 (base64) of what was deployed


@dataclass(frozen=True)
class Record:
    endpoint_url: str
    server_pid: int
    stack_id: str
    template: str
    packages: dict[str, Package] = field(default_factory=dict)

    def to_json(self) -> str:
        value = {
            "endpoint_url": self.endpoint_url,
            "server_pid": self.server_pid,
            "stack_id": self.stack_id,
            "template": self.template,
            "packages": {
                name: {
                    "function_name": p.function_name,
                    "patterns": list(p.patterns),
                    "files": list(p.files),
                    "sources": p.sources,
                    "code_sha256": p.code_sha256,
                }
                for name, p in sorted(self.packages.items())
            },
        }
        return json.dumps(value, indent=2) + "\n"

    @classmethod
    def load(cls, state_dir: Path) -> Record | None:
        try:
            value = json.loads((state_dir / RECORD_FILE).read_text())
            return cls(
                endpoint_url=str(value["endpoint_url"]),
                server_pid=int(value["server_pid"]),
                stack_id=str(value["stack_id"]),
                template=str(value["template"]),
                packages={
                    name: Package(
                        function_name=str(p["function_name"]),
                        patterns=tuple(p["patterns"]),
                        files=tuple(p["files"]),
                        sources=str(p["sources"]),
                        code_sha256=str(p["code_sha256"]),
                    )
                    for name, p in value["packages"].items()
                },
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, state_dir: Path) -> None:
        (state_dir / RECORD_FILE).write_text(self.to_json())


def forget(state_dir: Path) -> None:
    (state_dir / RECORD_FILE).unlink(missing_ok=True)


def after_full_deploy(
    root: Path,
    info: Mapping[str, Any],
    stack_id: str,
    template: str,
    code_sha256: Mapping[str, str],
) -> Record:
    """The record of what `sls deploy` just deployed, read from what it packaged
    (.serverless/serverless-state.json and the function zips next to it)."""
    state = json.loads((root / ".serverless" / "serverless-state.json").read_text())["service"]
    service_patterns = list(
        (state.get("initialServerlessConfig") or {}).get("package", {}).get("patterns", [])
    )
    packages = {}
    for name, function in state["functions"].items():
        package = function.get("package") or {}
        artifact = Path(package.get("artifact") or root / ".serverless" / f"{name}.zip")
        if not artifact.is_file() or function.get("image"):
            continue
        deployed = zip_sources(artifact)
        packages[name] = Package(
            function_name=str(function["name"]),
            patterns=tuple(service_patterns + list(package.get("patterns", []))),
            files=tuple(sorted(deployed)),
            sources=_digest(deployed.items()),
            code_sha256=code_sha256.get(str(function["name"]), ""),
        )
    return Record(
        endpoint_url=str(info["endpoint_url"]),
        server_pid=int(info["pid"]),
        stack_id=stack_id,
        template=template,
        packages=packages,
    )


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    kind: Literal["full", "code", "none"]
    reason: str
    functions: tuple[str, ...] = ()  # for "code": the functions whose code changed


def plan(
    root: Path,
    record: Record | None,
    info: Mapping[str, Any],
    stack_id: str | None,
    template: str,
    code_sha256: Mapping[str, str],
) -> Plan:
    """How to bring the running stack to what the working tree says.

    `stack_id` is the deployed stack's id (None: no stack), `code_sha256` Lambda's CodeSha256
    per deployed function name.
    """
    if record is None:
        return Plan("full", "no deploy recorded for this state directory")
    if (record.endpoint_url, record.server_pid) != (info["endpoint_url"], int(info["pid"])):
        return Plan("full", "the embedded AWS was restarted (it keeps its state in memory)")
    if stack_id is None:
        return Plan("full", "the stack is not deployed (sls remove?)")
    if stack_id != record.stack_id:
        return Plan("full", "the stack was deployed again outside make up")
    if template != record.template:
        return Plan("full", "an input of the template changed (serverless.yml, config/, ...)")
    changed = []
    for name, package in sorted(record.packages.items()):
        if package.function_name not in code_sha256:
            return Plan("full", f"the function {package.function_name} is not deployed")
        files = package_files(root, package.patterns)
        if tuple(files) != package.files:
            gained = sorted(set(files) - set(package.files))
            lost = sorted(set(package.files) - set(files))
            what = ", ".join([*(f"+{f}" for f in gained), *(f"-{f}" for f in lost)])
            return Plan("full", f"{name}'s package gains or loses files ({what})")
        sources = _digest((f, (root / f).read_bytes()) for f in files)
        if sources != package.sources or code_sha256.get(package.function_name) != (
            package.code_sha256
        ):
            changed.append(name)
    if changed:
        return Plan("code", f"code changed in {', '.join(changed)}", tuple(changed))
    return Plan("none", "nothing changed since the last deploy")


# -- building a package -----------------------------------------------------------------------


@cache
def _repack_module(root: Path) -> ModuleType:
    """The packaging plugin's own repack (plugins/python-packaging/python/repack.py)."""
    path = root / "plugins" / "python-packaging" / "python" / "repack.py"
    spec = importlib.util.spec_from_file_location("docflow_repack", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(root: Path, package: Package) -> tuple[bytes, Package]:
    """The function's zip from the working tree, as `sls package` builds it, and the record
    of it (its code SHA-256 as Lambda computes it)."""
    files = package_files(root, package.patterns)
    with tempfile.TemporaryDirectory(prefix="localcloud-package-") as work:
        archive = Path(work) / "package.zip"
        with zipfile.ZipFile(archive, "w") as raw:
            for name in files:
                raw.write(root / name, name)
        _repack_module(root).repack(archive, "/var/task")
        content = archive.read_bytes()
    sources = zip_sources(content)
    return content, Package(
        function_name=package.function_name,
        patterns=package.patterns,
        files=tuple(sorted(sources)),
        sources=_digest(sources.items()),
        code_sha256=base64.b64encode(hashlib.sha256(content).digest()).decode(),
    )
