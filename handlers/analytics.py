"""`analytics`: the HTTP API's access log from Kinesis (a CloudWatch Logs subscription), per
tumbling window; metrics and alerts at its end."""

from __future__ import annotations

import dataclasses
from typing import Any

from docflow.analytics.model import AlertPolicy, Window
from docflow.analytics.service import Analyzer
from docflow.analytics.store import AlarmTopic
from shared.batch import process_batch
from shared.events.cloudwatch_logs import log_lines
from shared.events.kinesis import KinesisWindowEvent
from shared.handler import lambda_handler
from shared.idempotency import Idempotency
from shared.settings import Settings, env


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnalyticsSettings(Settings):
    alert_topic_arn: str = env("ALERT_TOPIC_ARN")
    idempotency_table: str = env("IDEMPOTENCY_TABLE")
    namespace: str = env("METRICS_NAMESPACE")
    error_rate_percent: int = env("ALERT_ERROR_RATE_PERCENT")
    p99_latency_ms: int = env("ALERT_P99_LATENCY_MS")
    min_requests: int = env("ALERT_MIN_REQUESTS")
    max_routes: int = env("MAX_ROUTES", 50)


settings = AnalyticsSettings.load()
idempotency = Idempotency(settings.idempotency_table)
analyzer = Analyzer(
    settings.namespace,
    settings.service,
    AlertPolicy(settings.error_rate_percent, settings.p99_latency_ms, settings.min_requests),
    AlarmTopic(settings.alert_topic_arn, settings.stage),
    settings.max_routes,
    once=idempotency.run_once,
)


@lambda_handler(trigger="batch", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    batch = KinesisWindowEvent.from_event(event)
    state = analyzer.resume(batch.state)
    # A record that stops the batch is retried from its sequence number (ordered).
    response = process_batch(
        batch.records,
        lambda record: analyzer.take(state, log_lines(record.data)),
        lambda record: record.sequence_number,
        ordered=True,
    )
    if batch.is_final and not response["batchItemFailures"]:
        analyzer.close(state, Window(batch.shard_id, batch.window_start, batch.window_end))
        state = {}
    return {"state": state, **response}
