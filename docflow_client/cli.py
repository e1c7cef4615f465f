"""`python -m docflow_client`: docflow's HTTP API from a shell (docs/openapi.yaml describes it).

    python -m docflow_client upload invoices.csv [--wait]   record it and upload the bytes
    python -m docflow_client wait ID                        progress until final (or approval)
    python -m docflow_client status ID                      status, results and history
    python -m docflow_client list [--status S] [--all]      the owner's documents
    python -m docflow_client decide ID approve|reject       with the owner's approve key

Where and who: --api-url and --api-key, else $DOCFLOW_API_URL and $DOCFLOW_API_KEY, else the
local stack's description (.local/stack.json, written by `make up`): its API URL, and the key
of --owner (default demo-alice) with the role the command needs (approve for decide, submit
for the rest). --json prints the API's answers, for scripts. Errors are one line on stderr.
Exit status: 0 done, 1 error, 2 usage, 3 the document ended rejected, quarantined or failed
(wait), 4 the wait timed out.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import requests

FINAL = frozenset({"processed", "rejected", "quarantined", "failed"})
NOT_PROCESSED = frozenset({"rejected", "quarantined", "failed"})
WAITING = "awaiting_approval"
DEFAULT_STACK = Path(".local/stack.json")
EXIT_ERROR, EXIT_USAGE, EXIT_NOT_PROCESSED, EXIT_TIMEOUT = 1, 2, 3, 4
# Answers worth asking again after a pause (throttled, or a dependency briefly unavailable).
_RETRIED = frozenset({429, 502, 503, 504})
_RETRIES = 3
# The types docflow accepts, whatever the platform's mimetypes tables say.
_TYPES = {
    ".csv": "text/csv",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".pdf": "application/pdf",
}


class CliError(Exception):
    """Ends the command with its message on one line and a non-zero status."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    api_url: str
    api_key: str


def _read_stack(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc
    if not isinstance(value, dict):
        raise CliError(f"{path} is not a stack description (a JSON object)")
    return value


def stack_key(stack: Mapping[str, Any], owner: str, role: str) -> str:
    """The key of `owner` with `role` in a stack description (a single-role key first)."""
    entries = stack.get("api_keys") or {}
    found: list[tuple[int, str]] = []
    for name, entry in entries.items():
        if not isinstance(entry, dict) or "key" not in entry:
            continue
        roles = list(entry.get("roles") or [])
        if entry.get("owner", name) == owner and role in roles:
            found.append((len(roles), str(entry["key"])))
    if not found:
        owners = sorted({str(e.get("owner", n)) for n, e in entries.items() if isinstance(e, dict)})
        raise CliError(
            f"the stack description has no key of owner {owner!r} with the {role} role "
            f"(owners: {', '.join(owners) or 'none'}); pass --owner or --api-key"
        )
    return min(found)[1]


def resolve(args: argparse.Namespace, role: str, environ: Mapping[str, str]) -> Target:
    """The API URL and key: flags, then the environment, then the local stack's description."""
    url = args.api_url or environ.get("DOCFLOW_API_URL")
    key = args.api_key or environ.get("DOCFLOW_API_KEY")
    stack = None if url and key else _read_stack(args.stack)
    url = url or (stack or {}).get("api_url")
    if not url:
        raise CliError(
            "no API URL: pass --api-url, set DOCFLOW_API_URL, or start the local stack "
            f"(make up writes {args.stack})"
        )
    if not key:
        if stack is None:
            raise CliError(
                "no API key: pass --api-key, set DOCFLOW_API_KEY, or start the local stack "
                f"(make up writes {args.stack})"
            )
        key = stack_key(stack, args.owner, role)
    return Target(str(url).rstrip("/"), str(key))


class Api:
    """docflow's API over HTTP: JSON in, JSON out, errors as `CliError`s."""

    def __init__(
        self,
        target: Target,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sleep = sleep

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.target.api_url}{path}"
        headers = {"x-api-key": self.target.api_key}
        # Reads are asked again when throttled; a POST is not (it may have been applied).
        attempts = _RETRIES + 1 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                answer = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
            except requests.RequestException as exc:
                raise CliError(f"cannot reach {url}: {_reason(exc)}") from exc
            if answer.status_code not in _RETRIED or attempt == attempts - 1:
                break
            self.sleep(0.5 * 2**attempt)
        return _body(method, path, answer)

    def upload(self, upload: Mapping[str, Any], path: Path, content_type: str) -> None:
        """The presigned POST: every signed field verbatim, then the file, last."""
        try:
            with path.open("rb") as handle:
                sent = self.session.post(
                    upload["url"],
                    data=dict(upload["fields"]),
                    files={"file": (path.name, handle, content_type)},
                    timeout=max(self.timeout, 120.0),
                )
        except requests.RequestException as exc:
            raise CliError(f"cannot reach the upload URL {upload['url']}: {_reason(exc)}") from exc
        if sent.status_code not in (200, 201, 204):
            raise CliError(f"the upload was refused: {sent.status_code} {_s3_error(sent.text)}")


def _body(method: str, path: str, answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code >= 400:
        if isinstance(body, dict) and "error" in body:
            raise CliError(f"{answer.status_code} {body['error']}: {body.get('message', '')}")
        shown = body.get("message") if isinstance(body, dict) else answer.text[:200]
        raise CliError(f"{method} {path} answered {answer.status_code}: {shown}")
    if not isinstance(body, dict):
        raise CliError(f"{method} {path} answered {answer.status_code} without a JSON object")
    return body


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unknown (is the stack up? make up)"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    return "the request could not be sent (check the URL)"


def _s3_error(text: str) -> str:
    """`Code: Message` out of S3's XML error answer, without parsing untrusted XML."""

    def between(tag: str) -> str:
        start, end = text.find(f"<{tag}>"), text.find(f"</{tag}>")
        return text[start + len(tag) + 2 : end] if 0 <= start < end else ""

    code, message = between("Code"), between("Message")
    return f"{code}: {message}" if code else text[:200]


def content_type_of(path: Path, given: str | None = None) -> str:
    if given:
        return given
    guessed = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if not guessed:
        raise CliError(f"cannot tell the content type of {path.name}: pass --content-type")
    return guessed


def _summary(document: Mapping[str, Any]) -> str:
    reason = f" ({document['reason']})" if document.get("reason") else ""
    return f"{document['document_id']}  {document['status']}{reason}"


def _history(document: Mapping[str, Any]) -> Iterator[str]:
    for entry in document.get("history", []):
        reason = f"  {entry['reason']}" if entry.get("reason") else ""
        yield f"  {entry['at']}  {entry['status']:<18} {entry['actor']}{reason}"


def _print_json(value: Any, out: TextIO) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False), file=out)


def cmd_upload(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    path: Path = args.file
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    content_type = content_type_of(path, args.content_type)
    created = api.call(
        "POST",
        "/documents",
        json={
            "filename": args.filename or path.name,
            "content_type": content_type,
            "size": path.stat().st_size,
        },
    )
    api.upload(created["upload"], path, content_type)
    document = {k: v for k, v in created.items() if k != "upload"}
    if args.wait:
        args.id = document["document_id"]
        if not args.json:
            print(f"{args.id}  uploaded {path.name}; waiting", file=sys.stderr, flush=True)
        return cmd_wait(api, args, out)
    if args.json:
        _print_json(document, out)
    else:
        print(
            f"{document['document_id']}  uploaded {path.name} "
            f"({content_type}, {document['declared_size']} bytes)",
            file=out,
        )
    return 0


def cmd_status(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    document = api.call("GET", f"/documents/{args.id}")
    if args.json:
        _print_json(document, out)
        return 0
    print(_summary(document), file=out)
    print(
        f"  {document['filename']}, {document['content_type']}, {document['declared_size']} bytes",
        file=out,
    )
    for name, value in sorted((document.get("results") or {}).items()):
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        print(f"  result {name}: {shown}", file=out)
    for line in _history(document):
        print(line, file=out)
    return 0


def cmd_list(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    params: dict[str, str] = {"limit": str(args.limit)}
    if args.status:
        params["status"] = args.status
    items: list[dict[str, Any]] = []
    while True:
        page = api.call("GET", "/documents", params=params)
        items += page["items"]
        if not args.all or not page.get("next"):
            break
        params["next"] = page["next"]
    more = None if args.all else page.get("next")
    if args.json:
        _print_json({"items": items, "next": more}, out)
        return 0
    for document in items:
        print(f"{_summary(document)}  {document['filename']}  {document['updated_at']}", file=out)
    if more:
        print("(more: --all lists every page)", file=out)
    return 0


def cmd_decide(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    body: dict[str, Any] = {"decision": args.decision}
    if args.comment:
        body["comment"] = args.comment
    document = api.call("POST", f"/documents/{args.id}/decision", json=body)
    if args.json:
        _print_json(document, out)
    else:
        print(
            f"{document['document_id']}  {document['decision']}; now {document['status']}",
            file=out,
        )
    return 0


def wait(
    api: Api,
    document_id: str,
    until: frozenset[str],
    timeout: float,
    interval: float,
    progress: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """The document once its status is in `until`, or None after `timeout` seconds; each new
    history entry is reported through `progress` as it appears."""
    started = clock()
    shown = 0
    while True:
        document = api.call("GET", f"/documents/{document_id}")
        history = document.get("history", [])
        for entry in history[shown:]:
            reason = f": {entry['reason']}" if entry.get("reason") else ""
            progress(f"{clock() - started:6.1f}s  {entry['status']} ({entry['actor']}){reason}")
        shown = len(history)
        if document["status"] in until:
            return document
        if clock() - started >= timeout:
            return None
        sleep(interval)


def cmd_wait(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    until = frozenset(args.until or (*FINAL, WAITING))
    document = wait(
        api,
        args.id,
        until,
        args.timeout,
        args.interval,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if document is None:
        raise CliError(
            f"{args.id} reached none of {', '.join(sorted(until))} within {args.timeout:g} s",
            EXIT_TIMEOUT,
        )
    if args.json:
        _print_json(document, out)
    else:
        print(_summary(document), file=out)
        if document["status"] == WAITING:
            print(
                f"  decide with: python -m docflow_client decide {args.id} approve|reject",
                file=out,
            )
    return EXIT_NOT_PROCESSED if document["status"] in NOT_PROCESSED else 0


def _add_wait_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--until",
        action="append",
        metavar="STATUS",
        help="stop at this status (repeatable; default: the final ones and awaiting_approval)",
    )
    command.add_argument(
        "--timeout", type=float, default=300.0, help="seconds (default: %(default)s)"
    )
    command.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls (default: %(default)s)"
    )


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where and who")
    where.add_argument("--api-url", help="the API's base URL (else $DOCFLOW_API_URL, else --stack)")
    where.add_argument("--api-key", help="an API key (else $DOCFLOW_API_KEY, else --stack)")
    where.add_argument(
        "--stack",
        type=Path,
        default=DEFAULT_STACK,
        help="the local stack's description, written by make up (default: %(default)s)",
    )
    where.add_argument(
        "--owner",
        default="demo-alice",
        help="whose key to take from --stack (default: %(default)s)",
    )
    common.add_argument("--json", action="store_true", help="print the API's JSON (for scripts)")

    top = argparse.ArgumentParser(
        prog="python -m docflow_client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, run: Callable[[Api, argparse.Namespace, TextIO], int], role: str, help: str
    ) -> argparse.ArgumentParser:
        """A subcommand taking the common options, run by `run` with the owner's `role` key."""
        sub = commands.add_parser(name, parents=[common], help=help)
        sub.set_defaults(run=run, role=role)
        return sub

    upload = command("upload", cmd_upload, "submit", "record a document and upload FILE to it")
    upload.add_argument("file", type=Path, metavar="FILE")
    upload.add_argument("--content-type", help="default: from the file's extension")
    upload.add_argument("--filename", help="the name to record (default: FILE's name)")
    upload.add_argument("--wait", action="store_true", help="then wait as the wait command does")
    _add_wait_options(upload)

    status = command("status", cmd_status, "submit", "a document's status and history")
    status.add_argument("id", metavar="ID")

    listing = command("list", cmd_list, "submit", "the owner's documents")
    listing.add_argument("--status", help="only documents in this status")
    listing.add_argument(
        "--limit", type=int, default=25, help="page size, 1 to 100 (default: %(default)s)"
    )
    listing.add_argument("--all", action="store_true", help="follow every page")

    decide = command(
        "decide",
        cmd_decide,
        "approve",
        "approve or reject a document awaiting approval (the owner's approve key)",
    )
    decide.add_argument("id", metavar="ID")
    decide.add_argument("decision", choices=["approve", "reject"])
    decide.add_argument("--comment", help="kept with the decision")

    waiting = command(
        "wait",
        cmd_wait,
        "submit",
        "poll a document until it is final or awaiting approval, printing each step",
    )
    waiting.add_argument("id", metavar="ID")
    _add_wait_options(waiting)
    return top


def main(
    argv: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    args = parser().parse_args(argv)
    try:
        target = resolve(args, args.role, os.environ if environ is None else environ)
        return int(args.run(Api(target), args, out or sys.stdout))
    except CliError as exc:
        print(f"docflow: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("docflow: interrupted", file=sys.stderr)
        return 130
