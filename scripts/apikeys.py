"""Manage docflow API keys in the stage's Secrets Manager secret (hashes only).

    python -m scripts.apikeys add --stage dev --owner acme --roles submit
    python -m scripts.apikeys list --stage dev
    python -m scripts.apikeys revoke --stage dev --key-id k-acme-1a2b3c

`--stage` names the secret (config/<stage>.yml `api.keysSecretName`) and the region; the
local stage is the running local stack (.local/stack.json). `--secret NAME` names another
secret. `add` prints the new key once; only its SHA-256 is stored. Roles: submit (create
documents), approve (decide on documents another key submitted), read (read only).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets as std_secrets
import sys
from pathlib import Path
from typing import Any

from docflow.api.auth import ROLES, key_entry, new_key
from scripts import stage as target
from scripts.stage import OperatorError

_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _load(client: Any, secret: str) -> dict[str, Any]:
    try:
        raw = client.get_secret_value(SecretId=secret)["SecretString"]
    except client.exceptions.ResourceNotFoundException:
        raise OperatorError(
            f"no secret {secret!r} here: is the stage deployed, and is this its region?"
        ) from None
    value = json.loads(raw)
    value.setdefault("keys", [])
    return dict(value)


def add(client: Any, secret: str, owner: str, roles: tuple[str, ...]) -> tuple[str, str]:
    """Add a key for `owner`; returns (key_id, key). The key itself is never stored."""
    value = _load(client, secret)
    key_id = f"k-{owner}-{std_secrets.token_hex(3)}"
    key = new_key()
    value["keys"].append(key_entry(key_id, owner, key, roles))
    client.put_secret_value(SecretId=secret, SecretString=json.dumps(value))
    return key_id, key


def revoke(client: Any, secret: str, key_id: str) -> dict[str, Any] | None:
    """Remove the key; returns its entry (without the hash), or None if there was none."""
    value = _load(client, secret)
    gone = [entry for entry in value["keys"] if entry.get("key_id") == key_id]
    if not gone:
        return None
    value["keys"] = [entry for entry in value["keys"] if entry.get("key_id") != key_id]
    client.put_secret_value(SecretId=secret, SecretString=json.dumps(value))
    return _public(gone[0])


def listed(client: Any, secret: str) -> list[dict[str, Any]]:
    return [_public(entry) for entry in _load(client, secret)["keys"]]


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("key_id", "owner", "roles")}


def roles_argument(text: str) -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        what = f"unknown role {unknown[0]!r}" if unknown else "no role given"
        raise argparse.ArgumentTypeError(f"{what}; allowed roles: {', '.join(ROLES)}")
    return roles


def owner_argument(text: str) -> str:
    if not _OWNER.match(text):
        raise argparse.ArgumentTypeError(
            f"owner {text!r}: letters, digits, '.', '_' and '-', at most 64, "
            "starting with a letter or digit"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.apikeys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("add", "issue a key (printed once) for an owner with roles"),
        ("list", "the keys of the secret: id, owner, roles (never a hash)"),
        ("revoke", "remove a key by id"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        where = sub.add_mutually_exclusive_group(required=True)
        where.add_argument("--stage", help="local, dev, prod: its secret and region")
        where.add_argument("--secret", help="a secret name (config: api.keysSecretName)")
        sub.add_argument("--region", help="instead of the stage's region")
        sub.add_argument("--stack", type=Path, default=target.STACK_FILE, help=argparse.SUPPRESS)
        if name == "add":
            sub.add_argument("--owner", required=True, type=owner_argument)
            sub.add_argument(
                "--roles",
                default=("submit",),
                type=roles_argument,
                help=f"comma-separated, of: {', '.join(ROLES)} (default: submit)",
            )
        if name == "revoke":
            sub.add_argument("--key-id", required=True, help="as `list` shows it")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return target.run(f"apikeys {args.command}", lambda: _command(args))


def _command(args: argparse.Namespace) -> int:
    stage = args.stage or target.stage_of_secret(args.secret)
    where = target.resolve(stage, args.region, args.stack)
    secret = args.secret or where.settings["api"]["keysSecretName"]
    client = where.client("secretsmanager")
    if args.command == "add":
        key_id, key = add(client, secret, args.owner, args.roles)
        print(json.dumps({"key_id": key_id, "owner": args.owner, "roles": args.roles, "key": key}))
        print(
            f"added {key_id} to {secret} in {where.where}; the key is shown only once",
            file=sys.stderr,
        )
    elif args.command == "list":
        entries = listed(client, secret)
        for entry in entries:
            print(json.dumps(entry))
        print(f"{len(entries)} key(s) in {secret} in {where.where}", file=sys.stderr)
    else:
        gone = revoke(client, secret, args.key_id)
        if gone is None:
            known = ", ".join(e["key_id"] for e in listed(client, secret)) or "none"
            raise OperatorError(f"no key {args.key_id!r} in {secret} (its keys: {known})")
        cache = where.settings.get("api", {}).get("keyCacheSeconds")
        bound = f"; running functions may accept it for up to {cache} s more" if cache else ""
        print(
            f"revoked {gone['key_id']} (owner {gone['owner']}, roles "
            f"{','.join(gone['roles'] or [])}) from {secret} in {where.where}{bound}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
