"""Typed, frozen settings read from the environment once per cold start.

A settings class declares each field with `env(...)`; `load()` reads and parses them all and
fails at init, naming the variable, when one is missing or malformed. Environment variables
carry names and switches only, never secret values (see `shared.secrets`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any, Self


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed."""


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _parse_csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "bool": _parse_bool,
    "tuple[str, ...]": _parse_csv,
}


def env(name: str, default: Any = dataclasses.MISSING) -> Any:
    """Declare a settings field read from the environment variable `name`."""
    return dataclasses.field(default=default, metadata={"env": name})


# kw_only: subclasses may add required fields after these defaulted ones.
@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """What every function knows about where it runs."""

    service: str = env("DOCFLOW_SERVICE", "docflow")
    stage: str = env("DOCFLOW_STAGE", "local")
    log_level: str = env("LOG_LEVEL", "INFO")
    tracing_enabled: bool = env("DOCFLOW_TRACING", False)
    redact_keys: tuple[str, ...] = env("DOCFLOW_REDACT_KEYS", ())

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = field.metadata["env"]
            raw = source.get(name)
            if raw is None:
                if field.default is dataclasses.MISSING:
                    raise SettingsError(f"environment variable {name} is required but not set")
                continue
            parse = PARSERS[str(field.type)]
            try:
                values[field.name] = parse(raw)
            except ValueError as exc:
                raise SettingsError(f"environment variable {name} is malformed: {exc}") from exc
        return cls(**values)
