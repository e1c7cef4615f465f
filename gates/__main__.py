"""Command line for the gates.

python -m gates config [STAGE ...]      validate config/<stage>.yml against config/schema.json
python -m gates diff A B                print the configuration differences of two stages
python -m gates template STAGE DIR      run the template gates on a compiled template
python -m gates all [--stages ...]      config, package every stage, every gate (cfn-lint
                                        with the serverless rules too), the workflow
                                        linters (what `make gates` runs)
python -m gates cost DOCUMENTS [--stage S] monthly cost estimate for a document volume
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from gates import (
    bootstrap,
    cost,
    dlq,
    iam,
    iam_reference,
    monitoring,
    retention,
    secrets,
    template,
    tools,
)
from gates import config as stage_config
from gates.findings import Finding


def template_findings(stage: str, compiled: dict[str, object]) -> list[Finding]:
    """Every template gate for one stage's compiled template."""
    settings = stage_config.load_stage(stage)
    return [
        *iam.check(compiled),
        # Every policy against the IAM service authorization reference (parliament).
        *iam_reference.check(compiled),
        *secrets.check(compiled),
        *dlq.check(compiled),
        *retention.check(
            compiled,
            retain=bool(settings.get("retainData")),
            deletion_protection=bool(settings.get("deletionProtection")),
        ),
        *monitoring.check(compiled, settings, stage),
    ]


Check = tuple[bool, str]
"""A check's outcome: passed or not, and the lines to print."""


def _report(title: str, findings: list[Finding]) -> bool:
    ok, text = _reported(title, findings)
    print(text)
    return ok


def _reported(title: str, findings: list[Finding]) -> Check:
    status = "ok" if not findings else f"{len(findings)} finding(s)"
    return not findings, "\n".join([f"{title}: {status}", *(f"  {f}" for f in findings)])


def _tool(title: str, run: Callable[..., tuple[bool, str]], *args: object) -> Check:
    """`run(*args)` of a tool: its title and ok, with the tool's output when it failed."""
    ok, output = run(*args)
    text = f"{title}: {'ok' if ok else 'FAILED'}"
    return ok, text if ok else text + "\n  " + output.replace("\n", "\n  ")


def _all(stages: list[str], out_root: Path | None) -> bool:
    """Package the stages one after another (osls writes .serverless/ in the service
    directory: two packagings at once would share it) while two threads run the checks, each
    stage's as soon as it is packaged; results print in order, as they are known."""
    ok = _report("config schema", stage_config.validate_all(tuple(stages)))
    config_files = [stage_config.CONFIG_DIR / f"{s}.yml" for s in stages]
    ok &= _report("secrets in config", secrets.check_files(config_files))
    packaged: list[tuple[str, dict[str, object]]] = []
    with (
        tempfile.TemporaryDirectory(prefix="docflow-gates-") as scratch,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="gates") as checker,
    ):
        root = out_root or Path(scratch)
        # What needs no package first: the workflow linters and deploy/bootstrap.yml's scans.
        pending: list[Future[Check]] = [
            checker.submit(_tool, "actionlint", tools.actionlint),
            checker.submit(_tool, "zizmor --offline", tools.zizmor),
            checker.submit(_tool, "cfn-lint (bootstrap)", tools.cfn_lint, bootstrap.BOOTSTRAP),
            checker.submit(_tool, "checkov (bootstrap)", tools.checkov, bootstrap.BOOTSTRAP),
        ]
        for stage in stages:
            out = root / stage
            packaging = _tool(f"sls package --stage {stage}", tools.package, stage, out)
            ok &= _drain(pending, wait=False)
            ok &= _print(packaging)
            if not packaging[0]:
                continue
            packaged.append((stage, template.load(out)))
            pending.extend(_stage_checks(checker, stage, out, packaged[-1][1]))
        # deploy/bootstrap.yml's policies through the IAM gates, its execution roles against
        # the stages just packaged.
        findings = bootstrap.check(bootstrap.load()) + bootstrap.stage_findings(packaged)
        ok &= _drain(pending, wait=True)
        ok &= _report("bootstrap gates", findings)
    return ok


def _stage_checks(
    checker: ThreadPoolExecutor, stage: str, out: Path, compiled: dict[str, object]
) -> list[Future[Check]]:
    path = out / template.TEMPLATE_NAME
    return [
        checker.submit(
            lambda: _reported(f"template gates ({stage})", template_findings(stage, compiled))
        ),
        checker.submit(_tool, f"cfn-lint ({stage})", tools.cfn_lint, path),
        checker.submit(
            _tool, f"cfn-lint serverless rules ({stage})", tools.cfn_lint_serverless, path
        ),
        checker.submit(_tool, f"checkov ({stage})", tools.checkov, path),
    ]


def _drain(pending: list[Future[Check]], *, wait: bool) -> bool:
    """Print the results of the checks submitted first, in order: all of them when `wait`,
    else those done so far."""
    ok = True
    while pending and (wait or pending[0].done()):
        ok &= _print(pending.pop(0).result())
    return ok


def _print(check: Check) -> bool:
    print(check[1], flush=True)
    return check[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("config", help="validate stage configuration")
    check.add_argument("stages", nargs="*", default=list(stage_config.STAGES))
    diff = commands.add_parser("diff", help="differences between two stages")
    diff.add_argument("a")
    diff.add_argument("b")
    tmpl = commands.add_parser("template", help="template gates on a compiled template")
    tmpl.add_argument("stage")
    tmpl.add_argument("path", type=Path)
    price = commands.add_parser("cost", help="monthly cost estimate for a document volume")
    price.add_argument("documents", type=int)
    price.add_argument("--stage", default="prod", choices=stage_config.STAGES)
    every = commands.add_parser("all", help="every gate on every stage")
    every.add_argument("--stages", nargs="+", default=list(stage_config.STAGES))
    every.add_argument("--out", type=Path, help="keep compiled packages in OUT/<stage>")
    args = parser.parse_args(argv)

    if args.command == "config":
        return 0 if _report("config schema", stage_config.validate_all(tuple(args.stages))) else 1
    if args.command == "diff":
        try:
            a, b = stage_config.load_stage(args.a), stage_config.load_stage(args.b)
        except FileNotFoundError as exc:
            print(f"gates diff: {exc} (stages: {', '.join(stage_config.STAGES)})", file=sys.stderr)
            return 2
        print(stage_config.format_diff(args.a, args.b, stage_config.diff_stages(a, b)))
        return 0
    if args.command == "cost":
        config = stage_config.load_stage(args.stage)
        print(cost.estimate(args.documents, config, args.stage).table())
        return 0
    if args.command == "template":
        findings = template_findings(args.stage, template.load(args.path))
        return 0 if _report(f"template gates ({args.stage})", findings) else 1
    try:
        return 0 if _all(args.stages, args.out) else 1
    except tools.MissingToolError as exc:
        print(f"gates: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
