from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from docflow.processing import tables
from tests.processing_samples import chunked, csv_bytes

SCHEMA = tables.CsvSchema(("id", "date", "amount"), amount_column="amount", date_column="date")


def run(data: bytes, schema: tables.CsvSchema = SCHEMA) -> tuple[tables.CsvSummary, list, list]:
    records: list[str] = []
    problems: list[str] = []
    summary = tables.normalise_csv(chunked(data, 5), schema, records.append, problems.append)
    return summary, [json.loads(r) for r in records], [json.loads(p) for p in problems]


def test_rows_become_normalised_json_lines() -> None:
    data = b"\xef\xbb\xbfID; Date ;Description;Amount\r\n a1 ;2026/03/01;caf\xc3\xa9;1 234.50\r\n"
    summary, records, problems = run(data)
    assert records == [
        {"id": "a1", "date": "2026-03-01", "description": "café", "amount": "1234.50"}
    ]
    assert problems == []
    assert summary.to_dict() == {
        "delimiter": ";",
        "columns": ["id", "date", "description", "amount"],
        "rows": 1,
        "valid_rows": 1,
        "error_rows": 0,
        "total_amount": "1234.50",
    }


def test_bad_rows_go_to_the_report_with_their_line_and_every_problem() -> None:
    data = csv_bytes(2) + b"r7,2026-02-30,x,abc\nr8,,x,\nr9,2026-01-01\n\n"
    summary, records, problems = run(data)
    assert len(records) == 2
    assert problems == [
        {
            "line": 4,
            "errors": [
                "amount: 'abc' is not a number",
                "date: '2026-02-30' is not a date (YYYY-MM-DD)",
            ],
        },
        {"line": 5, "errors": ["date: required value is empty", "amount: required value is empty"]},
        {"line": 6, "errors": ["field_count: expected 4 fields, got 2"]},
    ]
    assert (summary.rows, summary.valid_rows, summary.error_rows) == (5, 2, 3)
    assert summary.total_amount == Decimal("25.00")


def test_a_row_with_another_delimiter_is_reported_as_mixed() -> None:
    _, _, problems = run(csv_bytes(1) + b"r2;2026-03-01;x;1.00\n")
    assert problems == [
        {"line": 3, "errors": ["mixed_delimiters: this row is split by ';', the file by ','"]}
    ]


def test_missing_required_columns_fail_the_file_naming_them() -> None:
    with pytest.raises(tables.CsvColumnsError, match=r"missing required column.s. date, amount"):
        run(b"id,description\n1,x\n")


def test_an_empty_file_has_no_header() -> None:
    with pytest.raises(tables.CsvColumnsError, match="no header row"):
        run(b"")


def test_duplicate_columns_are_refused() -> None:
    with pytest.raises(tables.CsvColumnsError, match=r"duplicate column.s. amount"):
        run(b"id,date,amount,Amount\n")


def test_latin1_bytes_are_an_encoding_error_with_the_line() -> None:
    data = csv_bytes(3) + "r9,2026-01-01,caf\u00e9,1\n".encode("latin-1")
    with pytest.raises(tables.CsvEncodingError, match=r"not valid UTF-8 .line 5"):
        run(data)


def test_a_file_without_a_single_valid_row_fails() -> None:
    with pytest.raises(tables.CsvFormatError, match=r"no valid rows .2 row.s. with errors"):
        run(b"id,date,amount\n1,x,1\n2,2026-01-01,y\n")


def test_an_oversized_field_is_a_format_error() -> None:
    big = b"x" * (tables.MAX_FIELD_BYTES + 10)
    with pytest.raises(tables.CsvFormatError, match="csv_format: line 2"):
        run(b"id,date,amount\n" + big + b",2026-01-01,1\n")


def test_a_million_rows_stream_through_without_being_held() -> None:
    # Generated lazily, 10,000 rows a block: the first record must come out while the source
    # has produced only the first blocks, and nothing keeps the rows afterwards.
    produced = 0

    def source() -> Iterator[bytes]:
        nonlocal produced
        yield b"id,date,amount\n"
        block = b"r,2026-01-01,0.01\n" * 10_000
        for _ in range(100):
            produced += 1
            yield block

    blocks_at_first_record: list[int] = []
    count = 0

    def write(_: str) -> None:
        nonlocal count
        if not blocks_at_first_record:
            blocks_at_first_record.append(produced)
        count += 1

    summary = tables.normalise_csv(source(), SCHEMA, write, write)
    assert blocks_at_first_record[0] <= 2
    assert (summary.rows, summary.valid_rows, count, produced) == (10**6, 10**6, 10**6, 100)
    assert summary.total_amount == Decimal("10000.00")


def test_read_header_finds_the_delimiter_from_a_sample() -> None:
    header = tables.read_header(chunked(b"id|date|amount|note\n1|2|3", 3), SCHEMA)
    assert header == tables.CsvHeader("|", ("id", "date", "amount", "note"))
