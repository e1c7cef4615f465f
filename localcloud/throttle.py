"""HTTP API stage throttling, as API Gateway applies it (the local gateway calls `admit`).

API Gateway throttles each stage with a token bucket: the bucket holds at most
`ThrottlingBurstLimit` requests and refills at `ThrottlingRateLimit` requests per second,
both read from the deployed stage's `DefaultRouteSettings`; a request that finds the bucket
empty is answered 429 `{"message":"Too Many Requests"}` before any authorizer or function
runs. A stage without those settings is not throttled here (AWS would still apply the
account's quota of 10,000 requests per second, which no local run reaches). Buckets follow
redeploys: when the stage's settings change, its bucket starts again, full, with the new ones.
Per-route overrides (`RouteSettings`) are not modelled; docflow sets none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_STAGE = "$default"


@dataclass(frozen=True)
class Limits:
    rate: float  # requests per second the bucket regains
    burst: int  # requests the bucket holds


class TokenBucket:
    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._tokens = float(limits.burst)
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        refill = (now - self._at) * self.limits.rate
        self._tokens = min(float(self.limits.burst), self._tokens + refill)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def stage_limits(stage: Mapping[str, Any] | None) -> Limits | None:
    """The throttle of a stage's properties, or None when it sets none."""
    settings = (stage or {}).get("DefaultRouteSettings") or {}
    rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
    if rate is None or burst is None:
        return None
    return Limits(rate=float(rate), burst=int(float(burst)))


class StageThrottle:
    """One token bucket per (API, stage)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, api_id: str, api: Mapping[str, Any], stage: str = DEFAULT_STAGE) -> bool:
        """Whether the stage lets one more request through now (False: answer 429)."""
        limits = stage_limits((api.get("stages") or {}).get(stage))
        key = (api_id, stage)
        with self._lock:
            if limits is None:
                self._buckets.pop(key, None)
                return True
            bucket = self._buckets.get(key)
            if bucket is None or bucket.limits != limits:
                bucket = self._buckets[key] = TokenBucket(limits, self._clock)
            return bucket.take()


THROTTLE = StageThrottle()
