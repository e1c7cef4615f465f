"""CSV validation and normalisation to JSON Lines, streamed row by row.

The input arrives as byte chunks and leaves as lines handed to two writers (records and the
per-row error report), so a million rows never sit in memory. What makes the whole file
unusable raises a `RejectedError` whose `code` is the document's reason (`csv_encoding`,
`csv_no_header`, `csv_missing_columns`, `csv_duplicate_columns`, `csv_too_wide`,
`csv_no_rows`, `csv_no_valid_rows`); what is wrong with one row (its field count, a value, its
quoting, a field or row over the size limits) goes to the error report with its line, and the
rows after it are processed. Every input is bounded: the header, each field and each row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, InvalidOperation, Overflow
from typing import Any

from docflow.processing.errors import (
    CsvColumnsError,
    CsvDuplicateColumnsError,
    CsvEncodingError,
    CsvFormatError,
    CsvNoHeaderError,
    CsvNoRowsError,
    CsvTooWideError,
)

DELIMITERS = (",", ";", "\t", "|")
_HEADER_CLEAN = re.compile(r"[^a-z0-9]+")
_DATE_FORMATS = (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), re.compile(r"^(\d{4})/(\d{2})/(\d{2})$"))
MAX_FIELD_BYTES = 64 * 1024
MAX_ROW_CHARS = 1024 * 1024
MAX_HEADER_CHARS = 16 * 1024
MAX_COLUMNS = 1000
HEADER_SAMPLE_BYTES = 4 * (MAX_HEADER_CHARS + 1)
"""Bytes that always hold a header of MAX_HEADER_CHARS characters (UTF-8: 4 bytes at most)."""
AMOUNT_DIGITS = 18
"""Amounts are below 10^18 in magnitude, with at most 18 decimal places."""
# Sums of in-range amounts stay exact: 18 + 18 digits, and room for a billion rows.
_SUMS = Context(prec=48, traps=[InvalidOperation, Overflow])


@dataclass(frozen=True)
class CsvSchema:
    required_columns: tuple[str, ...]
    amount_column: str | None = None
    date_column: str | None = None


@dataclass(frozen=True)
class CsvHeader:
    delimiter: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class CsvSummary:
    delimiter: str
    columns: tuple[str, ...]
    rows: int
    valid_rows: int
    error_rows: int
    total_amount: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "delimiter": self.delimiter,
            "columns": list(self.columns),
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.error_rows,
            "total_amount": None if self.total_amount is None else str(self.total_amount),
        }


class _ChunkReader(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def normalise_column(name: str) -> str:
    return _HEADER_CLEAN.sub("_", name.strip().lower()).strip("_")


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a field over the size limit: not a split by this delimiter
        return [line]


def _too_wide(columns: int) -> CsvTooWideError:
    return CsvTooWideError(f"the header has {columns} columns; at most {MAX_COLUMNS} are accepted")


def parse_header(line: str, schema: CsvSchema) -> CsvHeader:
    """The delimiter whose split of the header holds every required column."""
    text = line.rstrip("\r\n")
    if len(text) > MAX_HEADER_CHARS:
        widest = max(len(_split(text[:MAX_HEADER_CHARS], d)) for d in DELIMITERS)
        if widest > MAX_COLUMNS:
            raise CsvTooWideError(
                f"the header has more than {MAX_COLUMNS} columns; "
                f"at most {MAX_COLUMNS} are accepted"
            )
        raise CsvTooWideError(f"the header row is longer than {MAX_HEADER_CHARS} characters")
    if not text.strip():
        raise CsvNoHeaderError(
            "the first line is empty; the file must start with a header row naming its columns"
        )
    splits = [(d, tuple(normalise_column(c) for c in _split(text, d))) for d in DELIMITERS]
    for delimiter, columns in splits:
        if all(required in columns for required in schema.required_columns):
            if len(columns) > MAX_COLUMNS:
                raise _too_wide(len(columns))
            duplicates = sorted(c for c, n in Counter(columns).items() if n > 1)
            if duplicates:
                named = ", ".join(c or repr(c) for c in duplicates)
                raise CsvDuplicateColumnsError(
                    f"the header names column(s) {_clip(named)} more than once"
                )
            return CsvHeader(delimiter, columns)
    _, best = max(splits, key=lambda split: len(split[1]))  # the first of the widest splits
    if len(best) > MAX_COLUMNS:
        raise _too_wide(len(best))
    missing = [c for c in schema.required_columns if c not in best]
    raise CsvColumnsError(
        f"missing required column(s) {', '.join(missing)}; "
        f"the header has {_clip(', '.join(best)) or 'no columns'}"
    )


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _OutOfRangeError(ValueError):
    pass


def _amount(raw: str) -> Decimal:
    value = Decimal(
        raw.replace(" ", "").replace("\u00a0", "") if " " in raw or "\u00a0" in raw else raw
    )
    if not value.is_finite():
        raise InvalidOperation
    exponent = value.as_tuple().exponent
    if value.adjusted() >= AMOUNT_DIGITS or (
        isinstance(exponent, int) and exponent < -AMOUNT_DIGITS
    ):
        raise _OutOfRangeError
    return value


def _date(raw: str) -> str:
    if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
        date.fromisoformat(raw)  # the common case: already ISO, only validated
        return raw
    for pattern in _DATE_FORMATS:
        match = pattern.match(raw)
        if match:
            return date(*(int(part) for part in match.groups())).isoformat()
    raise ValueError(raw)


class _RowChecker:
    """Validates and normalises one row; indices resolved once from the header."""

    def __init__(self, header: CsvHeader, schema: CsvSchema) -> None:
        self.header = header
        self.columns = header.columns
        self.width = len(header.columns)
        self.required = schema.required_columns
        self.amount = schema.amount_column if schema.amount_column in header.columns else None
        self.date = schema.date_column if schema.date_column in header.columns else None

    def _field_count_problem(self, row: list[str]) -> str:
        if len(row) > self.width * 4 + 16:  # far off: no other delimiter explains it
            return f"field_count: expected {self.width} fields, got {len(row)}"
        joined = self.header.delimiter.join(row)
        for other in DELIMITERS:
            if other != self.header.delimiter and len(_split(joined, other)) == self.width:
                return (
                    f"mixed_delimiters: this row is split by {other!r}, "
                    f"the file by {self.header.delimiter!r}"
                )
        return f"field_count: expected {self.width} fields, got {len(row)}"

    def check(self, row: list[str]) -> tuple[dict[str, str] | None, list[str], Decimal | None]:
        if len(row) != self.width:
            return None, [self._field_count_problem(row)], None
        record = dict(zip(self.columns, map(str.strip, row), strict=True))
        problems = [f"{c}: required value is empty" for c in self.required if not record[c]]
        amount: Decimal | None = None
        if self.amount and record[self.amount]:
            try:
                amount = _amount(record[self.amount])
                record[self.amount] = str(amount)
            except _OutOfRangeError:
                problems.append(
                    f"{self.amount}: {record[self.amount][:40]!r} is out of range "
                    f"(below 10^{AMOUNT_DIGITS}, at most {AMOUNT_DIGITS} decimal places)"
                )
            except (InvalidOperation, ValueError):
                problems.append(f"{self.amount}: {record[self.amount][:40]!r} is not a number")
        if self.date and record[self.date]:
            try:
                record[self.date] = _date(record[self.date])
            except ValueError:
                problems.append(
                    f"{self.date}: {record[self.date][:40]!r} is not a date (YYYY-MM-DD)"
                )
        if problems:
            return None, problems, None
        return record, [], amount


def _text(chunks: Iterable[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedReader(_ChunkReader(chunks), buffer_size=256 * 1024),
        encoding="utf-8-sig",
        errors="strict",
        newline="",
    )


def _encoding_error(exc: UnicodeDecodeError, line: int) -> CsvEncodingError:
    return CsvEncodingError(
        f"the file is not valid UTF-8 (from line {line} on: {exc.reason}); save it as UTF-8"
    )


class _RowTooLongError(Exception):
    """A row ran over MAX_ROW_CHARS; the rest of its physical line was skipped."""


class _Lines(Iterator[str]):
    """The text's physical lines for csv.reader, each record bounded to MAX_ROW_CHARS.

    `begin()` starts a record; a record that grows past the bound (one endless line, or a
    quote that never closes) raises `_RowTooLongError` once its current line is skipped, so
    memory stays bounded and the reader resumes at the next line. `line` is the number of the
    last physical line read (the header is line 1).
    """

    def __init__(self, text: io.TextIOWrapper, limit: int = MAX_ROW_CHARS) -> None:
        self._text = text
        self._limit = limit
        self._used = 0
        self.line = 1

    def begin(self) -> None:
        self._used = 0

    def __next__(self) -> str:
        line = self._text.readline(self._limit - self._used + 1)
        if not line:
            raise StopIteration
        self._used += len(line)
        if self._used > self._limit:
            while line and not line.endswith(("\n", "\r")):
                line = self._text.readline(self._limit)
            self.line += 1
            raise _RowTooLongError
        self.line += 1
        return line


def _row_problem(exc: csv.Error, first: int, last: int) -> str:
    """The error report's text for a row the reader could not split (never its own text)."""
    span = f"; lines {first}-{last} were skipped" if last > first else ""
    message = str(exc)
    if "field limit" in message:
        return f"field_too_large: a field is longer than {MAX_FIELD_BYTES} characters{span}"
    if "end of data" in message:
        return f"quoting: a quote opened on line {first} is never closed{span}"
    if "expected after" in message:
        return f"quoting: a closing quote is followed by more characters before the delimiter{span}"
    return f"malformed_row: the row cannot be read as CSV{span}"


def _first_line(text: io.TextIOWrapper) -> str:
    try:
        return text.readline(MAX_HEADER_CHARS + 1)
    except UnicodeDecodeError as exc:
        raise _encoding_error(exc, 1) from exc


def normalise_csv(
    chunks: Iterable[bytes],
    schema: CsvSchema,
    write_record: Callable[[str], object],
    write_error: Callable[[str], object],
) -> CsvSummary:
    """Validate and normalise a CSV into JSON Lines, reporting bad rows by line number."""
    text = _text(chunks)
    header = parse_header(_first_line(text), schema)
    checker = _RowChecker(header, schema)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    csv.field_size_limit(MAX_FIELD_BYTES)
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=header.delimiter, strict=True)
    rows = valid = invalid = 0
    total = Decimal(0) if checker.amount else None
    first_problem = ""

    def report(line: int, problems: list[str]) -> None:
        nonlocal invalid, first_problem
        invalid += 1
        first_problem = first_problem or f"line {line}: {problems[0]}"
        write_error(encode({"line": line, "errors": problems}) + "\n")

    while True:
        first = lines.line + 1
        lines.begin()
        try:
            row = next(reader)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            # Decoding runs ahead in blocks: the line is where the bad block starts, or after.
            raise _encoding_error(exc, lines.line + 1) from exc
        except _RowTooLongError:
            rows += 1
            span = f"; lines {first}-{lines.line} were skipped" if lines.line > first else ""
            report(
                first, [f"row_too_long: the row is longer than {MAX_ROW_CHARS} characters{span}"]
            )
            continue
        except csv.Error as exc:
            rows += 1
            report(first, [_row_problem(exc, first, lines.line)])
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rows += 1
        record, problems, amount = checker.check(row)
        if record is None:
            report(first, problems)
            continue
        valid += 1
        if total is not None and amount is not None:
            total = _SUMS.add(total, amount)
        write_record(encode(record) + "\n")
    if rows == 0:
        raise CsvNoRowsError("the file has a header and no data rows")
    if valid == 0:
        raise CsvFormatError(
            f"none of the {rows} row(s) is valid; the first problem is on {_clip(first_problem)}"
        )
    return CsvSummary(header.delimiter, header.columns, rows, valid, invalid, total)


def read_header(chunks: Iterable[bytes], schema: CsvSchema) -> CsvHeader:
    """The header of a CSV from its first bytes (extract step: fail fast on the columns).

    `chunks` must hold HEADER_SAMPLE_BYTES at least, or the whole file.
    """
    return parse_header(_first_line(_text(chunks)), schema)
