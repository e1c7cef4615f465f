"""What intake is given: one uploaded object version, as the S3 notification announced it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str
    size: int
    version_id: str | None
    version: str
    """The object version (its version id, else the event's sequencer or ETag)."""
    delivery_key: str
    """Names this object version, the same on every redelivery of its event."""
