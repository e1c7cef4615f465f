from __future__ import annotations

from docflow.webhooks.model import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerPolicy,
    BreakerState,
    after_failure,
    after_success,
    decide,
    signature,
    signature_header,
    verify,
)

POLICY = BreakerPolicy(failure_threshold=3, open_seconds=60, trial_seconds=10)


def test_closed_breaker_opens_at_the_threshold_of_consecutive_failures() -> None:
    state = BreakerState("s")
    state = after_failure(after_failure(state, 100, POLICY), 101, POLICY)
    assert (state.state, state.failures) == (CLOSED, 2)
    assert after_success(state) == BreakerState("s")  # a success resets the count
    opened = after_failure(state, 102, POLICY)
    assert (opened.state, opened.opened_at) == (OPEN, 102)


def test_open_breaker_refuses_until_the_open_period_ends_then_allows_one_trial() -> None:
    opened = BreakerState("s", state=OPEN, failures=3, opened_at=100)
    assert decide(opened, 159.9, POLICY) == (False, opened)
    allowed, trial = decide(opened, 160, POLICY)
    assert allowed
    assert (trial.state, trial.trial_until) == (HALF_OPEN, 170)
    assert decide(trial, 165, POLICY) == (False, trial)  # the trial is in flight


def test_trial_outcome_closes_or_reopens() -> None:
    trial = BreakerState("s", state=HALF_OPEN, failures=3, opened_at=100, trial_until=170)
    assert after_success(trial).state == CLOSED
    reopened = after_failure(trial, 165, POLICY)
    assert (reopened.state, reopened.opened_at) == (OPEN, 165)


def test_a_vanished_trial_is_taken_over_after_its_lease() -> None:
    trial = BreakerState("s", state=HALF_OPEN, failures=3, opened_at=100, trial_until=170)
    allowed, again = decide(trial, 171, POLICY)
    assert allowed
    assert again.trial_until == 181


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # Pinned: `printf '1700000000.{}' | openssl dgst -sha256 -hmac k` gives the same digest.
    assert signature("k", 1700000000, b"{}") == (
        "c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146"
    )
    header = signature_header("k", 1700000000, b"{}")
    assert header.startswith("t=1700000000,v1=")
    assert verify("k", header, b"{}", 1700000100, 300)
    assert not verify("k", header, b"{}", 1700000301, 300)
    assert not verify("k", "t=abc,v1=00", b"{}", 1700000000, 300)
    assert not verify("k", "garbage", b"{}", 1700000000, 300)
