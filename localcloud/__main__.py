"""`python -m localcloud serve|start|stop|status`: run the embedded AWS on loopback."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from localcloud import events, server

DEFAULT_PORT = 4566
DEFAULT_API_PORT = 4567


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "run in the foreground"),
        ("start", "run in the background (pid and log under the state directory)"),
        (
            "up",
            "start in the background if needed, deploy what changed (sls deploy --stage local, "
            "or changed functions' code in place), write stack.json",
        ),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=DEFAULT_PORT)
        command.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
        command.add_argument("--state-dir", type=Path, default=server.STATE_DIR)
        if name == "up":
            command.add_argument(
                "--full", action="store_true", help="sls deploy even if only code changed"
            )
    for name, text in (
        ("stop", "stop the background server"),
        ("down", "stop the background server and forget stack.json"),
        ("status", "print its endpoints"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--state-dir", type=Path, default=server.STATE_DIR)
    env = commands.add_parser(
        "env",
        help='the exports that point sls, the AWS CLI and boto3 at the stack: eval "$(... env)"',
    )
    env.add_argument("--state-dir", type=Path, default=server.STATE_DIR)
    events.add_parser(commands, server.STATE_DIR)
    report = commands.add_parser(
        "iam-report",
        help="per role: the actions and resources used, refused, and granted but never used",
    )
    report.add_argument("--state-dir", type=Path, default=server.STATE_DIR)
    report.add_argument("--json", action="store_true", help="machine-readable")
    args = parser.parse_args(argv)
    # Importing the patches (and moto) takes seconds: `up` on a running server skips the check.
    starts = args.command in ("serve", "start") or (
        args.command == "up" and server.running(args.state_dir) is None
    )
    if starts:
        from localcloud.patches import MotoVersionError, check_moto_version

        try:
            check_moto_version()
        except MotoVersionError as exc:
            print(exc, file=sys.stderr)
            return 1

    if args.command == "event":
        return events.main(args)
    if args.command == "env":
        import shlex

        from localcloud import runtime, stack

        try:
            print(stack.shell_exports(args.state_dir))
        except runtime.RuntimeMissingError as exc:
            # Printed for `eval`: the shell says why and its `&&` stops, as an empty output
            # would not (eval "" succeeds).
            print(f"echo {shlex.quote(f'localcloud: {exc}')} >&2; false")
            return 1
        if server.running(args.state_dir) is None:
            print(
                f"localcloud: no local stack runs from {args.state_dir} (make up starts one); "
                "these exports name the default endpoint",
                file=sys.stderr,
            )
        return 0
    if args.command == "iam-report":
        from localcloud.iam import report as iam_report

        print(
            iam_report.as_json(args.state_dir) if args.json else iam_report.render(args.state_dir)
        )
        return 0
    if args.command == "up":
        from localcloud import stack

        try:
            return stack.up(args.state_dir, args.port, args.api_port, full=args.full)
        except (server.PortInUseError, RuntimeError) as exc:
            print(
                f"localcloud: {exc}" if not str(exc).startswith("localcloud") else exc,
                file=sys.stderr,
            )
            return 1
    if args.command == "down":
        from localcloud import stack

        return stack.down(args.state_dir)
    if args.command == "serve":
        return server.serve(args.host, args.port, args.api_port, args.state_dir)
    if args.command == "start":
        info = server.running(args.state_dir)
        if info is None:
            try:
                info = server.start_background(args.host, args.port, args.api_port, args.state_dir)
            except (server.PortInUseError, RuntimeError) as exc:
                print(exc, file=sys.stderr)
                return 2
        print(json.dumps(info))
        return 0
    if args.command == "stop":
        print(
            "localcloud: stopped"
            if server.stop_background(args.state_dir)
            else "localcloud: not running"
        )
        return 0
    info = server.running(args.state_dir)
    if info is None:
        print("localcloud: not running", file=sys.stderr)
        return 1
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
