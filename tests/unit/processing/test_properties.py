"""Hostile input, as properties: whatever the bytes, a result or a typed rejection.

CSV normalisation and image inspection are the parsers that read what a client uploaded.
For any input they return a result or raise a `RejectedError` whose code is stable and whose
message is ours (no exception class name, no memory address); never another exception.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from functools import cache
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from docflow.intake.detect import detect_type
from docflow.processing import images, tables
from docflow.processing.model import failure_reason, rejection_reason
from shared.errors import RejectedError
from tests.processing_samples import chunked, image_bytes

SCHEMA = tables.CsvSchema(("id", "amount"), amount_column="amount", date_column="date")
LIMITS = images.ImageLimits(max_pixels=1_000_000, thumbnail_size=32, web_max_size=64)
CODE = re.compile(r"[a-z][a-z0-9_]*")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_clean(exc: RejectedError, codes: re.Pattern[str] = CODE) -> None:
    assert codes.fullmatch(exc.code), exc.code
    assert exc.code != RejectedError.code, "a subclass names the problem"
    assert "0x" not in exc.message
    assert "Error" not in exc.message
    assert len(exc.message) <= 1000


# ---- CSV -----------------------------------------------------------------------------------

cells = st.one_of(
    st.sampled_from(
        ["1", "12.50", "-0", "1e999999999", "1e-999999999", "NaN", "Infinity", "1_0", "", " "]
    ),
    st.sampled_from(["2026-01-01", "2026/02/30", "9999-99-99", '"', '""', '"a"b', "\r", "\n"]),
    st.text(max_size=12),
)
delimiters = st.sampled_from([",", ";", "\t", "|"])


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    delimiter = draw(delimiters)
    header = draw(
        st.lists(st.sampled_from(["id", "amount", "date", "note", "Amount", "", "x y"]), max_size=6)
    )
    rows = draw(st.lists(st.lists(cells, max_size=7), max_size=12))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(delimiter.join(row) for row in [header, *rows])
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = draw(st.sampled_from([b"\xef\xbb\xbf", b""])) + data
    return data


def normalise(data: bytes, chunk: int) -> tuple[tables.CsvSummary, list[str], list[str]]:
    records: list[str] = []
    problems: list[str] = []
    summary = tables.normalise_csv(chunked(data, chunk), SCHEMA, records.append, problems.append)
    return summary, records, problems


@FAST
@given(data=st.one_of(csv_texts(), st.binary(max_size=400)), chunk=st.integers(1, 64))
@example(data=b"id,amount\n1,1e999999999\n", chunk=5)
@example(data=b'id,amount\n1,"unclosed\n2,3\n', chunk=3)
@example(data=b"id,amount\n" + b"x" * 70_000 + b"\n2,3\n", chunk=4096)
def test_csv_normalisation_returns_a_summary_or_a_typed_rejection(data: bytes, chunk: int) -> None:
    try:
        summary, records, problems = normalise(data, chunk)
    except RejectedError as exc:
        assert_clean(exc, re.compile(r"csv_[a-z_]+"))
        return
    assert summary.valid_rows == len(records) >= 1
    assert summary.error_rows == len(problems)
    assert summary.rows == summary.valid_rows + summary.error_rows
    for line in records:
        assert set(json.loads(line)) == set(summary.columns)
    for line in problems:
        problem = json.loads(line)
        assert problem["line"] >= 2
        assert problem["errors"]
        assert all(isinstance(text, str) and "Error" not in text for text in problem["errors"])


@FAST
@given(data=st.one_of(csv_texts(), st.binary(max_size=400)))
def test_reading_a_header_returns_it_or_a_typed_rejection(data: bytes) -> None:
    try:
        header = tables.read_header(chunked(data, 7), SCHEMA)
    except RejectedError as exc:
        assert_clean(exc)
        return
    assert header.delimiter in tables.DELIMITERS
    assert {"id", "amount"} <= set(header.columns)
    assert len(header.columns) <= tables.MAX_COLUMNS


@FAST
@given(data=st.one_of(csv_texts(), st.binary(max_size=600)))
def test_detection_names_a_type_for_any_bytes(data: bytes) -> None:
    assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", detect_type(data))


# ---- images --------------------------------------------------------------------------------


@cache
def _samples() -> tuple[bytes, ...]:
    return (
        image_bytes(48, 32),
        image_bytes(40, 24, fmt="PNG", exif=False),
        image_bytes(40, 24, fmt="PNG", exif=False, mode="RGBA"),
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_samples())))
    how = draw(st.sampled_from(["truncate", "flip", "splice", "chunk"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "splice":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at]) + draw(st.binary(max_size=64)) + bytes(data[at:])
    # A well-formed chunk (right CRC) with garbage inside, after the PNG header.
    if not data.startswith(b"\x89PNG"):
        data = bytearray(_samples()[1])
    kind = draw(st.sampled_from([b"eXIf", b"IDAT", b"iCCP", b"zTXt", b"tEXt", b"pHYs", b"tRNS"]))
    chunk = _png_chunk(kind, draw(st.binary(max_size=80)))
    return bytes(data[:33]) + chunk + bytes(data[33:])


@FAST
@given(data=st.one_of(damaged_images(), st.binary(max_size=200)))
@example(data=b"\x89PNG\r\n\x1a\n")
def test_image_inspection_returns_facts_or_a_typed_rejection(data: bytes) -> None:
    try:
        info = images.inspect_image(data, LIMITS)
    except RejectedError as exc:
        assert_clean(exc, re.compile(r"corrupt_image|image_bomb"))
        return
    assert info.format in images.ALLOWED_FORMATS
    assert info.width * info.height <= LIMITS.max_pixels


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged_images(), job=st.sampled_from(["thumbnail", "web"]))
def test_rendering_returns_webp_or_a_typed_rejection(data: bytes, job: str) -> None:
    from PIL import Image

    try:
        rendition = images.render(data, job, LIMITS)
    except RejectedError as exc:
        assert_clean(exc)
        return
    assert Image.open(io.BytesIO(rendition.data)).format == "WEBP"


# ---- what the state machine hands the reject and compensate tasks -------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@FAST
@given(
    name=st.sampled_from(["RejectedError", "PermanentError", "States.Timeout", "KeyError", ""]),
    cause=st.one_of(st.text(max_size=80), json_values.map(json.dumps)),
    metadata=json_values,
)
def test_reasons_are_code_first_for_any_error_output(name: str, cause: str, metadata: Any) -> None:
    state = {"error": {"Error": name, "Cause": cause}, "metadata": metadata}
    for reason in (failure_reason(state["error"]), rejection_reason(state)):
        if reason is not None:
            assert re.match(r"[a-z][a-z0-9_]*: ", reason), reason
            assert len(reason) <= 500
