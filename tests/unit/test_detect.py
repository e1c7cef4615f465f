from __future__ import annotations

import pytest

from docflow.intake.detect import SAMPLE_BYTES, detect_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image/jpeg"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"MZ\x90\x00" + b"\x00" * 60, "application/x-msdownload"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"id,amount\n1,10.50\n2,3.00\n", "text/csv"),
        ("name;city\nZoë;Zürich\nAnn;Köln\n".encode(), "text/csv"),
        (b'{"a": 1}', "application/json"),
        (b"just a sentence of text\n", "text/plain"),
        (b"", "application/x-empty"),
        (bytes(range(256)), "application/octet-stream"),
    ],
)
def test_type_comes_from_the_bytes(content: bytes, expected: str) -> None:
    assert detect_type(content) == expected


def test_a_sample_cut_inside_a_multibyte_character_is_still_text() -> None:
    rows = "id,city\n" + "".join(f"{i},Zürich\n" for i in range(50))
    sample = rows.encode()[:-9] + "ü".encode()[:1]
    assert detect_type(sample) == "text/csv"


def test_latin1_text_is_not_mistaken_for_utf8_csv() -> None:
    assert (
        detect_type("id,city\n1,Köln\n2,Zürich\n".encode("latin-1")) == "application/octet-stream"
    )


@pytest.mark.parametrize(
    "content",
    [
        # a malformed row among the first lines: processing reports it in errors.jsonl
        b'id,date,amount\n1,2026-01-01,1\n2;2026-01-02;2\n3,2026-01-03\n4,"x\n',
        b"amount\n10.50\n3\n",  # one column
        b"Amount\r\n",  # one column, header only
        b"id,date,amount\n",  # header only
        b"id|date|amount\n1|2026-01-01|1\n",
        b"\n\nid\tamount\n1\t2\n",  # blank lines first: processing says the header is missing
        # 10,000 columns: the header runs past the sample
        (",".join(f"column{i}" for i in range(10_000)) + "\n").encode()[:SAMPLE_BYTES],
    ],
)
def test_csv_is_recognised_from_its_header_whatever_its_rows(content: bytes) -> None:
    assert detect_type(content) == "text/csv"


@pytest.mark.parametrize(
    "content",
    [b"just a sentence of text\n", b"Dear Bob\nhow are you?\n", b"   \n\n", b"42\n43\n"],
)
def test_prose_and_blank_text_are_plain_text(content: bytes) -> None:
    assert detect_type(content) == "text/plain"
