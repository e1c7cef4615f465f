"""Monthly cost estimate for a document volume (docs/operations.md, "Cost estimate").

    python -m gates cost 250000

Prices: AWS list prices for eu-west-1, on demand, without the free tier, as used for the
estimate on 2026-11-27; per-document usage from the workflows as built. Both are data
below, so a price change is a one-line edit and the table in the docs can be regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass

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
}

# Usage per month whatever the volume.
FIXED = {
    "sqs_request": 1.0e6,  # Lambda's long-polling of the queues
    "cw_alarm_metric_month": 60,
    "cw_dashboard_month": 1,
}

LINES = {
    "Step Functions": ("sfn_transition",),
    "Lambda": ("lambda_request", "lambda_gb_second"),
    "S3": ("s3_put", "s3_get", "s3_gb_month"),
    "DynamoDB": ("ddb_write_unit", "ddb_read_unit", "ddb_gb_month"),
    "SQS": ("sqs_request",),
    "HTTP API": ("http_api_request",),
    "CloudWatch": ("cw_alarm_metric_month", "cw_dashboard_month", "cw_log_gb"),
}


@dataclass(frozen=True)
class Estimate:
    documents: int
    lines: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    def table(self) -> str:
        rows = [f"{'service':<16} {'USD/month':>10}"]
        rows += [f"{name:<16} {usd:>10.2f}" for name, usd in self.lines.items()]
        rows.append(f"{'total':<16} {self.total:>10.2f}")
        rows.append(
            f"({self.documents:,} documents a month; {REGION} list prices as of "
            f"{PRICES_AS_OF}; S3 storage is the first month's intake and accumulates)"
        )
        return "\n".join(rows)


def estimate(documents: int) -> Estimate:
    if documents < 0:
        raise ValueError("documents must be zero or more")

    def usd(unit: str) -> float:
        quantity = PER_DOCUMENT.get(unit, 0.0) * documents + FIXED.get(unit, 0.0)
        return quantity * PRICE[unit]

    return Estimate(documents, {name: sum(map(usd, units)) for name, units in LINES.items()})
