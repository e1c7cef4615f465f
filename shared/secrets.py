"""Secrets Manager values fetched at run time and cached with a time to live.

Environment variables carry secret *names*; values live only in memory, are never logged,
and are refreshed after `ttl_seconds` or on demand (`refresh=True`, e.g. after a key was
rotated and a lookup missed).
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable
from typing import Any

from shared import aws, errors

DEFAULT_TTL_SECONDS = 300.0
_caches: weakref.WeakSet[SecretCache] = weakref.WeakSet()  # every cache of the process


class SecretCache(aws.Adapter):
    service = "secretsmanager"

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        client_factory: aws.ClientFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(client_factory)
        self._ttl = ttl_seconds
        self._clock = clock
        self._values: dict[str, tuple[float, str]] = {}
        _caches.add(self)

    def get(self, name: str, *, refresh: bool = False) -> str:
        cached = self._values.get(name)
        now = self._clock()
        if cached is not None and not refresh and now - cached[0] < self._ttl:
            return cached[1]
        with aws.translated(f"reading secret {name}"):
            response = self._client_factory().get_secret_value(SecretId=name)
        value = str(response["SecretString"])
        self._values[name] = (now, value)
        return value

    def forget(self) -> None:
        """Drop every cached value (after a SnapStart restore: `shared.snapstart`)."""
        self._values.clear()

    def get_json(self, name: str, *, refresh: bool = False) -> Any:
        raw = self.get(name, refresh=refresh)
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise errors.PermanentError(f"secret {name} is not valid JSON") from exc


_default = SecretCache()


def get_secret(name: str, *, refresh: bool = False) -> str:
    return _default.get(name, refresh=refresh)


def get_secret_json(name: str, *, refresh: bool = False) -> Any:
    return _default.get_json(name, refresh=refresh)


def forget() -> None:
    """Drop the values of every cache in the process (the default one and those a handler
    made with its own time to live, such as the api's key cache)."""
    for cache in list(_caches):
        cache.forget()
