"""Manage docflow API keys in the stage's Secrets Manager secret (hashes only).

    python -m scripts.apikeys add --secret docflow/dev/api-keys --owner acme --roles submit,approve
    python -m scripts.apikeys list --secret docflow/dev/api-keys
    python -m scripts.apikeys revoke --secret docflow/dev/api-keys --key-id k-acme-1a2b

`add` prints the new key once; only its SHA-256 is stored. Uses the usual AWS credential
chain and honours AWS_ENDPOINT_URL (the local stack).
"""

from __future__ import annotations

import argparse
import json
import secrets as std_secrets
from typing import Any

import boto3

from docflow.api.auth import key_entry, new_key


def _load(client: Any, secret: str) -> dict[str, Any]:
    value = json.loads(client.get_secret_value(SecretId=secret)["SecretString"])
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


def revoke(client: Any, secret: str, key_id: str) -> bool:
    value = _load(client, secret)
    kept = [entry for entry in value["keys"] if entry.get("key_id") != key_id]
    if len(kept) == len(value["keys"]):
        return False
    value["keys"] = kept
    client.put_secret_value(SecretId=secret, SecretString=json.dumps(value))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("add", "list", "revoke"):
        sub = commands.add_parser(name)
        sub.add_argument("--secret", required=True, help="secret name (config: api.keysSecretName)")
        if name == "add":
            sub.add_argument("--owner", required=True)
            sub.add_argument(
                "--roles", default="submit", help="comma-separated: submit,approve,read"
            )
        if name == "revoke":
            sub.add_argument("--key-id", required=True)
    args = parser.parse_args(argv)
    client = boto3.client("secretsmanager")
    if args.command == "add":
        roles = tuple(r.strip() for r in args.roles.split(",") if r.strip())
        key_id, key = add(client, args.secret, args.owner, roles)
        print(json.dumps({"key_id": key_id, "owner": args.owner, "roles": roles, "key": key}))
    elif args.command == "list":
        for entry in _load(client, args.secret)["keys"]:
            print(json.dumps({k: entry[k] for k in ("key_id", "owner", "roles")}))
    elif not revoke(client, args.secret, args.key_id):
        print(f"no key {args.key_id} in {args.secret}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
