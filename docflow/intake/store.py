"""The stage's malware signature list, read from the documents bucket."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from docflow.documents.objects import S3Objects


class SignatureCache:
    """The stage's signature list from S3, re-read at most every `ttl_seconds`."""

    def __init__(
        self,
        objects: S3Objects,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._objects = objects
        self._ttl = ttl_seconds
        self._clock = clock
        self._cached: tuple[float, Any] | None = None

    def load(self, bucket: str, key: str) -> Any | None:
        now = self._clock()
        if self._cached is None or now - self._cached[0] >= self._ttl:
            self._cached = (now, self._objects.read_json(bucket, key))
        return self._cached[1]
