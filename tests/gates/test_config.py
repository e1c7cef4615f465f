"""The stage configuration schema: every stage passes, a seeded mistake fails by name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gates import config as stage_config
from gates.findings import Finding


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return stage_config.load_schema()


def _messages(findings: list[Finding]) -> list[str]:
    return [str(f) for f in findings]


def test_every_stage_config_matches_the_schema() -> None:
    assert stage_config.validate_all() == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda c: c["monitoring"].update(durationPercentOfTimeout=120),
            "key monitoring.durationPercentOfTimeout: expected percent of the function "
            "timeout, 50-100, got 120",
        ),
        (
            lambda c: c["monitoring"].update(alarmEmails=["ops-at-example.com"]),
            "key monitoring.alarmEmails.0: expected an e-mail address, got 'ops-at-example.com'",
        ),
        (
            lambda c: c["monitoring"].pop("alarmEmails"),
            "key monitoring.alarmEmails: missing; expected at least one e-mail address",
        ),
        (lambda c: c.pop("budget"), "key budget: missing"),
        (
            lambda c: c["budget"].update(monthlyUsd=0),
            "key budget.monthlyUsd: expected USD per month, above 0, got 0",
        ),
        (
            lambda c: c["reservedConcurrency"].update(api="lots"),
            "key reservedConcurrency.api: expected an integer 1-1000, or null",
        ),
        (
            lambda c: c.update(logRetentionDays=10),
            "key logRetentionDays: expected a retention CloudWatch Logs accepts, got 10",
        ),
        (
            lambda c: c["functions"]["api"].update(timeout=901),
            "key functions.api.timeout: expected seconds, 1-900, got 901",
        ),
        (
            lambda c: c.update(logRetentionDays=13),
            "key logRetentionDays: expected a retention CloudWatch Logs accepts, got 13; "
            "allowed: 1, 3, 5, 7, 14, 30, 60, 90,",
        ),
        (
            lambda c: c["tags"].update(stage="dev"),
            "key tags.stage: expected 'prod'",
        ),
    ],
)
def test_a_seeded_mistake_is_reported_with_stage_key_and_expected_value(
    schema: dict[str, Any], mutate: Any, expected: str
) -> None:
    config = copy.deepcopy(stage_config.load_stage("prod"))
    mutate(config)

    messages = _messages(stage_config.validate_stage("prod", config, schema))

    where = "[config] config/prod.yml (stage prod):"
    assert any(expected in m and m.startswith(where) for m in messages), messages


def test_reserved_concurrency_must_name_a_defined_function(schema: dict[str, Any]) -> None:
    config = copy.deepcopy(stage_config.load_stage("dev"))
    config["reservedConcurrency"] = {"api": 10, "intake": 5, "apj": 5}

    messages = _messages(
        stage_config.validate_stage("dev", config, schema, frozenset({"api", "intake"}))
    )

    assert messages == [
        "[config] config/dev.yml (stage dev): key reservedConcurrency.apj: expected the name of "
        "a function (api, intake), got 'apj'"
    ]


def test_reserved_concurrency_must_list_every_function(schema: dict[str, Any]) -> None:
    config = copy.deepcopy(stage_config.load_stage("dev"))
    config["reservedConcurrency"] = {"api": 10}

    messages = _messages(
        stage_config.validate_stage("dev", config, schema, frozenset({"api", "intake"}))
    )

    assert messages == [
        "[config] config/dev.yml (stage dev): key reservedConcurrency.intake: missing; "
        "expected an integer 1-1000, or null for no reservation (every function is listed)"
    ]


@pytest.mark.parametrize(
    ("throttle", "expected"),
    [
        ({"rateLimit": 0, "burstLimit": 10}, "key api.throttle.rateLimit: expected steady"),
        ({"rateLimit": 5, "burstLimit": 0}, "key api.throttle.burstLimit: expected requests"),
        ({"rateLimit": 5}, "key api.throttle.burstLimit: missing"),
        ({"rateLimit": 5, "burstLimit": 9000}, "key api.throttle.burstLimit: expected requests"),
    ],
)
def test_the_stage_throttle_is_validated(
    schema: dict[str, Any], throttle: dict[str, Any], expected: str
) -> None:
    config = copy.deepcopy(stage_config.load_stage("prod"))
    config["api"]["throttle"] = throttle

    messages = _messages(stage_config.validate_stage("prod", config, schema))

    assert any(
        m.startswith(f"[config] config/prod.yml (stage prod): {expected}") for m in messages
    ), messages


def test_prod_names_the_owners_it_trusts_without_review(schema: dict[str, Any]) -> None:
    prod = copy.deepcopy(stage_config.load_stage("prod"))
    assert "*" not in prod["processing"]["policy"]["senderAllowList"]
    prod["processing"]["policy"]["senderAllowList"] = ["acme", "*"]

    assert _messages(stage_config.validate_stage("prod", prod, schema)) == [
        "[config] config/prod.yml (stage prod): key processing.policy.senderAllowList.1: "
        "expected an owner id: prod lists the owners it trusts without review, '*' (every "
        "owner) is not allowed, got '*' ('*' should not be valid under "
        "{'const': '*'})"
    ]
    # Other stages may trust every owner (local demos, dev).
    dev = copy.deepcopy(stage_config.load_stage("dev"))
    dev["processing"]["policy"]["senderAllowList"] = ["*"]
    assert stage_config.validate_stage("dev", dev, schema) == []


def test_stage_diff_lists_exactly_the_keys_that_differ() -> None:
    a = {"region": "eu-west-1", "budget": {"monthlyUsd": 50}, "tags": {"stage": "dev"}}
    b = {"region": "eu-west-1", "budget": {"monthlyUsd": 500}, "retainData": True}

    rows = stage_config.diff_stages(a, b)

    assert [(k, va, vb) for k, va, vb in rows if k != "tags.stage"] == [
        ("budget.monthlyUsd", 50, 500),
        ("retainData", stage_config._MISSING, True),
    ]
    text = stage_config.format_diff("dev", "prod", rows)
    assert "budget.monthlyUsd" in text
    assert "(absent)" in text
    assert "region" not in text


def test_dev_and_prod_differ_in_retention_and_alarm_recipients() -> None:
    keys = {
        key
        for key, _, _ in stage_config.diff_stages(
            stage_config.load_stage("dev"), stage_config.load_stage("prod")
        )
    }
    assert {"retainData", "dataDeletionPolicy", "deletionProtection", "budget.monthlyUsd"} <= keys
    assert "monitoring.alarmEmails" in keys
