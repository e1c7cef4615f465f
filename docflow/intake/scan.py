"""Malware signature scanning over a byte stream.

Signatures are byte strings; the built-in set holds the EICAR test file, and the stage adds
more through a JSON list kept in S3 (`{"signatures": [{"name": ..., "hex": ...}]}`). The
scan reads in chunks and keeps an overlap, so a signature split across chunks is found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared import errors

# The EICAR anti-malware test string, split so this source file is not itself flagged.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass(frozen=True)
class Signature:
    name: str
    pattern: bytes


BUILTIN_SIGNATURES: tuple[Signature, ...] = (Signature("EICAR-Test-File", EICAR),)


def parse_signatures(document: Any) -> tuple[Signature, ...]:
    """Signatures from the stage's list; a malformed list is an error, not an empty list."""
    entries = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise errors.PermanentError("signature list must be an object with a 'signatures' list")
    parsed = []
    for index, entry in enumerate(entries):
        try:
            pattern = bytes.fromhex(entry["hex"])
            name = str(entry["name"])
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.PermanentError(
                f"signature {index} needs a 'name' and a 'hex' byte pattern"
            ) from exc
        if len(pattern) < 4:
            raise errors.PermanentError(f"signature {name!r} is shorter than 4 bytes")
        parsed.append(Signature(name, pattern))
    return tuple(parsed)


def scan(chunks: Iterable[bytes], signatures: Iterable[Signature]) -> str | None:
    """The name of the first signature found in the stream, or None when clean."""
    sigs = tuple(signatures)
    if not sigs:
        return None
    overlap = max(len(s.pattern) for s in sigs) - 1
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        for signature in sigs:
            if signature.pattern in window:
                return signature.name
        tail = window[-overlap:] if overlap else b""
    return None
