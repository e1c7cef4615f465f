from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest

from docflow.processing.config import ProcessingSettings
from shared.settings import SettingsError
from tests.support import ROOT

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
    config = settings.processing_config()
    assert config.csv_schema.required_columns == ("amount", "id")
    assert config.rules.amount_threshold == Decimal("2500.50")
    assert config.rules.sender_allow_list == frozenset({"alice", "bob"})
    assert config.approval_timeout_seconds == 60


def test_a_missing_topic_or_a_malformed_threshold_fails_at_start_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="EVENTS_TOPIC_ARN"):
        ProcessingSettings.load({"DOCUMENTS_TABLE": "t", "DOCUMENTS_BUCKET": "b"})
    settings = ProcessingSettings.load({**ENV, "POLICY_AMOUNT_THRESHOLD": "lots"})
    with pytest.raises(SettingsError, match="POLICY_AMOUNT_THRESHOLD"):
        settings.processing_config()


@pytest.mark.parametrize(
    "module",
    [
        "handlers.process_policy",
        "handlers.process_request_approval",
        "handlers.process_finalize",
        "handlers.process_reject",
        "handlers.process_compensate",
        "handlers.api",
    ],
)
def test_handlers_that_transform_nothing_do_not_import_pillow(module: str) -> None:
    env = {
        **os.environ,
        **ENV,
        "AWS_REGION": "us-east-1",
        "API_KEYS_SECRET": "s",
        "MAX_UPLOAD_BYTES": "1",
        "ALLOWED_TYPES": "text/csv",
    }
    code = f"import sys, {module}; print('PIL' in sys.modules)"
    shown = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "False"
