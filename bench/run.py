"""Run every benchmark in turn (`make bench`); each writes bench/results/<name>.json.

python -m bench.run [name ...]     # e.g. python -m bench.run coldstart consumers
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = ("coldstart", "packaging", "processing", "consumers", "local_stack", "load", "devloop")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in names:
        print(f"== bench.{name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        print(f"== bench.{name}: exit {code} after {time.monotonic() - started:.0f}s\n", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
