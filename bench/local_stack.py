"""How long the local stack takes: start, deploy, redeploy, and a function's cold and warm invoke.

Baselines in the same run: `sls package --stage local` (the packaging every deploy does, with
no emulator involved) for deploy and redeploy, and a warm invocation for the cold one. The
stack runs in its own state directory on free ports, and is stopped at the end.

    python -m bench.local_stack [--invokes N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, median, write_results
from localcloud import server, stack


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _invoke_ms(client: Any, function: str, payload: bytes) -> float:
    started = time.perf_counter()
    answer = client.invoke(FunctionName=function, Payload=payload)
    answer["Payload"].read()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invokes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-local-stack-") as tmp:
        state_dir = Path(tmp)
        started = time.perf_counter()
        info = server.start_background(
            "127.0.0.1", server.free_port(), server.free_port(), state_dir
        )
        start_s = time.perf_counter() - started
        try:
            env = stack.deploy_environment(info["endpoint_url"])
            sls = str(ROOT / "node_modules" / ".bin" / "sls")
            package_s = _timed([sls, "package", "--stage", "local", "--package", f"{tmp}/pkg"], env)
            deploy_s = stack.deploy(info["endpoint_url"])
            redeploy_s = stack.deploy(info["endpoint_url"])
            described = stack.describe(info, state_dir)
            lam = stack._client("lambda", info["endpoint_url"])
            function = f"{described['stack']}-api"
            event = json.dumps(
                {
                    "version": "2.0",
                    "routeKey": "GET /documents",
                    "rawPath": "/documents",
                    "headers": {},
                    "requestContext": {"http": {"method": "GET", "path": "/documents"}},
                }
            ).encode()
            variables = lam.get_function_configuration(FunctionName=function)["Environment"][
                "Variables"
            ]
            cold, warm = [], []
            for _ in range(args.invokes):
                # a configuration change makes Lambda start a new execution environment
                lam.update_function_configuration(
                    FunctionName=function,
                    Environment={"Variables": {**variables, "BENCH_NONCE": str(time.time_ns())}},
                )
                cold.append(_invoke_ms(lam, function, event))
                warm.append(_invoke_ms(lam, function, event))
        finally:
            server.stop_background(state_dir)
    results = {
        "start_s": round(start_s, 2),
        "package_s": round(package_s, 2),
        "deploy_s": round(deploy_s, 2),
        "redeploy_s": round(redeploy_s, 2),
        "deploy_ratio": round(deploy_s / package_s, 3),
        "redeploy_ratio": round(redeploy_s / package_s, 3),
        "invoke": {
            "function": "api",
            "runs": args.invokes,
            "cold_median_ms": median(cold),
            "warm_median_ms": median(warm),
            "cold_ratio": round(median(cold) / median(warm), 1),
        },
    }
    path = write_results("local_stack", results)
    print(json.dumps(results, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
