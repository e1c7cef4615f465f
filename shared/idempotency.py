"""At most one effect per logical event under duplicate delivery.

A claim is a conditional put on the idempotency table keyed by the event's identity (an S3
object version, an SQS message id...). The first delivery takes the claim and runs; a
duplicate finds it completed and skips. If the work fails, the claim is released so the
source's retry runs it again; a claim left `in_progress` by a crashed invocation expires
after `lease_seconds`, so nothing stays stuck.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shared import aws

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


class Idempotency:
    def __init__(
        self,
        table_name: str,
        *,
        lease_seconds: int = 900,
        retention_seconds: int = 7 * 24 * 3600,
        client_factory: Callable[[], Any] = lambda: aws.client("dynamodb"),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table_name = table_name
        self.lease_seconds = lease_seconds
        self.retention_seconds = retention_seconds
        self._client_factory = client_factory
        self._clock = clock

    def claim(self, key: str) -> bool:
        """Take the claim for `key`; False when another delivery completed or holds it."""
        now = int(self._clock())
        try:
            self._client_factory().put_item(
                TableName=self.table_name,
                Item={
                    "idempotency_key": {"S": key},
                    "status": {"S": IN_PROGRESS},
                    "lease_until": {"N": str(now + self.lease_seconds)},
                    "expires_at": {"N": str(now + self.retention_seconds)},
                },
                ConditionExpression=(
                    "attribute_not_exists(idempotency_key) OR "
                    "(#status = :in_progress AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":in_progress": {"S": IN_PROGRESS},
                    ":now": {"N": str(now)},
                },
            )
        except Exception as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise aws.translate(exc, "claiming idempotency key") from exc
        return True

    def complete(self, key: str) -> None:
        try:
            self._client_factory().update_item(
                TableName=self.table_name,
                Key={"idempotency_key": {"S": key}},
                UpdateExpression="SET #status = :completed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":completed": {"S": COMPLETED}},
            )
        except Exception as exc:
            raise aws.translate(exc, "completing idempotency key") from exc

    def release(self, key: str) -> None:
        try:
            self._client_factory().delete_item(
                TableName=self.table_name, Key={"idempotency_key": {"S": key}}
            )
        except Exception as exc:
            raise aws.translate(exc, "releasing idempotency key") from exc

    def run_once(self, key: str, work: Callable[[], Any]) -> tuple[bool, Any]:
        """Run `work` unless a delivery of `key` already did; (ran, result)."""
        if not self.claim(key):
            return False, None
        try:
            result = work()
        except BaseException:
            self.release(key)
            raise
        self.complete(key)
        return True, result
