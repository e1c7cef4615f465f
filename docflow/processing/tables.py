"""CSV validation and normalisation to JSON Lines, streamed row by row.

The input arrives as byte chunks and leaves as lines handed to two writers (records and the
per-row error report), so a million rows never sit in memory. What makes the whole file
unusable (not UTF-8, no header, required columns missing, no valid row at all) raises a
`PermanentError` with a reason; what is wrong with one row goes to the error report.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.errors import PermanentError

DELIMITERS = (",", ";", "\t", "|")
_HEADER_CLEAN = re.compile(r"[^a-z0-9]+")
_DATE_FORMATS = (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), re.compile(r"^(\d{4})/(\d{2})/(\d{2})$"))
MAX_FIELD_BYTES = 64 * 1024


class CsvEncodingError(PermanentError):
    code = "csv_encoding"


class CsvColumnsError(PermanentError):
    code = "csv_columns"


class CsvFormatError(PermanentError):
    code = "csv_format"


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
    return next(csv.reader([line], delimiter=delimiter), [])


def parse_header(line: str, schema: CsvSchema) -> CsvHeader:
    """The delimiter whose split of the header holds every required column."""
    if not line.strip():
        raise CsvColumnsError("csv_columns: the file has no header row")
    best: tuple[str, tuple[str, ...]] | None = None
    for delimiter in DELIMITERS:
        columns = tuple(normalise_column(c) for c in _split(line.rstrip("\r\n"), delimiter))
        if all(required in columns for required in schema.required_columns):
            duplicates = sorted({c for c in columns if columns.count(c) > 1})
            if duplicates:
                raise CsvColumnsError(
                    f"csv_columns: duplicate column(s) {', '.join(duplicates)} in the header"
                )
            return CsvHeader(delimiter, columns)
        if best is None or len(columns) > len(best[1]):
            best = (delimiter, columns)
    assert best is not None
    missing = [c for c in schema.required_columns if c not in best[1]]
    raise CsvColumnsError(
        f"csv_columns: missing required column(s) {', '.join(missing)}; "
        f"the header has {', '.join(best[1]) or 'no columns'}"
    )


def _amount(raw: str) -> Decimal:
    value = Decimal(
        raw.replace(" ", "").replace("\u00a0", "") if " " in raw or "\u00a0" in raw else raw
    )
    if not value.is_finite():
        raise InvalidOperation
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
        f"csv_encoding: the file is not valid UTF-8 (line {line}: {exc.reason})"
    )


def normalise_csv(
    chunks: Iterable[bytes],
    schema: CsvSchema,
    write_record: Callable[[str], object],
    write_error: Callable[[str], object],
) -> CsvSummary:
    """Validate and normalise a CSV into JSON Lines, reporting bad rows by line number."""
    text = _text(chunks)
    try:
        first = text.readline()
    except UnicodeDecodeError as exc:
        raise _encoding_error(exc, 1) from exc
    header = parse_header(first, schema)
    checker = _RowChecker(header, schema)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    csv.field_size_limit(MAX_FIELD_BYTES)
    reader = csv.reader(text, delimiter=header.delimiter, strict=True)
    rows = valid = invalid = 0
    total = Decimal(0) if checker.amount else None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            # Decoding runs ahead in blocks: the line is where the bad block starts, or after.
            raise _encoding_error(exc, reader.line_num + 2) from exc
        except csv.Error as exc:
            raise CsvFormatError(f"csv_format: line {reader.line_num + 1}: {exc}") from exc
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rows += 1
        record, problems, amount = checker.check(row)
        if record is None:
            invalid += 1
            write_error(encode({"line": reader.line_num + 1, "errors": problems}) + "\n")
            continue
        valid += 1
        if total is not None and amount is not None:
            total += amount
        write_record(encode(record) + "\n")
    if valid == 0:
        raise CsvFormatError(
            f"csv_format: no valid rows ({invalid} row(s) with errors, {rows} in total)"
        )
    return CsvSummary(header.delimiter, header.columns, rows, valid, invalid, total)


def read_header(chunks: Iterable[bytes], schema: CsvSchema) -> CsvHeader:
    """The header of a CSV from its first bytes (extract step: fail fast on the columns)."""
    try:
        first = _text(chunks).readline()
    except UnicodeDecodeError as exc:
        raise _encoding_error(exc, 1) from exc
    return parse_header(first, schema)
