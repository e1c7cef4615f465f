"""At most one effect per logical event under duplicate delivery.

A claim is a conditional put on the idempotency table keyed by the event's identity (an S3
object version, an SQS message id...). The states a delivery can find, as Powertools'
idempotency utility defines them:

- no record (or one past its retention): it takes the claim and runs the work;
- `completed`: a delivery already had the effect; `run_once` answers (False, None);
- `in_progress` within its lease: another invocation is running it right now, or died
  before its deadline. That is not a success: `ClaimInProgressError` (a `TransientError`)
  makes the source retry, as a failed batch item, an asynchronous invocation's function
  error or a Step Functions retry. Acknowledging it would lose the event if that invocation
  then fails or is killed;
- `in_progress` past its lease: the invocation holding it crashed or timed out; this delivery
  takes the claim over and runs the work.

The lease ends when the claiming invocation must end: now plus the Lambda context's
`get_remaining_time_in_millis()` (register the context once per invocation). A timed-out or
crashed invocation's claim has lapsed by the time the source retries, so the retry runs the
event, and when the retries run out the event reaches the dead-letter queue instead of
being answered `duplicate`. Work that raises releases its own claim (and only its own: the
release is conditional on the claim's token), so the retry can run at once.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared import aws, errors
from shared.logging import get_logger

IN_PROGRESS = "in_progress"
COMPLETED = "completed"
# Lambda's longest timeout: without a context to ask (a script, a test), no invocation can
# still be holding the claim after this.
NO_CONTEXT_LEASE_SECONDS = 900

log = get_logger(__name__)


class Idempotency(aws.Table):
    def __init__(
        self,
        table_name: str,
        *,
        retention_seconds: int = 7 * 24 * 3600,
        client_factory: aws.ClientFactory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(table_name, client_factory)
        self.retention_seconds = retention_seconds
        self._clock = clock
        self._remaining_ms: Callable[[], int] | None = None

    def register_lambda_context(self, context: Any) -> None:
        """The invocation whose deadline bounds the claims taken from now on."""
        self._remaining_ms = getattr(context, "get_remaining_time_in_millis", None)

    def _lease_until(self, now: float) -> int:
        if self._remaining_ms is None:
            return math.ceil(now + NO_CONTEXT_LEASE_SECONDS)
        # Rounded up: the claim lapses at the first whole second after the deadline.
        return math.ceil(now + max(self._remaining_ms(), 0) / 1000)

    def claim(self, key: str) -> str | None:
        """Take the claim for `key`: its token, or None when a delivery already completed.

        Raises `ClaimInProgressError` while another invocation's lease on `key` runs.
        """
        now = self._clock()
        token = uuid.uuid4().hex
        client = self._client_factory()
        with aws.translated("claiming idempotency key"):
            try:
                client.put_item(
                    TableName=self.table_name,
                    Item={
                        "idempotency_key": {"S": key},
                        "status": {"S": IN_PROGRESS},
                        "claim_token": {"S": token},
                        "lease_until": {"N": str(self._lease_until(now))},
                        "expires_at": {"N": str(int(now) + self.retention_seconds)},
                    },
                    ConditionExpression=(
                        "attribute_not_exists(idempotency_key) OR expires_at < :now OR "
                        "(#status = :in_progress AND lease_until < :now)"
                    ),
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":in_progress": {"S": IN_PROGRESS},
                        ":now": {"N": str(int(now))},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except client.exceptions.ConditionalCheckFailedException as exc:
                existing = exc.response.get("Item", {})
                if existing.get("status", {}).get("S") == COMPLETED:
                    return None
                # In progress, or (without the old item to tell) assumed so: the retry decides.
                lease = existing.get("lease_until", {}).get("N")
                raise errors.ClaimInProgressError(
                    f"idempotency key {key} is claimed by another invocation until {lease}; "
                    "the source retries after it",
                    key=key,
                    lease_until=lease,
                ) from exc
        return token

    def complete(self, key: str) -> None:
        now = int(self._clock())
        with aws.translated("completing idempotency key"):
            self._client_factory().update_item(
                TableName=self.table_name,
                Key={"idempotency_key": {"S": key}},
                UpdateExpression="SET #status = :completed, expires_at = :expires",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":completed": {"S": COMPLETED},
                    ":expires": {"N": str(now + self.retention_seconds)},
                },
            )

    def release(self, key: str, token: str) -> bool:
        """Drop the claim `token` holds on `key`; False when it is no longer that claim."""
        client = self._client_factory()
        with aws.translated("releasing idempotency key"):
            try:
                client.delete_item(
                    TableName=self.table_name,
                    Key={"idempotency_key": {"S": key}},
                    ConditionExpression="claim_token = :token AND #status = :in_progress",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":token": {"S": token},
                        ":in_progress": {"S": IN_PROGRESS},
                    },
                )
            except client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def run_once(self, key: str, work: Callable[[], Any]) -> tuple[bool, Any]:
        """Run `work` unless a delivery of `key` already did; (ran, result).

        Raises `ClaimInProgressError` while another invocation holds `key`; re-raises what
        `work` raises, after releasing the claim.
        """
        token = self.claim(key)
        if token is None:
            return False, None
        try:
            result = work()
        except BaseException as failure:
            try:
                self.release(key, token)
            except errors.DocflowError as exc:
                # The work's own error decides the retry; the claim lapses with its lease.
                log.warning(
                    "idempotency_release_failed",
                    key=key,
                    reason=exc.message,
                    error=type(failure).__name__,
                )
            raise
        self.complete(key)
        return True, result
