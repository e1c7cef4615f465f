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


def _report(title: str, findings: list[Finding]) -> bool:
    status = "ok" if not findings else f"{len(findings)} finding(s)"
    print(f"{title}: {status}")
    for finding in findings:
        print(f"  {finding}")
    return not findings


def _tool(title: str, result: tuple[bool, str]) -> bool:
    ok, output = result
    print(f"{title}: {'ok' if ok else 'FAILED'}")
    if not ok:
        print("  " + output.replace("\n", "\n  "))
    return ok


def _all(stages: list[str], out_root: Path | None) -> bool:
    ok = _report("config schema", stage_config.validate_all(tuple(stages)))
    config_files = [stage_config.CONFIG_DIR / f"{s}.yml" for s in stages]
    ok &= _report("secrets in config", secrets.check_files(config_files))
    packaged: list[tuple[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory(prefix="docflow-gates-") as scratch:
        root = out_root or Path(scratch)
        for stage in stages:
            out = root / stage
            if not _tool(f"sls package --stage {stage}", tools.package(stage, out)):
                ok = False
                continue
            compiled_path = out / template.TEMPLATE_NAME
            packaged.append((stage, template.load(out)))
            ok &= _report(f"template gates ({stage})", template_findings(stage, packaged[-1][1]))
            ok &= _tool(f"cfn-lint ({stage})", tools.cfn_lint(compiled_path))
            ok &= _tool(
                f"cfn-lint serverless rules ({stage})", tools.cfn_lint_serverless(compiled_path)
            )
            ok &= _tool(f"checkov ({stage})", tools.checkov(compiled_path))
    ok &= _bootstrap(packaged)
    ok &= _tool("actionlint", tools.actionlint())
    ok &= _tool("zizmor --offline", tools.zizmor())
    return ok


def _bootstrap(packaged: list[tuple[str, dict[str, object]]]) -> bool:
    """deploy/bootstrap.yml: linted and scanned like a stage, its policies through the IAM
    gates, its execution roles against the stages just packaged."""
    ok = _tool("cfn-lint (bootstrap)", tools.cfn_lint(bootstrap.BOOTSTRAP))
    ok &= _tool("checkov (bootstrap)", tools.checkov(bootstrap.BOOTSTRAP))
    findings = bootstrap.check(bootstrap.load()) + bootstrap.stage_findings(packaged)
    return ok & _report("bootstrap gates", findings)


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
