from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from docflow.processing import tables
from docflow.processing.errors import (
    CsvColumnsError,
    CsvDuplicateColumnsError,
    CsvEncodingError,
    CsvFormatError,
    CsvNoHeaderError,
    CsvNoRowsError,
    CsvTooWideError,
    RejectedError,
)
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


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (
            b"id,description\n1,x\n",
            CsvColumnsError,
            "missing required column(s) date, amount; the header has id, description",
        ),
        (
            b"amount\n1\n",
            CsvColumnsError,
            "missing required column(s) id, date; the header has amount",
        ),
        (
            b"",
            CsvNoHeaderError,
            "the first line is empty; the file must start with a header row naming its columns",
        ),
        (
            b"\nid,date,amount\n1,2026-01-01,1\n",
            CsvNoHeaderError,
            "the first line is empty; the file must start with a header row naming its columns",
        ),
        (
            b"id,date,amount,Amount\n1,2026-01-01,1,2\n",
            CsvDuplicateColumnsError,
            "the header names column(s) amount more than once",
        ),
        (
            b"id,date,amount\n",
            CsvNoRowsError,
            "the file has a header and no data rows",
        ),
        (
            b"id,date,amount\n\n\n",
            CsvNoRowsError,
            "the file has a header and no data rows",
        ),
        (
            b"id,date,amount\n1,x,1\n2,2026-01-01,y\n",
            CsvFormatError,
            "none of the 2 row(s) is valid; the first problem is on line 2: "
            "date: 'x' is not a date (YYYY-MM-DD)",
        ),
        (
            b'id,date,amount\n1,2026-01-01,"12\n2,2026-01-01,3\n',
            CsvFormatError,
            "none of the 1 row(s) is valid; the first problem is on line 2: "
            "quoting: a quote opened on line 2 is never closed; lines 2-3 were skipped",
        ),
        (
            ("id,date,amount," + ",".join(f"c{i}" for i in range(1200)) + "\n").encode(),
            CsvTooWideError,
            "the header has 1203 columns; at most 1000 are accepted",
        ),
        (
            (",".join(f"column{i}" for i in range(10_000)) + "\n1\n").encode(),
            CsvTooWideError,
            "the header has more than 1000 columns; at most 1000 are accepted",
        ),
        (
            b"id,date,amount,note_" + b"x" * tables.MAX_HEADER_CHARS + b"\n",
            CsvTooWideError,
            f"the header row is longer than {tables.MAX_HEADER_CHARS} characters",
        ),
    ],
)
def test_a_file_refused_as_a_whole_says_precisely_why(
    data: bytes, error: type[RejectedError], message: str
) -> None:
    with pytest.raises(error) as caught:
        run(data)
    assert caught.value.message == message
    assert isinstance(caught.value, RejectedError)


def test_every_file_level_error_has_its_own_stable_code() -> None:
    classes = [
        CsvEncodingError,
        CsvNoHeaderError,
        CsvColumnsError,
        CsvDuplicateColumnsError,
        CsvTooWideError,
        CsvNoRowsError,
        CsvFormatError,
    ]
    assert [cls.code for cls in classes] == [
        "csv_encoding",
        "csv_no_header",
        "csv_missing_columns",
        "csv_duplicate_columns",
        "csv_too_wide",
        "csv_no_rows",
        "csv_no_valid_rows",
    ]


def test_latin1_bytes_are_an_encoding_error_with_the_line() -> None:
    data = csv_bytes(3) + "r9,2026-01-01,caf\u00e9,1\n".encode("latin-1")
    with pytest.raises(CsvEncodingError, match=r"not valid UTF-8 \(from line 5 on"):
        run(data)


def test_structural_row_problems_are_reported_and_the_rows_after_them_processed() -> None:
    big = "x" * (tables.MAX_FIELD_BYTES + 10)
    long_row = "r," * (tables.MAX_ROW_CHARS // 2 + 10)
    data = (
        "id,date,amount\n"
        f"{big},2026-01-01,1\n"  # line 2
        'r3,"2026-01-01"x,1\n'  # line 3
        f"{long_row}\n"  # line 4
        "r5,2026-01-01,2\n"
        'r6,2026-01-01,"3\n'  # line 6: a quote that never closes swallows the rest
        "r7,2026-01-01,4\n"
    ).encode()
    summary, records, problems = run(data)
    assert records == [{"id": "r5", "date": "2026-01-01", "amount": "2"}]
    assert problems == [
        {"line": 2, "errors": ["field_too_large: a field is longer than 65536 characters"]},
        {
            "line": 3,
            "errors": [
                "quoting: a closing quote is followed by more characters before the delimiter"
            ],
        },
        {
            "line": 4,
            "errors": [f"row_too_long: the row is longer than {tables.MAX_ROW_CHARS} characters"],
        },
        {
            "line": 6,
            "errors": ["quoting: a quote opened on line 6 is never closed; lines 6-7 were skipped"],
        },
    ]
    assert (summary.rows, summary.valid_rows, summary.error_rows) == (5, 1, 4)


def test_an_amount_out_of_range_is_a_row_problem_not_an_overflow() -> None:
    data = (
        b"id,date,amount\n1,2026-01-01,1e999999999\n2,2026-01-01,-1E+18\n"
        b"3,,1e-19\n4,2026-01-01,2.5\n"
    )
    summary, records, problems = run(data)
    out_of_range = "is out of range (below 10^18, at most 18 decimal places)"
    assert [p["errors"] for p in problems] == [
        [f"amount: '1e999999999' {out_of_range}"],
        [f"amount: '-1E+18' {out_of_range}"],
        ["date: required value is empty", f"amount: '1e-19' {out_of_range}"],
    ]
    assert records == [{"id": "4", "date": "2026-01-01", "amount": "2.5"}]
    assert summary.total_amount == Decimal("2.5")


def test_the_total_of_in_range_amounts_is_exact() -> None:
    rows = "".join(f"{i},2026-01-01,999999999999999999.999999999999999999\n" for i in range(3))
    summary, _, problems = run(("id,date,amount\n" + rows).encode())
    assert problems == []
    assert summary.total_amount == Decimal("2999999999999999999.999999999999999997")


def test_a_row_far_wider_than_the_header_is_a_field_count_problem() -> None:
    # Splitting a huge row by the other delimiters would exceed the field size limit.
    wide = ",".join(["y" * 60_000] * 15)
    _, _, problems = run(f"id,date,amount\n{wide}\n1,2026-01-01,1\n".encode())
    assert problems == [{"line": 2, "errors": ["field_count: expected 3 fields, got 15"]}]


def test_one_column_files_are_csv_too() -> None:
    schema = tables.CsvSchema(("amount",), amount_column="amount")
    summary, records, _ = run(b"Amount\n1.50\n2\n", schema)
    assert records == [{"amount": "1.50"}, {"amount": "2"}]
    assert summary.total_amount == Decimal("3.50")


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
