"""The errors webhook delivery raises; both are transient (the message is retried)."""

from __future__ import annotations

from shared.errors import TransientError


class BreakerOpenError(TransientError):
    """Subscribers' breakers are open; the message waits in the queue for them."""

    code = "breaker_open"


class SubscriberError(TransientError):
    """The subscriber did not take the delivery (timeout, refused, reset, 5xx, 429)."""

    code = "subscriber_unavailable"
