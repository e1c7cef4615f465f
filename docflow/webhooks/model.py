"""Subscribers, request signing and the circuit breaker's rules, as plain values.

Signing: `X-Docflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The
timestamp is inside the signed text, so a captured request cannot be replayed later than the
receiver's tolerance; `verify()` is what a subscriber runs.

Breaker, per subscriber: `closed` lets deliveries through and counts consecutive failures;
at `failure_threshold` it opens. `open` refuses deliveries for `open_seconds`, then one
delivery (the trial) goes through as `half_open`; other deliveries wait while the trial
holds its lease (`trial_seconds`). The trial's success closes the breaker, its failure opens
it again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, replace

SIGNATURE_HEADER = "X-Docflow-Signature"
CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Subscriber:
    subscriber_id: str
    url: str
    event_types: frozenset[str] = field(default_factory=frozenset)
    enabled: bool = True

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_seconds: int) -> bool:
    """True when `header` signs `body` with `secret` and is no older than the tolerance."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int
    open_seconds: int
    trial_seconds: int


@dataclass(frozen=True)
class BreakerState:
    subscriber_id: str
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    trial_until: float = 0.0
    version: int = 0


def decide(state: BreakerState, now: float, policy: BreakerPolicy) -> tuple[bool, BreakerState]:
    """(may deliver now, the state to store first); storing it is what claims a trial."""
    if state.state == CLOSED:
        return True, state
    if state.state == OPEN and now < state.opened_at + policy.open_seconds:
        return False, state
    if state.state == HALF_OPEN and now < state.trial_until:
        return False, state
    # Open long enough, or a trial whose holder vanished: this delivery becomes the trial.
    return True, replace(state, state=HALF_OPEN, trial_until=now + policy.trial_seconds)


def after_success(state: BreakerState) -> BreakerState:
    return replace(state, state=CLOSED, failures=0, opened_at=0.0, trial_until=0.0)


def after_failure(state: BreakerState, now: float, policy: BreakerPolicy) -> BreakerState:
    failures = state.failures + 1
    if state.state == HALF_OPEN or failures >= policy.failure_threshold:
        return replace(state, state=OPEN, failures=failures, opened_at=now, trial_until=0.0)
    return replace(state, failures=failures)
