"""Alerts published on the alarm topic."""

from __future__ import annotations

import json
from dataclasses import asdict

from docflow.analytics.model import Alert
from shared import aws


class AlarmTopic(aws.Topic):
    def __init__(
        self, topic_arn: str, stage: str, client_factory: aws.ClientFactory | None = None
    ) -> None:
        super().__init__(topic_arn, client_factory)
        self.stage = stage

    def publish(self, alert: Alert, window: tuple[str | None, str | None]) -> None:
        message = {
            "source": "docflow.analytics",
            "stage": self.stage,
            "route": alert.route,
            "reasons": list(alert.reasons),
            "window": {"start": window[0], "end": window[1]},
            "stats": {**asdict(alert.stats), "error_rate_percent": alert.stats.error_rate_percent},
        }
        subject = f"docflow {self.stage}: {alert.route}: {'; '.join(alert.reasons)}"
        try:
            self._client_factory().publish(
                TopicArn=self.topic_arn,
                Subject=subject[:100],  # SNS limit
                Message=json.dumps(message, sort_keys=True),
            )
        except Exception as exc:
            raise aws.translate(exc, "publishing an analytics alert") from exc
