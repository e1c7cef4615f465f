"""Separation of duties and key revocation on the local stack (issue 12).

Each demo owner has a submit-only and an approve-only key (`.local/stack.json`); the key that
submitted a document may not decide on it, whatever its roles. A revoked key stops working
within the stage's `api.keyCacheSeconds` (config/local.yml).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import yaml

from localcloud.stack import ROOT
from scripts import apikeys
from tests.e2e.conftest import FINAL, LocalStack, retry_throttled, wait_for
from tests.processing_samples import csv_bytes

pytestmark = pytest.mark.e2e

KEY_CACHE_SECONDS = yaml.safe_load((ROOT / "config" / "local.yml").read_text())["api"][
    "keyCacheSeconds"
]


def _flagged(local: LocalStack, owner: str = "demo-alice") -> str:
    # 3 x 4,000 = 12,000: over the local threshold of 10,000, so it waits for an approver.
    document_id = local.upload("order.csv", "text/csv", csv_bytes(3, amount="4000"), owner)
    waiting = local.wait_status(document_id, {"awaiting_approval", *FINAL})
    assert waiting["status"] == "awaiting_approval", waiting
    return document_id


def _call(local: LocalStack, key: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    return retry_throttled(
        lambda: requests.request(
            method, f"{local.api_url}{path}", headers={"x-api-key": key}, timeout=60, **kwargs
        ),
        lambda answer: answer.status_code,
    )


def test_the_submit_key_is_refused_and_the_owners_approve_key_decides(
    local_stack: LocalStack,
) -> None:
    keys = local_stack.description["api_keys"]
    mine = sorted((e["roles"], e["owner"]) for e in keys.values() if e["owner"] == "demo-alice")
    assert mine == [(["approve"], "demo-alice"), (["submit"], "demo-alice")]
    document_id = _flagged(local_stack)
    path = f"/documents/{document_id}/decision"

    refused = local_stack.api("POST", path, role="submit", json={"decision": "approve"})
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    accepted = local_stack.api("POST", path, role="approve", json={"decision": "approve"})
    assert (accepted.status_code, accepted.json()["decision"]) == (200, "approved"), accepted.text

    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "processed", final
    approver = next(
        e["key_id"]
        for e in keys.values()
        if e["owner"] == "demo-alice" and e["roles"] == ["approve"]
    )
    assert final["results"]["approval"]["decided_by"] == approver


def test_a_key_with_both_roles_may_not_decide_on_what_it_submitted_and_revocation_is_bounded(
    local_stack: LocalStack,
) -> None:
    secrets = local_stack.client("secretsmanager")
    secret = local_stack.description["api_keys_secret"]
    key_id, key = apikeys.add(secrets, secret, "demo-alice", ("submit", "approve"))
    # A new key is found at once (an unknown key refreshes the list), or within the TTL.
    wait_for(
        lambda: _call(local_stack, key, "GET", "/documents").status_code == 200,
        timeout=KEY_CACHE_SECONDS + 30,
    )
    created = _call(
        local_stack,
        key,
        "POST",
        "/documents",
        json={"filename": "order.csv", "content_type": "text/csv", "size": 10},
    )
    assert created.status_code == 201, created.text
    table = local_stack.description["tables"]["DocumentsTable"]
    item = local_stack.client("dynamodb").get_item(
        TableName=table, Key={"document_id": {"S": created.json()["document_id"]}}
    )["Item"]
    assert item["submitted_by"] == {"S": key_id}

    document_id = _flagged(local_stack)  # submitted by alice's submit-only key
    own = _call(
        local_stack,
        key,
        "POST",
        f"/documents/{created.json()['document_id']}/decision",
        json={"decision": "approve"},
    )
    assert (own.status_code, own.json()["error"]) == (403, "separation_of_duties")
    # The same key may decide on a document another key submitted.
    other = _call(
        local_stack, key, "POST", f"/documents/{document_id}/decision", json={"decision": "reject"}
    )
    assert other.status_code == 200, other.text

    assert apikeys.revoke(secrets, secret, key_id)
    wait_for(
        lambda: _call(local_stack, key, "GET", "/documents").status_code == 401,
        timeout=KEY_CACHE_SECONDS + 30,
    )
