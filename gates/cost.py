"""Monthly cost estimate for a document volume (docs/operations.md, "Cost estimate").

    python -m gates cost 250000 [--stage prod]

Prices: AWS list prices for eu-west-1, on demand, without the free tier, as used for the
estimate on 2026-11-27; per-document usage from the workflows as built. Both are data
below, so a price change is a one-line edit and the table in the docs can be regenerated.
What a stage's config decides is read from it: the Kinesis shard count, provisioned
concurrency and SnapStart (config coldStart), and the functions' memory and architecture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HOURS_PER_MONTH = 730

PRICES_AS_OF = "2026-11-27"
REGION = "eu-west-1"

# USD per unit.
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000133334,  # arm64
    "sfn_transition": 0.025 / 1000,  # Standard workflows
    "sqs_request": 0.40 / 1e6,
    "ddb_write_unit": 0.7068 / 1e6,
    "ddb_read_unit": 0.1414 / 1e6,
    "ddb_gb_month": 0.283,
    "s3_gb_month": 0.023,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "http_api_request": 1.11 / 1e6,
    "ses_email": 0.10 / 1000,  # outbound e-mail, sent from Lambda
    "kinesis_shard_hour": 0.015,  # provisioned mode
    "kinesis_put_unit": 0.014 / 1e6,  # per 25 KB PUT payload unit
    # Provisioned concurrency, per GB-second kept initialised (arm64; x86_64 0.0000041667).
    "lambda_provisioned_gb_second": 0.0000033334,
    # SnapStart (Python): the snapshot cache per GB-second of each active version's memory;
    # restores (0.0001397998 USD per GB restored) depend on scale-outs and are left out.
    "snapstart_cache_gb_second": 0.0000015046,
    "cw_alarm_metric_month": 0.10,
    "cw_dashboard_month": 3.00,
    "cw_log_gb": 0.57,
}

# Usage per document.
PER_DOCUMENT = {
    "lambda_request": 20,
    "lambda_gb_second": 6.0,
    "sfn_transition": 10,
    "sqs_request": 6,
    "ddb_write_unit": 20,
    "ddb_read_unit": 10,
    "ddb_gb_month": 3e-6,  # 3 KB stored per document
    "s3_gb_month": 1.5e-3,  # 1.5 MB stored per document (original and derivatives)
    "s3_put": 8,
    "s3_get": 5,
    "http_api_request": 6,
    "cw_log_gb": 2e-5,  # about 20 KB of structured logs per document
    "ses_email": 1.1,  # a processed or failed notice, and an approval request one time in ten
    "kinesis_put_unit": 20,  # access and application log records into the analytics stream
}

# Usage per month whatever the volume.
FIXED = {
    "sqs_request": 1.0e6,  # Lambda's long-polling of the queues
    "cw_alarm_metric_month": 64,  # prod's, one per metric an alarm reads (tests/templates)
    "cw_dashboard_month": 1,
    "ses_email": 30,  # the daily digest
}

LINES = {
    "Step Functions": ("sfn_transition",),
    "Lambda": ("lambda_request", "lambda_gb_second"),
    "S3": ("s3_put", "s3_get", "s3_gb_month"),
    "DynamoDB": ("ddb_write_unit", "ddb_read_unit", "ddb_gb_month"),
    "SQS": ("sqs_request",),
    "HTTP API": ("http_api_request",),
    "CloudWatch": ("cw_alarm_metric_month", "cw_dashboard_month", "cw_log_gb"),
    "SES": ("ses_email",),
    "Kinesis": ("kinesis_shard_hour", "kinesis_put_unit"),
    "Cold-start controls": ("lambda_provisioned_gb_second", "snapstart_cache_gb_second"),
}
_X86_PROVISIONED_GB_SECOND = 0.0000041667


def stage_usage(config: Mapping[str, Any]) -> dict[str, float]:
    """Monthly usage the stage's config decides, whatever the volume."""
    seconds = HOURS_PER_MONTH * 3600
    functions = config.get("functions") or {}
    provisioned = snapshots = 0.0
    for name, setting in (config.get("coldStart") or {}).items():
        gb = functions[name]["memory"] / 1024
        provisioned += setting.get("provisionedConcurrency", 0) * gb * seconds
        snapshots += gb * seconds if setting.get("snapStart") else 0.0
    if config.get("architecture") == "x86_64":
        provisioned *= _X86_PROVISIONED_GB_SECOND / PRICE["lambda_provisioned_gb_second"]
    return {
        "kinesis_shard_hour": (config.get("analytics") or {}).get("shardCount", 0)
        * HOURS_PER_MONTH,
        "lambda_provisioned_gb_second": provisioned,
        "snapstart_cache_gb_second": snapshots,
    }


@dataclass(frozen=True)
class Estimate:
    documents: int
    lines: dict[str, float]
    stage: str

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    def table(self) -> str:
        rows = [f"{'service':<20} {'USD/month':>10}"]
        rows += [f"{name:<20} {usd:>10.2f}" for name, usd in self.lines.items()]
        rows.append(f"{'total':<20} {self.total:>10.2f}")
        rows.append(
            f"({self.documents:,} documents a month, stage {self.stage}; {REGION} list prices "
            f"as of {PRICES_AS_OF}; S3 storage is the first month's intake and accumulates)"
        )
        return "\n".join(rows)


def estimate(documents: int, config: Mapping[str, Any], stage: str = "prod") -> Estimate:
    """The month's cost of `documents` on a stage configured as `config` (config/<stage>.yml)."""
    if documents < 0:
        raise ValueError("documents must be zero or more")
    decided = stage_usage(config)

    def usd(unit: str) -> float:
        quantity = (
            PER_DOCUMENT.get(unit, 0.0) * documents + FIXED.get(unit, 0.0) + decided.get(unit, 0.0)
        )
        return quantity * PRICE[unit]

    lines = {name: sum(map(usd, units)) for name, units in LINES.items()}
    return Estimate(documents, lines, stage)
