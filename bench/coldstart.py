"""Cold start of each handler and warm overhead of the shared decorator.

Init (every function of the template): fresh Python processes, interleaved, median of N.
Each process imports the function's handler module (what Lambda bills as the init phase),
then creates one boto3 client; the baseline process only imports boto3 and creates one
client. Ratio = handler / baseline, on CPU time (user + system of the process: stable on a
loaded machine) and on wall time; the target is <= 1.10.

Cold (api and intake): the same with a first invocation that needs no AWS call, with tracing
off and on (with tracing on, the first invocation imports the X-Ray SDK and patches botocore,
as in Lambda with active tracing: LocalSampler, no sampling client); CPU and wall time. The
issue's bound for tracing on is <= 1.25.

Warm: in one process, a decorated no-op handler against the same bare function.

Instructions (`--section instructions`, not in a default run: about 20 s of valgrind per
function): the init variants once each under valgrind's cachegrind, counting the
instructions each process executes. CPU time on a shared 2-core machine moved by +-5 % between
runs of the same code here, as much as the margin the target leaves; the instruction count is
the same on every run (PYTHONHASHSEED fixed), so it says whether a change made init lighter.
It counts user-space work only (no system calls, no cache misses): a guide beside the CPU
ratio, not a replacement. Two floors come first: structlog alone and the shared package alone.
Written to bench/results/coldstart_instructions.json.

    python -m bench.coldstart [--runs N] [--section init|cold|warm|instructions]...
                              [--function NAME]...

(`python bench/coldstart.py` works too.) A run restricted by --section or --function prints
its numbers and leaves bench/results/coldstart.json, which holds whole runs only, alone.
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import yaml

if __package__ in (None, ""):  # run as a path: the project root is not on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    ROOT,
    lambda_site,
    measure_process,
    median,
    site_environment,
    write_results,
)

ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "DOCFLOW_STAGE": "bench",
    "DOCUMENTS_TABLE": "bench-documents",
    "DOCUMENTS_BUCKET": "bench-documents",
    "IDEMPOTENCY_TABLE": "bench-idempotency",
    "API_KEYS_SECRET": "bench/api-keys",
    "MAX_UPLOAD_BYTES": "1048576",
    "ALLOWED_TYPES": "text/csv",
    "SIGNATURES_KEY": "security/signatures.json",
    "AWS_LAMBDA_FUNCTION_NAME": "docflow-bench",
}
TRACING_ON = {
    "DOCFLOW_TRACING": "true",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "LAMBDA_TASK_ROOT": "/var/task",
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
}
# No site-packages: the process sees the Lambda-like site and the project (PYTHONPATH) only.
ISOLATED = ("-S",)
CLIENT = "import boto3; boto3.client('s3')"
CONTEXT = (
    "class C:\n aws_request_id='r'; function_name='f'; function_version='1'\n"
    " def get_remaining_time_in_millis(self): return 1000\n"
)
# First invocations that need no AWS call: an unknown route, an empty S3 event.
HANDLERS = {
    "api": (
        "handlers.api",
        "{'version': '2.0', 'routeKey': 'GET /nope', 'rawPath': '/nope', "
        "'requestContext': {'http': {'method': 'GET'}}}",
    ),
    "intake": ("handlers.intake", "{'Records': []}"),
}


# A plausible value per settings type, for the variables a handler requires at import.
_SAMPLE = {"int": "60", "bool": "false", "tuple[str, ...]": "a,b", "str": "bench"}
_REQUIRED = re.compile(r"^\s+\w+: (?P<type>[^=]+?) = env\(\"(?P<name>[A-Z0-9_]+)\"\)", re.M)
_SPECIFIC = {
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
    "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-alerts",
    "NOTIFY_SENDER": "docflow@example.com",
    "NOTIFY_ADDRESS_TEMPLATE": "{owner}@example.com",
    "DIGEST_RECIPIENTS": "ops@example.com",
    "SWEEP_RULES": "accepted:15:redrive,awaiting_upload:1440:fail",
}


def required_environment() -> dict[str, str]:
    """Every variable a settings class requires, with a value its parser accepts."""
    values: dict[str, str] = {}
    for package in ("handlers", "shared", "docflow"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for match in _REQUIRED.finditer(path.read_text()):
                values[match["name"]] = _SAMPLE[match["type"].strip()]
    return {**values, **_SPECIFIC}


def template_functions() -> dict[str, str]:
    """Function name -> handler module, for every function serverless.yml deploys."""
    found: dict[str, str] = {}
    for path in [ROOT / "serverless.yml", *sorted((ROOT / "functions").glob("*.yml"))]:
        # The files hold CloudFormation short forms (!Ref ...): read them as plain strings.
        loader = type("Loader", (yaml.SafeLoader,), {})
        loader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)
        document = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - SafeLoader subclass
        functions = document.get("functions", {}) if path.name == "serverless.yml" else document
        for entry in functions if isinstance(functions, list) else [functions]:
            if isinstance(entry, dict):
                for name, spec in entry.items():
                    if isinstance(spec, dict) and "handler" in spec:
                        found[name] = spec["handler"].rsplit(".", 1)[0].replace("/", ".")
    return found


def init(runs: int, only: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Import each function's handler, then one client; against the client alone.

    `only` names the functions to measure (every function of the template when empty).
    """
    _compile_ahead()
    env = site_environment(
        {**os.environ, **ENV, **required_environment(), "DOCFLOW_TRACING": "false"}, lambda_site()
    )
    env.pop("AWS_ENDPOINT_URL", None)
    variants = {"baseline": CLIENT}
    variants.update(
        {
            name: f"import {module}\n{CLIENT}\n"
            for name, module in template_functions().items()
            if not only or name in only
        }
    )
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits all alike
        for name, code in variants.items():
            samples[name].append(measure_process(code, env, ISOLATED))
    base_wall = median([wall for wall, _ in samples["baseline"]])
    base_cpu = median([cpu for _, cpu in samples["baseline"]])
    functions: dict[str, Any] = {}
    for name in variants:
        if name == "baseline":
            continue
        wall, cpu = median([w for w, _ in samples[name]]), median([c for _, c in samples[name]])
        functions[name] = {
            "cpu_ms": cpu,
            "cpu_ratio": round(cpu / base_cpu, 3),
            "wall_ms": wall,
            "wall_ratio": round(wall / base_wall, 3),
        }
    return {
        "baseline_cpu_ms": base_cpu,
        "baseline_wall_ms": base_wall,
        "runs": runs,
        "functions": functions,
    }


# What a function's init adds to the baseline that is not its own: structlog alone (the design's
# logging library: it imports every submodule, asyncio with structlog.stdlib), then the shared
# package alone (structlog with it).
FLOORS = {"structlog alone": "structlog", "shared package alone": "shared.handler"}
_INSTRUCTIONS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(only: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Instructions executed by each init variant (one valgrind run each: deterministic)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--section instructions needs valgrind (apt-get install valgrind)")
    _compile_ahead()
    env = site_environment(
        {
            **os.environ,
            **ENV,
            **required_environment(),
            "DOCFLOW_TRACING": "false",
            "PYTHONHASHSEED": "0",
        },
        lambda_site(),
    )
    env.pop("AWS_ENDPOINT_URL", None)
    variants = {"baseline": CLIENT}
    variants.update({name: f"import {module}\n{CLIENT}\n" for name, module in FLOORS.items()})
    variants.update(
        {
            name: f"import {module}\n{CLIENT}\n"
            for name, module in template_functions().items()
            if not only or name in only
        }
    )

    def count(code: str) -> int:
        command = [
            valgrind,
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
        ]
        done = subprocess.run(
            [*command, sys.executable, *ISOLATED, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        found = _INSTRUCTIONS.search(done.stderr)
        if found is None:
            raise SystemExit(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
        return int(found[1].replace(",", ""))

    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        counts = dict(zip(variants, pool.map(count, variants.values()), strict=True))
    baseline = counts.pop("baseline")
    return {
        "baseline_instructions": baseline,
        "functions": {
            name: {"instructions": value, "ratio": round(value / baseline, 3)}
            for name, value in counts.items()
        },
    }


def _handler_code(module: str, event: str) -> str:
    return f"import {module} as m\n{CONTEXT}m.handler({event}, C())\n{CLIENT}\n"


def _compile_ahead() -> None:
    """Bytecode for the project's code, as the packaging plugin ships it to Lambda.

    Without it (PYTHONDONTWRITEBYTECODE is common in containers and CI), every handler
    process would compile the project from source while boto3 loads its installed bytecode.
    """
    for package in ("handlers", "shared", "docflow"):
        compileall.compile_dir(
            ROOT / package,
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )


def cold(runs: int) -> dict[str, Any]:
    _compile_ahead()
    base_env = site_environment({**os.environ, **ENV}, lambda_site())
    base_env.pop("AWS_ENDPOINT_URL", None)
    variants = {"baseline": (CLIENT, base_env)}
    for name, (module, event) in HANDLERS.items():
        code = _handler_code(module, event)
        variants[f"{name}"] = (code, {**base_env, "DOCFLOW_TRACING": "false"})
        variants[f"{name}_tracing"] = (code, {**base_env, **TRACING_ON})
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits all alike
        for name, (code, env) in variants.items():
            samples[name].append(measure_process(code, env, ISOLATED))

    def wall(name: str) -> float:
        return median([w for w, _ in samples[name]])

    def cpu(name: str) -> float:
        return median([c for _, c in samples[name]])

    baseline, base_cpu = wall("baseline"), cpu("baseline")
    results: dict[str, Any] = {
        "baseline_ms": baseline,
        "baseline_cpu_ms": base_cpu,
        "runs": runs,
        "handlers": {},
    }
    for name in HANDLERS:
        off, on = f"{name}", f"{name}_tracing"
        results["handlers"][name] = {
            "median_ms": wall(off),
            "ratio": round(wall(off) / baseline, 3),
            "tracing_median_ms": wall(on),
            "tracing_ratio": round(wall(on) / baseline, 3),
            "cpu_ms": cpu(off),
            "cpu_ratio": round(cpu(off) / base_cpu, 3),
            "tracing_cpu_ms": cpu(on),
            "tracing_cpu_ratio": round(cpu(on) / base_cpu, 3),
        }
    return results


def warm(iterations: int = 2000, repeats: int = 7) -> dict[str, Any]:
    os.environ.update(ENV)
    from shared.handler import lambda_handler
    from shared.settings import Settings

    class Ctx:
        aws_request_id, function_name, function_version = "r", "f", "1"

    def bare(event: Any, context: Any) -> Any:
        return event

    decorated = lambda_handler("event", Settings.load({"LOG_LEVEL": "INFO"}))(bare)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - kept open for the whole measurement
    real_stdout, sys.stdout = sys.stdout, devnull
    try:
        timings: dict[str, list[float]] = {"bare": [], "decorated": []}
        for _ in range(repeats):
            for name, func in (("bare", bare), ("decorated", decorated)):
                started = time.perf_counter()
                for _ in range(iterations):
                    func({}, Ctx())
                timings[name].append((time.perf_counter() - started) / iterations * 1e6)
    finally:
        sys.stdout = real_stdout
        devnull.close()
    bare_us, decorated_us = median(timings["bare"]), median(timings["decorated"])
    return {
        "bare_us": bare_us,
        "decorated_us": decorated_us,
        "overhead_us": round(decorated_us - bare_us, 3),
        "ratio": round(decorated_us / bare_us, 1),
    }


SECTIONS = ("init", "cold", "warm")
OPTIONAL_SECTIONS = ("instructions",)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--section",
        action="append",
        choices=SECTIONS + OPTIONAL_SECTIONS,
        help="measure only this (repeatable)",
    )
    parser.add_argument(
        "--function", action="append", metavar="NAME", help="init of this function only"
    )
    args = parser.parse_args()
    known = template_functions()
    unknown = sorted(set(args.function or ()) - set(known))
    if unknown:
        parser.error(
            f"unknown function(s) {', '.join(unknown)}; the template has {', '.join(known)}"
        )
    sections = args.section or list(SECTIONS)
    whole = sections == list(SECTIONS) and not args.function
    results: dict[str, Any] = {}
    if "init" in sections:
        results["init"] = init(args.runs, frozenset(args.function or ()))
        _print_init(results["init"])
    if "cold" in sections:
        results["cold"] = cold(args.runs)
        _print_cold(results["cold"])
    if "warm" in sections:
        results["warm"] = warm()
        w = results["warm"]
        print(
            f"decorator warm overhead: {w['overhead_us']} us/invocation ({w['ratio']}x a bare call)"
        )
    if "instructions" in sections:
        counted = instructions(frozenset(args.function or ()))
        _print_instructions(counted)
        if not args.function:
            print(f"results: {write_results('coldstart_instructions', counted)}")
    if whole:
        print(f"results: {write_results('coldstart', results)}")
    else:
        print("a partial run: bench/results/coldstart.json left as it was")


def _print_init(init_results: dict[str, Any]) -> None:
    print(
        f"init baseline (import boto3 + one client): {init_results['baseline_cpu_ms']} ms CPU, "
        f"{init_results['baseline_wall_ms']} ms wall"
    )
    for name, row in init_results["functions"].items():
        print(
            f"{name:24} init {row['cpu_ms']:8.1f} ms CPU  ratio {row['cpu_ratio']:.3f}   "
            f"wall {row['wall_ms']:8.1f} ms  ratio {row['wall_ratio']:.3f}"
        )


def _print_instructions(counted: dict[str, Any]) -> None:
    baseline = counted["baseline_instructions"]
    print(f"init baseline (import boto3 + one client): {baseline:,} instructions")
    for name, row in counted["functions"].items():
        print(f"{name:24} init {row['instructions']:>15,} instructions  ratio {row['ratio']:.3f}")


def _print_cold(cold_results: dict[str, Any]) -> None:
    print(
        f"cold baseline (import boto3 + one client): {cold_results['baseline_cpu_ms']} ms CPU, "
        f"{cold_results['baseline_ms']} ms wall"
    )
    for name, row in cold_results["handlers"].items():
        print(
            f"{name:8} cold CPU ratio {row['cpu_ratio']:.3f}, tracing on "
            f"{row['tracing_cpu_ratio']:.3f}   wall ratio {row['ratio']:.3f}, tracing on "
            f"{row['tracing_ratio']:.3f}"
        )


if __name__ == "__main__":
    main()
