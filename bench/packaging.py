"""Package sizes against the Lambda limits, and cold import time with and without bytecode.

Sizes: the project is packaged (`sls package --stage S`) in a scratch copy of the working
tree, so the checkout's own .serverless is untouched; the figures are those the
deployment-limits plugin measured (zipped, unzipped with layers, against 50 MB and 250 MB).

Cold import: for the stage built for this host's architecture, each function is unpacked with
its layers twice, as packaged (bytecode compiled ahead, hash-based .pyc) and with every
__pycache__ removed, and its handler module is imported in fresh isolated Python 3.12
processes (-I -S -B: nothing written back, as on Lambda's read-only code directory), with the
function's environment and the runtime's boto3 linked in and imported before the timer
starts (the timer covers the packaged artifacts). Both variants alternate within one run;
medians of N; ratio = without / with.

    python -m bench.packaging [--runs N] [--stages local,dev] [--functions api,intake]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.common import copy_checkout, median, write_results

HOST_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
    platform.machine().lower()
]
# What the Lambda runtime brings is imported first, untimed (it carries its own bytecode
# on Lambda and in this environment alike): the timer covers the packaged artifacts only.
RUNTIME_MODULES = ["boto3", "botocore.config", "botocore.exceptions"]
IMPORT = (
    "import importlib, json, sys, time\n"
    "sys.path[:0] = json.loads(sys.argv[1])\n"
    "for name in json.loads(sys.argv[3]):\n"
    "    importlib.import_module(name)\n"
    "started = time.perf_counter()\n"
    "importlib.import_module(sys.argv[2])\n"
    "print((time.perf_counter() - started) * 1000)\n"
)


def _python312() -> str:
    if sys.version_info[:2] != (3, 12):
        raise SystemExit(
            f"bench.packaging needs Python 3.12 (the Lambda runtime), not {sys.version}"
        )
    return sys.executable


def _package(service: Path, stage: str) -> dict[str, Any]:
    shutil.rmtree(service / ".serverless", ignore_errors=True)
    env = {
        **os.environ,
        "DOCFLOW_PYTHON312": os.environ.get("DOCFLOW_PYTHON312", _python312()),
        "DOCFLOW_RUNTIME_SITE_PACKAGES": sysconfig.get_paths()["purelib"],
        "SLS_TELEMETRY_DISABLED": "1",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [str(service / "node_modules" / ".bin" / "sls"), "package", "--stage", stage],
        cwd=service,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = round(time.perf_counter() - started, 1)
    build = service / ".serverless"
    limits_file, packaging_file = build / "deployment-limits.json", build / "python-packaging.json"
    result: dict[str, Any] = {"packaged": done.returncode == 0, "package_seconds": seconds}
    if done.returncode != 0:
        result["error"] = (done.stdout + done.stderr).strip().splitlines()[-12:]
    if limits_file.exists():
        result["limits"] = json.loads(limits_file.read_text())
    if packaging_file.exists():
        result["packaging"] = json.loads(packaging_file.read_text())
    return result


def _sizes(limits: dict[str, Any]) -> dict[str, Any]:
    bounds = limits["limits"]

    def share(value: int | None, limit: int) -> float | None:
        return None if value is None else round(100 * value / limit, 2)

    functions = {
        fn["name"]: {
            "zipped_bytes": fn["zippedBytes"],
            "zipped_pct_of_limit": share(fn["zippedBytes"], bounds["ZIPPED_BYTES"]),
            "code_unzipped_bytes": fn["codeUnzippedBytes"],
            "unzipped_with_layers_bytes": fn["unzippedBytes"],
            "unzipped_pct_of_limit": share(fn["unzippedBytes"], bounds["UNZIPPED_BYTES"]),
            "layers": len(fn["layers"]),
        }
        for fn in limits["functions"]
    }
    layers = {
        layer["name"]: {
            "zipped_bytes": layer["zippedBytes"],
            "zipped_pct_of_limit": share(layer["zippedBytes"], bounds["ZIPPED_BYTES"]),
            "unzipped_bytes": layer["unzippedBytes"],
            "unzipped_pct_of_limit": share(layer["unzippedBytes"], bounds["UNZIPPED_BYTES"]),
            "largest": layer["largest"],
        }
        for layer in limits["layers"]
    }
    return {
        "limits": {
            "zipped_bytes": bounds["ZIPPED_BYTES"],
            "unzipped_bytes": bounds["UNZIPPED_BYTES"],
            "resources": bounds["RESOURCES_PER_STACK"],
        },
        "functions": functions,
        "layers": layers,
        "resources": limits["resourceCount"],
        "findings": [
            f"{f['severity']}: {f['subject']}: {f.get('figure', '')}" for f in limits["findings"]
        ],
    }


def _unpack(archives: list[Path], into: Path, bytecode: bool) -> Path:
    into.mkdir(parents=True)
    for archive in archives:
        with zipfile.ZipFile(archive) as source:
            for info in source.infolist():
                if not bytecode and "__pycache__/" in info.filename:
                    continue
                source.extract(info, into)
    return into


def _runtime_stack(into: Path, names: list[str]) -> Path:
    """The boto3 stack the Lambda runtime provides, linked from this environment."""
    from importlib import metadata

    site = Path(sysconfig.get_paths()["purelib"])
    into.mkdir()
    for name in names:
        for top in {Path(str(f)).parts[0] for f in metadata.distribution(name).files or []}:
            if (site / top).exists() and not (into / top).exists():
                (into / top).symlink_to(site / top)
    return into


def _time_import(python: str, paths: list[Path], module: str, env: dict[str, str]) -> float:
    done = subprocess.run(
        [
            *(python, "-I", "-S", "-B", "-c", IMPORT),
            *(json.dumps([str(p) for p in paths]), module, json.dumps(RUNTIME_MODULES)),
        ],
        cwd=paths[0],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "no output")
    return float(done.stdout.strip().splitlines()[-1])


def _cold_imports(
    service: Path, packaging: dict[str, Any], runs: int, only: set[str]
) -> dict[str, Any]:
    python = _python312()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-packaging-") as work:
        base = Path(work)
        runtime = _runtime_stack(base / "runtime", packaging["runtimeDistributions"])
        for fn in packaging["functions"]:
            if only and fn["name"] not in only:
                continue
            trees = {}
            for variant, bytecode in (("with_bytecode", True), ("without_bytecode", False)):
                root = base / fn["name"] / variant
                task = _unpack([service / fn["archive"]], root / "task", bytecode)
                opt = _unpack([service / layer for layer in fn["layers"]], root / "opt", bytecode)
                trees[variant] = [
                    task,
                    opt / "python" / "lib" / "python3.12" / "site-packages",
                    opt / "python",
                    runtime,
                ]
            env = {
                "PATH": "/usr/bin:/bin",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_LAMBDA_FUNCTION_NAME": fn["functionName"],
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn["memory"]),
                **fn["environment"],
            }
            module = fn["handler"].rpartition(".")[0].replace("/", ".")
            samples: dict[str, list[float]] = {"with_bytecode": [], "without_bytecode": []}
            try:
                for run in range(runs):
                    order = list(samples) if run % 2 == 0 else list(reversed(samples))
                    for variant in order:
                        samples[variant].append(_time_import(python, trees[variant], module, env))
            except RuntimeError as exc:
                results[fn["name"]] = {"error": str(exc)}
                continue
            with_ms = median(samples["with_bytecode"])
            without_ms = median(samples["without_bytecode"])
            results[fn["name"]] = {
                "with_bytecode_ms": with_ms,
                "without_bytecode_ms": without_ms,
                "ratio_without_over_with": round(without_ms / with_ms, 2),
            }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per variant")
    parser.add_argument("--stages", default="local,dev", help="stages to package")
    parser.add_argument("--functions", default="", help="time only these functions")
    args = parser.parse_args(argv)
    stages = [stage for stage in args.stages.split(",") if stage]
    only = {name for name in args.functions.split(",") if name}
    results: dict[str, Any] = {"stages": {}, "cold_import": None}
    with tempfile.TemporaryDirectory(prefix="bench-packaging-service-") as work:
        service = copy_checkout(Path(work))
        for stage in stages:
            print(f"packaging {stage}...", file=sys.stderr)
            built = _package(service, stage)
            entry: dict[str, Any] = {
                "packaged": built["packaged"],
                "package_seconds": built["package_seconds"],
            }
            if "error" in built:
                entry["error"] = built["error"]
            if "limits" in built:
                entry.update(_sizes(built["limits"]))
            packaging = built.get("packaging")
            if packaging:
                entry["architecture"] = packaging["functions"][0]["architecture"]
                entry["import_check"] = {r["function"]: r["status"] for r in packaging["reports"]}
                if results["cold_import"] is None and entry["architecture"] == HOST_ARCHITECTURE:
                    print(f"timing cold imports ({stage}, {args.runs} runs)...", file=sys.stderr)
                    results["cold_import"] = {
                        "stage": stage,
                        "architecture": entry["architecture"],
                        "runs": args.runs,
                        "method": "median ms to import the handler module (function zip and "
                        "layer) in a fresh python3.12 -I -S -B process, the runtime's boto3 "
                        "imported before the timer; both variants alternate in one run",
                        "functions": _cold_imports(service, packaging, args.runs, only),
                    }
            results["stages"][stage] = entry
    timed = [
        t for t in (results["cold_import"] or {}).get("functions", {}).values() if "error" not in t
    ]
    if timed:
        with_total = sum(t["with_bytecode_ms"] for t in timed)
        without_total = sum(t["without_bytecode_ms"] for t in timed)
        results["cold_import"]["all_functions"] = {
            "with_bytecode_ms": round(with_total, 3),
            "without_bytecode_ms": round(without_total, 3),
            "ratio_without_over_with": round(without_total / with_total, 2),
        }
    path = write_results("packaging", results)
    print(path)


if __name__ == "__main__":
    main()
