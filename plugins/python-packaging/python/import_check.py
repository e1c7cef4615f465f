"""Imports each packaged handler the way Lambda would, from the built artifacts only.

For every function: unpack its zip into task/ and its layers, in order, into opt/; then start
Python 3.12 isolated (-I -S -B: no user or site packages, no PYTHON* variables, no bytecode
written) with sys.path as on Lambda (/var/task, the layer's python paths, then the runtime's
boto3 stack), the function's environment and no AWS credentials, and import the handler.
A missing module, a stripped *.dist-info, a syntax error or a settings error at cold start
fails the build instead of the first invocation.

Shared objects are checked against the function architecture (ELF machine). When that
architecture is not the host's (arm64 packages built on x86_64), native modules cannot be
loaded here: an import that stops at one is reported as incomplete, not as a failure.

Usage: python3.12 import_check.py SPEC.json; prints one JSON line per function.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

# The packaging plugin's repack.py, beside this file (on sys.path as the script's directory).
from repack import UNZIPPED_LIMIT, RepackError, unzipped_bytes

ELF_MACHINES = {62: "x86_64", 183: "arm64"}
HOST_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
FOREIGN_SUFFIX = {
    "x86_64": ".cpython-312-x86_64-linux-gnu.so",
    "arm64": ".cpython-312-aarch64-linux-gnu.so",
}
TIMEOUT_SECONDS = 120

# Runs inside the isolated interpreter. argv[1]: JSON {paths, module, attribute, distributions}
BOOTSTRAP = r"""
import importlib, json, sys, time, traceback
from importlib import metadata
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]
result = {"ok": False}
start = time.perf_counter()
try:
    module = importlib.import_module(spec["module"])
    handler = getattr(module, spec["attribute"], None)
    if not callable(handler):
        raise AttributeError(
            f"module {spec['module']} has no callable {spec['attribute']!r}"
        )
    missing = []
    for name in spec["distributions"]:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        raise ImportError("no installed metadata (*.dist-info) for: " + ", ".join(missing))
    result = {"ok": True}
except BaseException as exc:
    result = {
        "ok": False,
        "error": f"{type(exc).__name__}: {exc}",
        "missing": getattr(exc, "name", None),
        "traceback": "".join(
            line for line in traceback.format_exception(exc)
            if "<frozen importlib" not in line and 'File "<string>"' not in line
        ),
    }
result["seconds"] = round(time.perf_counter() - start, 4)
result["modules"] = len(sys.modules)
outside = sorted(
    name for name, mod in list(sys.modules.items())
    if getattr(mod, "__file__", None)
    and not any(
        str(mod.__file__).startswith(p) for p in spec["paths"] + [sys.prefix, sys.base_prefix]
    )
)
result["outside"] = outside
print(json.dumps(result))
"""


class CheckError(Exception):
    pass


def _extract(archive: str, into: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as source:
            source.extractall(into)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CheckError(f"cannot unpack {archive}: {exc}") from exc


def _elf_architecture(path: Path) -> str | None:
    with open(path, "rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), f"machine {header[18]}")


def _wrong_architecture(root: Path, lambda_root: str, expected: str) -> list[str]:
    """Shared objects under root not built for `expected`, named by their path on Lambda."""
    wrong = []
    for library in sorted(root.rglob("*.so*")):
        if not library.is_file():
            continue
        found = _elf_architecture(library)
        if found is not None and found != expected:
            wrong.append(
                f"{lambda_root}/{library.relative_to(root).as_posix()} is built for {found}"
            )
    return wrong


def _runtime_stack(site_packages: str, names: list[str], into: Path) -> None:
    """Links the boto3 stack the Lambda runtime provides (from a local environment) into `into`."""
    into.mkdir()
    for name in names:
        try:
            dist = next(iter(metadata.distributions(name=name, path=[site_packages])))
        except StopIteration as exc:
            raise CheckError(
                f"{name} (provided by the Lambda runtime) is not installed in {site_packages}: "
                "run `make venv`, or point DOCFLOW_RUNTIME_SITE_PACKAGES at a site-packages "
                "directory holding boto3"
            ) from exc
        tops = {Path(str(file)).parts[0] for file in dist.files or []}
        for top in tops:
            source = Path(site_packages) / top
            if top.endswith(".dist-info") or source.exists():
                target = into / top
                if not target.exists() and source.exists():
                    target.symlink_to(source)


def _classify_incomplete(
    result: dict[str, Any], roots: list[Path], architecture: str
) -> str | None:
    missing = result.get("missing")
    if not missing:
        return None
    relative = Path(*missing.split("."))
    suffix = FOREIGN_SUFFIX[architecture]
    for root in roots:
        candidate = root / relative.parent / f"{relative.name}{suffix}"
        if candidate.exists():
            return f"{missing} ({candidate.name})"
    return None


class Workspace:
    """One scratch directory per run: layers unpacked once per distinct layer list, and the
    runtime's boto3 stack linked once; each function's code unpacked afresh."""

    def __init__(self, root: Path, spec: dict[str, Any]) -> None:
        self.root = root
        self.spec = spec
        self._opts: dict[tuple[str, ...], Path] = {}
        self._runtime: Path | None = None
        self._count = 0

    def runtime(self) -> Path:
        if self._runtime is None:
            self._runtime = self.root / "runtime"
            _runtime_stack(
                self.spec["runtimeSitePackages"], self.spec["runtimeDistributions"], self._runtime
            )
        return self._runtime

    def opt(self, layers: list[str]) -> Path:
        key = tuple(layers)
        if key not in self._opts:
            opt = self.root / f"opt{len(self._opts)}"
            opt.mkdir()
            for layer in layers:  # in order: a later layer overwrites, as on Lambda
                _extract(layer, opt)
            self._opts[key] = opt
        return self._opts[key]

    def task(self, archive: str) -> Path:
        self._count += 1
        task = self.root / f"task{self._count}"
        task.mkdir()
        _extract(archive, task)
        return task


def check_function(function: dict[str, Any], workspace: Workspace, host: str) -> dict[str, Any]:
    spec = workspace.spec
    architecture = function["architecture"]
    size = sum(unzipped_bytes(Path(a)) for a in [function["archive"], *function["layers"]])
    if size > UNZIPPED_LIMIT:
        return {
            "function": function["name"],
            "status": "skipped",
            "error": f"not unpacked: code and layers unzip to {size:,} bytes, past Lambda's "
            f"{UNZIPPED_LIMIT:,} (see the deployment limits)",
        }
    task = workspace.task(function["archive"])
    opt = workspace.opt(function["layers"])
    runtime = workspace.runtime()
    paths = [
        str(task),
        str(opt / "python" / "lib" / "python3.12" / "site-packages"),
        str(opt / "python"),
        str(runtime),
    ]
    module, _, attribute = function["handler"].rpartition(".")
    wrong = _wrong_architecture(task, "/var/task", architecture) + _wrong_architecture(
        opt, "/opt", architecture
    )
    if wrong:
        return {
            "function": function["name"],
            "status": "failed",
            "error": f"shared objects do not match the function architecture {architecture}: "
            + "; ".join(wrong[:5]),
        }
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": spec["region"],
        "AWS_DEFAULT_REGION": spec["region"],
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": function["functionName"],
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function["memory"]),
        "AWS_EC2_METADATA_DISABLED": "true",
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        **function["environment"],
    }
    request = {
        "paths": paths,
        "module": module.replace("/", "."),
        "attribute": attribute,
        "distributions": function["distributions"],
    }
    # the interpreter is the configured Python 3.12; the code is this file's BOOTSTRAP
    completed = subprocess.run(  # noqa: S603
        [spec["python"], "-I", "-S", "-B", "-c", BOOTSTRAP, json.dumps(request)],
        cwd=task,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {
            "function": function["name"],
            "status": "failed",
            "error": f"the interpreter exited with {completed.returncode}: "
            + (completed.stderr.strip()[-2000:] or "no output"),
        }
    if result["ok"]:
        status = "ok"
    elif architecture != host and (
        native := _classify_incomplete(result, [task, opt / "python"], architecture)
    ):
        status = "incomplete"
        result["error"] = (
            f"stopped at native module {native} built for {architecture}, which this "
            f"{host} host cannot load; the import check is complete on a {architecture} host"
        )
    else:
        status = "failed"
    report = {"function": function["name"], "status": status, "seconds": result["seconds"]}
    for key in ("error", "traceback", "outside"):
        if result.get(key):
            report[key] = result[key]
    return report


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    host = HOST_ARCHITECTURES.get(platform.machine().lower(), platform.machine())
    failed = False
    with tempfile.TemporaryDirectory(prefix="import-check-") as work:
        workspace = Workspace(Path(work), spec)
        for function in spec["functions"]:
            try:
                report = check_function(function, workspace, host)
            except (CheckError, RepackError, subprocess.TimeoutExpired) as exc:
                report = {"function": function["name"], "status": "failed", "error": str(exc)}
            failed = failed or report["status"] == "failed"
            print(json.dumps(report), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
