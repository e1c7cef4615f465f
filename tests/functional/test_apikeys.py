from __future__ import annotations

import json

from docflow.api.auth import KeyRing
from scripts import apikeys
from tests.conftest import Stack


def test_added_keys_authenticate_and_revoked_keys_do_not(stack: Stack) -> None:
    client = stack.client("secretsmanager")
    key_id, key = apikeys.add(client, stack.api_keys_secret, "carol", ("submit",))
    stored = client.get_secret_value(SecretId=stack.api_keys_secret)["SecretString"]
    assert key not in stored

    def load(refresh: bool) -> object:
        raw = client.get_secret_value(SecretId=stack.api_keys_secret)["SecretString"]
        return json.loads(raw)

    assert KeyRing(load).authenticate(key).owner == "carol"
    assert apikeys.revoke(client, stack.api_keys_secret, key_id)
    assert not apikeys.revoke(client, stack.api_keys_secret, key_id)
    assert key_id not in client.get_secret_value(SecretId=stack.api_keys_secret)["SecretString"]
