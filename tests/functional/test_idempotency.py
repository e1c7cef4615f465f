"""shared.idempotency against the idempotency table as deployed (moto): each state a delivery
can find (none, completed, in progress, lapsed) and what a failure does to the claim.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared import errors
from shared.errors import ClaimInProgressError
from shared.idempotency import NO_CONTEXT_LEASE_SECONDS, Idempotency
from tests.conftest import Stack
from tests.support import Clock

NOW = 1_800_000_000.0


class Invocation:
    """A Lambda context whose deadline is `remaining_ms` after the clock's time at creation."""

    def __init__(self, clock: Clock, remaining_ms: int) -> None:
        self._clock, self._deadline = clock, clock.now + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - self._clock.now) * 1000)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


Table = Callable[..., Idempotency]


@pytest.fixture
def table(stack: Stack, clock: Clock) -> Table:
    """A new Idempotency per call: each stands for one execution environment, in an invocation
    with `remaining_ms` left when given."""

    def environment(remaining_ms: int | None = None) -> Idempotency:
        idempotency = Idempotency(stack.idempotency_table, clock=clock)
        if remaining_ms is not None:
            idempotency.register_lambda_context(Invocation(clock, remaining_ms))
        return idempotency

    return environment


def record(stack: Stack, key: str) -> dict[str, Any] | None:
    item = stack.client("dynamodb").get_item(
        TableName=stack.idempotency_table, Key={"idempotency_key": {"S": key}}, ConsistentRead=True
    )
    return item.get("Item")


class Work:
    def __init__(self, result: Any = "done", fails: BaseException | None = None) -> None:
        self.calls, self.result, self.fails = 0, result, fails

    def __call__(self) -> Any:
        self.calls += 1
        if self.fails is not None:
            raise self.fails
        return self.result


def test_the_first_delivery_runs_and_a_completed_key_is_answered_duplicate(
    table: Table,
) -> None:
    first, second = Work("sent"), Work("sent again")
    assert table().run_once("k", first) == (True, "sent")
    assert table().run_once("k", second) == (False, None)
    assert (first.calls, second.calls) == (1, 0)


def test_a_claim_in_progress_makes_the_duplicate_fail_as_retryable(
    table: Table, clock: Clock
) -> None:
    running, duplicate = table(30_000), table()
    other = Work()
    outcomes: list[BaseException] = []

    def work_during_which_a_duplicate_arrives() -> str:
        clock.now += 5
        with pytest.raises(ClaimInProgressError) as raised:
            duplicate.run_once("k", other)
        outcomes.append(raised.value)
        return "done"

    assert running.run_once("k", work_during_which_a_duplicate_arrives) == (True, "done")
    (error,) = outcomes
    # A TransientError: a failed batch item, a function error Lambda retries, a Retry in
    # Step Functions; never an acknowledged duplicate.
    assert isinstance(error, errors.TransientError)
    assert error.retryable
    assert other.calls == 0
    # Once the first delivery completed, the retry of the duplicate is answered duplicate.
    assert duplicate.run_once("k", other) == (False, None)
    assert other.calls == 0


def test_the_lease_ends_with_the_invocations_remaining_time(
    stack: Stack, table: Table, clock: Clock
) -> None:
    idempotency = table(12_345)
    token = idempotency.claim("k")
    item = record(stack, "k")
    assert token is not None
    assert item is not None
    assert (item["status"]["S"], item["claim_token"]["S"]) == ("in_progress", token)
    assert int(item["lease_until"]["N"]) == int(NOW) + 13  # 12.345 s, rounded up

    clock.now += 10  # the same environment, a later invocation with less time left
    idempotency.register_lambda_context(Invocation(clock, 2_000))
    idempotency.claim("other")
    later = record(stack, "other")
    assert later is not None
    assert int(later["lease_until"]["N"]) == int(NOW) + 12


def test_without_a_context_the_lease_is_lambdas_longest_timeout(stack: Stack, table: Table) -> None:
    table().claim("k")
    item = record(stack, "k")
    assert item is not None
    assert int(item["lease_until"]["N"]) == int(NOW) + NO_CONTEXT_LEASE_SECONDS


def test_a_timed_out_invocations_claim_lapses_and_the_retry_runs_the_event(
    table: Table, clock: Clock
) -> None:
    crashed = table(60_000)
    assert crashed.claim("k") is not None  # ...and Lambda killed it: no release, no complete

    retry = table()
    clock.now += 30  # a duplicate within the dead invocation's deadline still waits
    retry.register_lambda_context(Invocation(clock, 60_000))
    with pytest.raises(ClaimInProgressError):
        retry.run_once("k", Work())

    clock.now += 32  # the source's retry after the deadline takes the claim over
    retry.register_lambda_context(Invocation(clock, 60_000))
    work = Work("recovered")
    assert retry.run_once("k", work) == (True, "recovered")
    assert work.calls == 1
    assert table().run_once("k", Work()) == (False, None)


def test_failing_work_releases_its_claim_so_the_retry_runs_at_once(
    stack: Stack, table: Table
) -> None:
    with pytest.raises(errors.PermanentError, match="smtp said no"):
        table().run_once("k", Work(fails=errors.PermanentError("smtp said no")))
    assert record(stack, "k") is None
    retry = Work("sent")
    assert table().run_once("k", retry) == (True, "sent")
    assert retry.calls == 1


def test_a_release_drops_only_its_own_claim(stack: Stack, table: Table, clock: Clock) -> None:
    late = table(1_000)
    stale_token = late.claim("k")
    assert stale_token is not None
    clock.now += 5  # its lease lapsed; another invocation took the key over
    current = table(60_000)
    token = current.claim("k")

    assert late.release("k", stale_token) is False
    item = record(stack, "k")
    assert item is not None
    assert item["claim_token"]["S"] == token


def test_when_the_release_fails_the_works_error_is_raised_and_the_claim_lapses(
    stack: Stack, clock: Clock
) -> None:
    from botocore.exceptions import ClientError

    real = stack.client("dynamodb")

    class NoDeletes:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def delete_item(self, **kwargs: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "boom"}}, "DeleteItem"
            )

    broken = Idempotency(stack.idempotency_table, client_factory=NoDeletes, clock=clock)
    broken.register_lambda_context(Invocation(clock, 10_000))
    with pytest.raises(errors.TransientError, match="mail server busy"):
        broken.run_once("k", Work(fails=errors.TransientError("mail server busy")))
    item = record(stack, "k")
    assert item is not None
    assert item["status"]["S"] == "in_progress"

    clock.now += 11
    retry = Idempotency(stack.idempotency_table, clock=clock)
    retry.register_lambda_context(Invocation(clock, 10_000))
    assert retry.run_once("k", Work("sent")) == (True, "sent")


def test_a_completed_record_past_its_retention_no_longer_counts(stack: Stack, clock: Clock) -> None:
    short = Idempotency(stack.idempotency_table, retention_seconds=60, clock=clock)
    assert short.run_once("k", Work()) == (True, "done")
    clock.now += 30
    assert short.run_once("k", Work()) == (False, None)
    clock.now += 31  # TTL deletes within days of expires_at; the claim does not wait for it
    assert short.run_once("k", Work("again")) == (True, "again")
