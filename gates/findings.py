"""The one result type every gate returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One violation: which gate found it, where, and what to do about it."""

    gate: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"[{self.gate}] {self.where}: {self.message}"
