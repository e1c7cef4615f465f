from __future__ import annotations

from decimal import Decimal

import pytest

from docflow.processing.config import ProcessingSettings
from docflow.processing.images import ImageLimits
from docflow.processing.policy import PolicyRules
from docflow.processing.tables import CsvSchema
from shared.settings import SettingsError

ENV = {
    "DOCUMENTS_TABLE": "t",
    "DOCUMENTS_BUCKET": "b",
    "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:events",
}


def test_settings_become_the_processing_config() -> None:
    settings = ProcessingSettings.load(
        {
            **ENV,
            "CSV_REQUIRED_COLUMNS": "Amount, ID",
            "POLICY_AMOUNT_THRESHOLD": "2500.50",
            "POLICY_SENDER_ALLOW_LIST": "alice,bob",
            "APPROVAL_TIMEOUT_SECONDS": "60",
        }
    )
    assert settings.csv_schema() == CsvSchema(("amount", "id"), "amount", "date")
    assert settings.policy_rules() == PolicyRules(
        Decimal("2500.50"), 5 * 1024 * 1024, frozenset({"alice", "bob"})
    )
    assert settings.image_limits() == ImageLimits(50_000_000, 256, 2048, 80)
    assert settings.approval_timeout_seconds == 60


def test_a_missing_topic_or_a_malformed_threshold_fails_at_start_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="EVENTS_TOPIC_ARN"):
        ProcessingSettings.load({"DOCUMENTS_TABLE": "t", "DOCUMENTS_BUCKET": "b"})
    with pytest.raises(SettingsError, match="POLICY_AMOUNT_THRESHOLD"):
        ProcessingSettings.load({**ENV, "POLICY_AMOUNT_THRESHOLD": "lots"})
