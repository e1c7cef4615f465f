"""Content type detection from the bytes themselves, never from the file name."""

from __future__ import annotations

import csv
import json
import re

SAMPLE_BYTES = 64 * 1024
CSV_DELIMITERS = (",", ";", "\t", "|")
# A one-column file's header: a single name, a letter or `_` first, no spaces (a line of
# prose is not a column name).
_COLUMN_NAME = re.compile(r"[^\W\d][\w.\-]{0,63}")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"#!", "text/x-script"),
)


def detect_type(sample: bytes) -> str:
    """The media type of content starting with `sample` (its first bytes)."""
    if not sample:
        return "application/x-empty"
    for magic, media_type in _MAGIC:
        if sample.startswith(magic):
            return media_type
    if sample[:4] == b"RIFF" and sample[8:12] == b"WEBP":
        return "image/webp"
    text = _as_text(sample)
    if text is None:
        return "application/octet-stream"
    stripped = text.lstrip()
    if stripped[:1] in {"{", "["} and _is_json(stripped, complete=len(sample) < SAMPLE_BYTES):
        return "application/json"
    if _looks_like_csv(text):
        return "text/csv"
    return "text/plain"


def _as_text(sample: bytes) -> str | None:
    if b"\x00" in sample:
        return None
    try:
        # A multi-byte character may be cut at the end of the sample: ignore only that tail.
        text = sample.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            return None
        text = sample[: exc.start].decode("utf-8-sig")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if printable >= 0.95 * max(len(text), 1) else None


def _is_json(text: str, complete: bool) -> bool:
    if not complete:
        return True
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _looks_like_csv(text: str) -> bool:
    """Whether the text follows the CSV contract (docs/processing.md, "CSV input").

    Only the header decides: the first non-blank line is two or more fields split by one of
    `, ; TAB |`, or a single column name. What the rows hold (a malformed row anywhere, no
    row at all, thousands of columns) is processing's to report, with a precise reason.
    """
    header = next((line for line in text.splitlines() if line.strip()), "")
    for delimiter in CSV_DELIMITERS:
        if delimiter in header and len(_fields(header, delimiter)) >= 2:
            return True
    return _COLUMN_NAME.fullmatch(header.strip().strip('"')) is not None


def _fields(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a field over the csv module's size limit: a split all the same
        return line.split(delimiter)
