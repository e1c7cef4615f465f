"""Deploy one stage from a packaged artifact, smoke-test it, and roll it back if the test fails.

    python3 .github/scripts/release.py --stage dev --package .package/dev [--upload]

1. The package must have been built in this workspace path: osls records each function's
   artifact as `<service dir>/.serverless/<name>.zip` and `sls deploy --package` copies the
   package there, so a package from another path would deploy nothing. GitHub runs every job
   of a workflow in the same workspace path.
2. The stage's latest deployment before this one is read from `sls deploy list` (the
   deployment bucket keeps every deployment's template and code under its timestamp).
3. `sls deploy --stage STAGE --package DIR` (no packaging, no dependency install). A failed
   update is rolled back by CloudFormation itself.
4. The API URL from the stack's outputs, then the smoke test (.github/scripts/smoke.py).
5. A failed smoke test runs `sls rollback --stage STAGE --timestamp T` with that previous
   deployment and fails the job; with no previous deployment it fails without rollback.

Standard library only; credentials come from the environment (the job's OIDC role). The API
key of the smoke test is DOCFLOW_API_KEY (an environment secret), never an argument.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smoke  # the sibling script, found through the path above

SLS = "node_modules/.bin/sls"
_TIMESTAMP = re.compile(r"^Timestamp: (\d+)\s*$", re.MULTILINE)

Run = Callable[[Sequence[str]], "Completed"]
Smoke = Callable[[str], None]


@dataclass(frozen=True)
class Completed:
    returncode: int
    output: str


class ReleaseError(RuntimeError):
    """The release stopped; the message says where and what state the stage is in."""


def run_command(args: Sequence[str]) -> Completed:
    """Run a fixed command of this script (no shell), its output echoed for the job log."""
    result = subprocess.run(  # noqa: S603
        list(args), capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    print(output, end="" if output.endswith("\n") else "\n")
    return Completed(result.returncode, output)


def check_artifact_paths(package: Path, workspace: Path) -> None:
    """Every function artifact recorded in the package resolves in this workspace."""
    state = json.loads((package / "serverless-state.json").read_text())
    expected = workspace / ".serverless"
    for name, function in state["service"].get("functions", {}).items():
        artifact = (function.get("package") or {}).get("artifact")
        if artifact and Path(artifact).parent != expected:
            raise ReleaseError(
                f"function {name}: the package was built in {Path(artifact).parent.parent}, "
                f"this job runs in {workspace}; package and deploy in the same workspace path"
            )
        if artifact and not (package / Path(artifact).name).is_file():
            raise ReleaseError(f"function {name}: {Path(artifact).name} missing from {package}")


def package_timestamp(package: Path) -> str:
    state = json.loads((package / "serverless-state.json").read_text())
    directory = str(state["package"]["artifactDirectoryName"])
    return directory.rsplit("/", 1)[-1].split("-", 1)[0]


def previous_deployment(listing: str, current: str) -> str | None:
    """The latest timestamp in `sls deploy list` output other than the one being deployed."""
    stamps = sorted({int(t) for t in _TIMESTAMP.findall(listing) if t != current})
    return str(stamps[-1]) if stamps else None


def api_url(stage: str, run: Run) -> str:
    done = run(
        [
            "aws",
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            f"docflow-{stage}",
            "--query",
            "Stacks[0].Outputs[?OutputKey=='HttpApiUrl'].OutputValue",
            "--output",
            "text",
        ]
    )
    url = done.output.strip().splitlines()[-1] if done.output.strip() else ""
    if done.returncode != 0 or not url.startswith("https://"):
        raise ReleaseError(f"no HttpApiUrl output on stack docflow-{stage}: {done.output[-300:]}")
    return url


def release(
    stage: str,
    package: Path,
    smoke_test: Smoke,
    run: Run = run_command,
    sls: str = SLS,
    workspace: Path | None = None,
) -> str:
    """Deploy, smoke-test, roll back on failure. Returns the API URL; raises ReleaseError."""
    check_artifact_paths(package, workspace or Path.cwd())
    listing = run([sls, "deploy", "list", "--stage", stage])
    if listing.returncode != 0:
        raise ReleaseError(f"sls deploy list failed; nothing deployed:\n{listing.output[-2000:]}")
    previous = previous_deployment(listing.output, package_timestamp(package))
    print(f"release: previous deployment of {stage}: {previous or 'none'}")

    deployed = run([sls, "deploy", "--stage", stage, "--package", str(package)])
    if deployed.returncode != 0:
        raise ReleaseError(
            "sls deploy failed; CloudFormation rolls a failed update back by itself "
            "(a stack in UPDATE_ROLLBACK_FAILED needs continue-update-rollback, docs/operations.md)"
        )

    url = api_url(stage, run)
    try:
        smoke_test(url)
    except smoke.SmokeError as exc:
        if previous is None:
            raise ReleaseError(
                f"smoke test failed ({exc}); first deployment of {stage}, nothing to roll back to"
            ) from exc
        print(f"release: smoke test failed ({exc}); rolling {stage} back to {previous}")
        rolled = run([sls, "rollback", "--stage", stage, "--timestamp", previous])
        if rolled.returncode != 0:
            raise ReleaseError(
                f"smoke test failed ({exc}) and the rollback to {previous} failed: "
                "roll back by hand (docs/operations.md, Rollback)"
            ) from exc
        raise ReleaseError(f"smoke test failed ({exc}); {stage} rolled back to {previous}") from exc
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", required=True, choices=["dev", "prod"])
    parser.add_argument("--package", required=True, type=Path)
    parser.add_argument("--upload", action="store_true", help="smoke-test with an upload")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    key = os.environ.get("DOCFLOW_API_KEY", "")
    if not key:
        print("release: set DOCFLOW_API_KEY (the smoke test's key)", file=sys.stderr)
        return 2

    def smoke_test(url: str) -> None:
        smoke.read_check(url, key)
        if args.upload:
            smoke.upload_check(url, key, args.timeout)

    # The pinned Node the promote action unpacked (.tools/node-<.nvmrc>), first on PATH for
    # sls (`#!/usr/bin/env node`).
    node_bin = Path.cwd() / ".tools" / f"node-{Path('.nvmrc').read_text().strip()}" / "bin"
    if not (node_bin / "node").is_file():
        print(f"release: {node_bin}/node missing (the toolchain artifact)", file=sys.stderr)
        return 2
    os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        url = release(args.stage, args.package, smoke_test)
    except ReleaseError as exc:
        print(f"release: FAILED: {exc}", file=sys.stderr)
        return 1
    if "GITHUB_OUTPUT" in os.environ:
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"api_url={url}\n")
    print(f"release: {args.stage} deployed and smoke-tested at {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
