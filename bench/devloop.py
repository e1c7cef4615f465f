"""The developer loop: how long `make up` takes after a change, against a full deploy.

In a copy of the checkout (its tracked files; node_modules, .venv and .tools linked), on its
own local stack (state directory and free ports), each step runs `python -m localcloud up` as
`make up` does and is timed from the outside:

- the first `up` (starts the embedded AWS, full deploy), then `up --full`: a full
  `sls deploy --stage local` on a running stack, the baseline every ratio divides by;
- `up` with nothing changed;
- `up` after a one-line change to handlers/api.py, then the change checked live through the
  API (the handler's actor name in a new document's history);
- `up` after a one-line change to shared/ (every function's package).

Each quick step runs `--runs` times (alternating the change, so each run has one); results go
to bench/results/devloop.json.

    python -m bench.devloop [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.common import ROOT, copy_checkout, median, write_results
from localcloud import server, stack

LINKED = ("node_modules", ".venv", ".venv-checkov", ".tools")


class Loop:
    def __init__(self, tree: Path, state_dir: Path) -> None:
        self.tree = tree
        self.state_dir = state_dir
        self.ports = [server.free_port(), server.free_port()]

    def up(self, *extra: str) -> tuple[float, dict[str, Any]]:
        """Seconds `up` took, wall clock, and the stack description it wrote."""
        started = time.perf_counter()
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "localcloud",
                "up",
                "--port",
                str(self.ports[0]),
                "--api-port",
                str(self.ports[1]),
                "--state-dir",
                str(self.state_dir),
                *extra,
            ],
            cwd=self.tree,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if finished.returncode != 0:
            raise SystemExit(f"up failed:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}")
        description = json.loads((self.state_dir / stack.STACK_FILE).read_text())
        return seconds, description

    def edit(self, relative: str, line: str) -> None:
        path = self.tree / relative
        path.write_text(path.read_text() + line + "\n")


def _actor_of_a_new_document(description: dict[str, Any]) -> str:
    key = stack.demo_key(description, "demo-alice", "submit")
    created = requests.post(
        f"{description['api_url']}/documents",
        headers={"x-api-key": key},
        json={"filename": "bench.csv", "content_type": "text/csv", "size": 4},
        timeout=60,
    )
    created.raise_for_status()
    return str(created.json()["history"][0]["actor"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-devloop-") as tmp:
        tree, state_dir = Path(tmp) / "checkout", Path(tmp) / "state"
        tree.mkdir()
        copy_checkout(tree, LINKED)
        loop = Loop(tree, state_dir)
        try:
            first_s, _ = loop.up()
            full_s, _ = loop.up("--full")
            unchanged, handler, shared, live = [], [], [], []
            for run in range(args.runs):
                seconds, described = loop.up()
                assert described["deployed"]["how"] == "none", described["deployed"]
                unchanged.append(seconds)

                actor = f"api-bench-{run}"
                loop.edit("handlers/api.py", f'ACTOR = "{actor}"')
                seconds, described = loop.up()
                assert described["deployed"]["functions"] == ["api"], described["deployed"]
                handler.append(seconds)
                live.append(_actor_of_a_new_document(described) == actor)

                loop.edit("shared/errors.py", f"# bench run {run}")
                seconds, described = loop.up()
                assert described["deployed"]["how"] == "code", described["deployed"]
                shared.append(seconds)
        finally:
            server.stop_background(state_dir)
    full = round(full_s, 2)
    results = {
        "runs": args.runs,
        "first_up_s": round(first_s, 2),
        "full_deploy_s": full,
        "unchanged_up_s": median(unchanged),
        "handler_change_up_s": median(handler),
        "shared_change_up_s": median(shared),
        "handler_change_up_max_s": round(max(handler), 2),
        "handler_change_live": all(live),
        "unchanged_ratio": round(median(unchanged) / full_s, 3),
        "handler_change_ratio": round(median(handler) / full_s, 3),
        "shared_change_ratio": round(median(shared) / full_s, 3),
    }
    path = write_results("devloop", results)
    print(json.dumps(results, indent=2))
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
