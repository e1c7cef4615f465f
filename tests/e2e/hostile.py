"""Hostile inputs for the e2e campaign, generated as families x variations.

Deterministic: the same cases, in the same order, on every run (a seeded generator for the
random bytes), so a violation found once is found again. Each case has a name unique across
the campaign; the campaign counts distinct inputs by name and family.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from tests.processing_samples import csv_bytes, image_bytes, png_bomb

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLIENT_ERRORS = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422})
HTTP_BAD_INPUT = frozenset({400, 413, 415})

# Placeholders filled by the campaign with documents it created beforehand.
ALICE_DOC = "{alice_doc}"  # alice's, processed
ALICE_FLAGGED = "{alice_flagged}"  # alice's, awaiting approval
BOB_DOC = "{bob_doc}"  # bob's, processed


def _rng(name: str) -> random.Random:
    return random.Random(f"docflow-campaign:{name}")


def _random_bytes(name: str, size: int) -> bytes:
    return _rng(name).randbytes(size)


def _nested(depth: int, opener: str = "[", closer: str = "]", inner: str = "1") -> str:
    return opener * depth + inner + closer * depth


def _nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# ---- HTTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpCase:
    name: str
    method: str
    path: str
    body: bytes | None = None
    owner: str | None = "demo-alice"  # whose API key; None: no key header
    headers: dict[str, str] = field(default_factory=dict)
    # The statuses the contract allows; every case also requires < 500 and a JSON body.
    expect: frozenset[int] = HTTP_BAD_INPUT
    raw: bool = False  # sent over a socket as given (headers requests would not send)


def _doc_body(**fields: Any) -> bytes:
    base: dict[str, Any] = {"filename": "a.csv", "content_type": "text/csv", "size": 10}
    base.update(fields)
    return json.dumps(base).encode()


def _json_without(name: str) -> bytes:
    base = {"filename": "a.csv", "content_type": "text/csv", "size": 10}
    del base[name]
    return json.dumps(base).encode()


def _wrong_type_expect(name: str, value: Any) -> frozenset[int]:
    """The statuses for one field's value: a value that happens to be valid is created."""
    valid = (
        name == "filename"
        and isinstance(value, str)
        and len(value.strip()) > 0
        and len(value) <= 200
    ) or (name == "size" and type(value) is int and 0 < value <= 5 * 1024 * 1024)
    return HTTP_BAD_INPUT | ({201} if valid else set())


def http_cases() -> list[HttpCase]:
    cases: list[HttpCase] = []
    add = cases.append
    json_headers = {"content-type": "application/json"}

    # malformed JSON
    malformed = [
        b"",
        b"{",
        b"}",
        b"[",
        b"nul",
        b"{'filename': 'a.csv'}",
        b'{"filename": }',
        b'{"filename": "a.csv",}',
        b'{"filename": "a.csv" "size": 1}',
        b'{"size": NaN, "filename": "a.csv", "content_type": "text/csv"}',
        b'{"size": Infinity, "filename": "a.csv", "content_type": "text/csv"}',
        b"\xff\xfe{\x00}\x00",
        b"\xef\xbb\xbf" + _doc_body(),
        _doc_body() + _doc_body(),
        b'{"filename": "a.csv"} trailing',
        b"\x00\x01\x02\x03",
        b'"just a string"',
        b"12345",
        b"null",
        b"true",
        b"[]",
        b'["filename", "a.csv"]',
        b'{"filename": "\\x41.csv", "content_type": "text/csv", "size": 1}',
        b'{"filename": "a.csv", "content_type": "text/csv", "size": 1e309}',
        b'{"filename": "a.csv", "content_type": "text/csv", "size": 99999999999999999999999}',
        _random_bytes("malformed-random", 2048),
    ]
    for index, body in enumerate(malformed):
        add(
            HttpCase(
                f"http.malformed_json.{index}", "POST", "/documents", body, headers=json_headers
            )
        )

    # deep nesting, on both JSON routes
    for depth in (64, 1000, 10_000, 100_000):
        for kind, text in (("list", _nested(depth)), ("object", _nested_object(depth))):
            add(HttpCase(f"http.nesting.{kind}.{depth}", "POST", "/documents", text.encode()))
            add(
                HttpCase(
                    f"http.nesting.decision.{kind}.{depth}",
                    "POST",
                    f"/documents/{ALICE_DOC}/decision",
                    text.encode(),
                    expect=frozenset({400, 413}),
                )
            )
    add(
        HttpCase(
            "http.nesting.filename_value.5000",
            "POST",
            "/documents",
            b'{"filename": ' + _nested(5000).encode() + b', "content_type": "text/csv", "size": 1}',
        )
    )

    # huge bodies: API Gateway answers 413 over 10 MB, and over Lambda's 6 MB event
    too_big = frozenset({413})
    add(
        HttpCase(
            "http.huge.10mb_plus_1",
            "POST",
            "/documents",
            b"{" * (10 * 1024 * 1024 + 1),
            expect=too_big,
        )
    )
    add(
        HttpCase(
            "http.huge.11mb_json_filename",
            "POST",
            "/documents",
            _doc_body(filename="a" * (11 * 1024 * 1024)),
            expect=too_big,
        )
    )
    add(
        HttpCase(
            "http.huge.6mb_random_bytes",
            "POST",
            "/documents",
            _random_bytes("6mb", 6 * 1024 * 1024),
            expect=too_big,
        )
    )
    add(
        HttpCase(
            "http.huge.5mb_comment_decision",
            "POST",
            f"/documents/{ALICE_DOC}/decision",
            json.dumps({"decision": "approve", "comment": "x" * (5 * 1024 * 1024)}).encode(),
            expect=frozenset({400, 409, 413}),
        )
    )
    add(
        HttpCase(
            "http.huge.1mb_filename", "POST", "/documents", _doc_body(filename="b" * (1024 * 1024))
        )
    )

    # wrong types, per field
    values: list[tuple[str, Any]] = [
        ("null", None),
        ("true", True),
        ("false", False),
        ("int", 1),
        ("float", 1.5),
        ("negative", -1),
        ("zero", 0),
        ("empty", ""),
        ("list", []),
        ("list_of_str", ["a.csv"]),
        ("object", {}),
        ("object_nested", {"S": "a.csv"}),
        ("long_str", "x" * 1000),
        ("big_int", 2**64),
        ("numeric_str", "10"),
        ("whitespace", "   "),
    ]
    for fname in ("filename", "content_type", "size"):
        for label, value in values:
            add(
                HttpCase(
                    f"http.wrong_type.{fname}.{label}",
                    "POST",
                    "/documents",
                    _doc_body(**{fname: value}),
                    expect=_wrong_type_expect(fname, value),
                )
            )
        add(HttpCase(f"http.missing_field.{fname}", "POST", "/documents", _json_without(fname)))

    # unknown fields (ignored or refused, never obeyed: ownership is checked afterwards)
    created_or_bad = frozenset({201, 400})
    for label, extra in (
        ("owner", {"owner": "demo-bob"}),
        ("status", {"status": "processed"}),
        ("document_id", {"document_id": "forged-id"}),
        ("object_key", {"object_key": "incoming/forged/x.csv"}),
        ("proto", {"__proto__": {"admin": True}}),
        ("history", {"history": [{"status": "processed"}]}),
    ):
        add(
            HttpCase(
                f"http.unknown_field.{label}",
                "POST",
                "/documents",
                _doc_body(**extra),
                expect=created_or_bad,
            )
        )

    # bad and forged cursors
    def b64(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return base64.urlsafe_b64encode(text.encode()).decode()

    cursors = {
        "garbage": "!!!not-base64!!!",
        "not_json": b64("hello"),
        "list": b64([1, 2]),
        "null": b64("null"),
        "number": b64("5"),
        "owner_plain_string": b64({"owner": "demo-alice"}),
        "owner_null": b64({"owner": None}),
        "owner_list": b64({"owner": ["demo-alice"]}),
        "owner_nested": b64({"owner": {"S": {"S": "demo-alice"}}}),
        "owner_deep": b64(_nested_object(5000)),
        "other_owner": b64({"owner": {"S": "demo-bob"}, "document_id": {"S": "x"}}),
        "own_owner_no_keys": b64({"owner": {"S": "demo-alice"}}),
        "own_owner_wrong_types": b64(
            {"owner": {"S": "demo-alice"}, "document_id": {"N": "1"}, "created_at": {"B": "AA=="}}
        ),
        "own_owner_extra_keys": b64(
            {"owner": {"S": "demo-alice"}, "document_id": {"S": "x"}, "evil": {"S": "y"}}
        ),
        "own_owner_bad_attr": b64({"owner": {"S": "demo-alice"}, "document_id": {"X": "x"}}),
        "huge": b64({"owner": {"S": "demo-alice"}, "pad": "z" * 6000}),
        "nul": "%00",
        "unicode": "%E2%98%83",
        "padding_only": "====",
    }
    for label, cursor in cursors.items():
        add(HttpCase(f"http.cursor.{label}", "GET", f"/documents?next={cursor}"))

    # bad limits and statuses
    for label, query in (
        ("zero", "limit=0"),
        ("negative", "limit=-1"),
        ("over", "limit=101"),
        ("exp", "limit=1e3"),
        ("word", "limit=abc"),
        ("empty", "limit="),
        ("float", "limit=5.0"),
        ("huge", "limit=" + "9" * 30),
        ("nan", "limit=NaN"),
        ("inf", "limit=inf"),
        ("hex", "limit=0x10"),
        ("twice", "limit=5&limit=500"),
        ("status_unknown", "status=nope"),
        ("status_empty", "status="),
        ("status_twice", "status=processed&status=failed"),
        ("status_case", "status=PROCESSED"),
    ):
        add(
            HttpCase(
                f"http.limit.{label}", "GET", f"/documents?{query}", expect=frozenset({200, 400})
            )
        )

    # API keys: missing, wrong, malformed; another owner's documents
    unauthorized = frozenset({401})
    for label, headers in (
        ("empty", {"x-api-key": ""}),
        ("wrong", {"x-api-key": "dfk_wrong_key_0000000000"}),
        ("long", {"x-api-key": "k" * 8000}),
        ("latin1", {"x-api-key": "dfk_\xe9\xe8"}),
        ("bearer", {"authorization": "Bearer dfk_nothing"}),
    ):
        add(
            HttpCase(
                f"http.key.{label}",
                "GET",
                "/documents",
                owner=None,
                headers=headers,
                expect=unauthorized,
            )
        )
    add(HttpCase("http.key.missing.list", "GET", "/documents", owner=None, expect=unauthorized))
    add(
        HttpCase(
            "http.key.spaces",
            "GET",
            "/documents",
            owner=None,
            headers={"x-api-key": "   "},
            expect=unauthorized,
            raw=True,
        )
    )
    add(
        HttpCase(
            "http.key.missing.create",
            "POST",
            "/documents",
            _doc_body(),
            owner=None,
            expect=unauthorized,
        )
    )
    add(
        HttpCase(
            "http.key.missing.get",
            "GET",
            f"/documents/{ALICE_DOC}",
            owner=None,
            expect=unauthorized,
        )
    )
    add(
        HttpCase(
            "http.key.missing.decision",
            "POST",
            f"/documents/{ALICE_FLAGGED}/decision",
            b'{"decision": "approve"}',
            owner=None,
            expect=unauthorized,
        )
    )
    not_found = frozenset({404})
    add(
        HttpCase(
            "http.other_owner.get",
            "GET",
            f"/documents/{ALICE_DOC}",
            owner="demo-bob",
            expect=not_found,
        )
    )
    add(
        HttpCase(
            "http.other_owner.get_flagged",
            "GET",
            f"/documents/{ALICE_FLAGGED}",
            owner="demo-bob",
            expect=not_found,
        )
    )
    add(HttpCase("http.other_owner.get_reverse", "GET", f"/documents/{BOB_DOC}", expect=not_found))

    # decisions on others' documents and on odd ids
    for label, body in (
        ("approve", b'{"decision": "approve"}'),
        ("reject", b'{"decision": "reject"}'),
    ):
        add(
            HttpCase(
                f"http.other_owner.decision_flagged.{label}",
                "POST",
                f"/documents/{ALICE_FLAGGED}/decision",
                body,
                owner="demo-bob",
                expect=not_found,
            )
        )
        add(
            HttpCase(
                f"http.other_owner.decision_processed.{label}",
                "POST",
                f"/documents/{ALICE_DOC}/decision",
                body,
                owner="demo-bob",
                expect=not_found,
            )
        )
    for label, doc in (
        ("unknown", "doc-does-not-exist"),
        ("dots", "%2e%2e"),
        ("long", "d" * 2000),
        ("unicode", "%E2%98%83"),
        ("nul", "%00"),
    ):
        add(
            HttpCase(
                f"http.decision_id.{label}",
                "POST",
                f"/documents/{doc}/decision",
                b'{"decision": "approve"}',
                expect=frozenset({400, 404}),
            )
        )
        add(
            HttpCase(
                f"http.get_id.{label}", "GET", f"/documents/{doc}", expect=frozenset({400, 404})
            )
        )

    # decision bodies of every JSON type (on alice's processed document: 400, or 409 if valid)
    decision_bodies: list[tuple[str, Any]] = [
        ("null", None),
        ("true", True),
        ("false", False),
        ("zero", 0),
        ("float", 1.5),
        ("string", "approve"),
        ("list", []),
        ("list_approve", ["approve"]),
        ("object_empty", {}),
        ("decision_null", {"decision": None}),
        ("decision_int", {"decision": 1}),
        ("decision_true", {"decision": True}),
        ("decision_list", {"decision": ["approve"]}),
        ("decision_object", {"decision": {"approve": True}}),
        ("decision_upper", {"decision": "APPROVE"}),
        ("decision_padded", {"decision": "approve "}),
        ("decision_yes", {"decision": "yes"}),
        ("decision_surrogate", '{"decision": "\\ud800"}'),
        ("comment_int", {"decision": "approve", "comment": 1}),
        ("comment_list", {"decision": "approve", "comment": ["a"]}),
        ("comment_object", {"decision": "approve", "comment": {"a": 1}}),
        ("comment_long", {"decision": "reject", "comment": "x" * 10_000}),
        ("comment_control", {"decision": "reject", "comment": "a\u0000b\u001bc"}),
        ("comment_surrogate", '{"decision": "reject", "comment": "\\udfff"}'),
    ]
    for label, value in decision_bodies:
        body = (
            value.encode()
            if isinstance(value, str) and value.startswith("{")
            else json.dumps(value).encode()
        )
        add(
            HttpCase(
                f"http.decision_body.{label}",
                "POST",
                f"/documents/{ALICE_DOC}/decision",
                body,
                expect=frozenset({400, 409}),
            )
        )

    # filenames: lone surrogates, control characters, odd names
    created_or_bad_name = frozenset({201, 400})
    for label, raw_name in (
        ("lone_high_surrogate", '"a\\ud800.csv"'),
        ("lone_low_surrogate", '"\\udc00.csv"'),
        ("reversed_surrogates", '"\\udc00\\ud800.csv"'),
        ("nul", '"a\\u0000.csv"'),
        ("escape", '"a\\u001b[31m.csv"'),
        ("newline", '"a\\nb.csv"'),
        ("tab", '"a\\tb.csv"'),
        ("del", '"a\\u007f.csv"'),
        ("c1_control", '"a\\u0085.csv"'),
        ("line_separator", '"a\\u2028.csv"'),
        ("rtl_override", '"invoice\\u202egpj.csv"'),
        ("slash", '"../../etc/passwd"'),
        ("backslash", '"..\\\\win.csv"'),
        ("dot", '"."'),
        ("dotdot", '".."'),
        ("too_long", json.dumps("n" * 201 + ".csv")),
        ("emoji", '"\\ud83d\\udcc4.csv"'),
        ("bom", '"\\ufeffa.csv"'),
        ("percent", '"a%2Fb.csv"'),
        ("plus_space", '"a+b c.csv"'),
    ):
        body = b'{"filename": ' + raw_name.encode() + b', "content_type": "text/csv", "size": 10}'
        expect = created_or_bad_name
        if "surrogate" in label or label in {
            "nul",
            "escape",
            "newline",
            "tab",
            "slash",
            "backslash",
            "too_long",
        }:
            expect = frozenset({400})
        add(HttpCase(f"http.filename.{label}", "POST", "/documents", body, expect=expect))

    # content types and sizes declared
    for label, content_type in (
        ("gif", "image/gif"),
        ("html", "text/html"),
        ("upper", "TEXT/CSV"),
        ("params", "text/csv; charset=utf-8"),
        ("wildcard", "*/*"),
        ("exe", "application/x-msdownload"),
        ("svg", "image/svg+xml"),
        ("padded", " text/csv"),
        ("surrogate", "text/csv\ud800"),
    ):
        body = json.dumps({"filename": "a.csv", "content_type": content_type, "size": 10}).encode()
        add(
            HttpCase(
                f"http.content_type.{label}",
                "POST",
                "/documents",
                body,
                expect=frozenset({400, 415}),
            )
        )
    for label, size in (
        ("over_limit", 5 * 1024 * 1024 + 1),
        ("huge", 10**20),
        ("tiny_float", 0.5),
    ):
        body = json.dumps({"filename": "a.csv", "content_type": "text/csv", "size": size}).encode()
        add(
            HttpCase(f"http.size.{label}", "POST", "/documents", body, expect=frozenset({400, 413}))
        )
    # JSON has one number type: 1.0 is the integer 1 (JSON Schema's reading, and the OpenAPI
    # document's `type: integer`), so it is accepted as a size of one byte.
    body = json.dumps({"filename": "a.csv", "content_type": "text/csv", "size": 1.0}).encode()
    add(HttpCase("http.size.float_int", "POST", "/documents", body, expect=created_or_bad_name))
    for label, header in (
        ("text_plain", "text/plain"),
        ("form", "application/x-www-form-urlencoded"),
        ("multipart", "multipart/form-data; boundary=x"),
        ("latin1", "application/json; charset=latin-1"),
        ("xml", "application/xml"),
    ):
        add(
            HttpCase(
                f"http.request_content_type.{label}",
                "POST",
                "/documents",
                _doc_body(),
                headers={"content-type": header},
                expect=frozenset({201, 400, 415}),
            )
        )

    # routes and methods nobody defined
    for label, method, path in (
        ("unknown_route", "GET", "/nope"),
        ("delete", "DELETE", f"/documents/{ALICE_DOC}"),
        ("put", "PUT", "/documents"),
        ("patch", "PATCH", f"/documents/{ALICE_DOC}"),
        ("trailing_slash", "GET", "/documents/"),
        ("double_slash", "GET", "//documents"),
        ("decision_get", "GET", f"/documents/{ALICE_DOC}/decision"),
        ("root", "GET", "/"),
    ):
        # API Gateway may route a trailing or doubled slash to GET /documents: a 200 is fine.
        allowed = {400, 403, 404, 405} | ({200} if "slash" in label else set())
        add(HttpCase(f"http.route.{label}", method, path, expect=frozenset(allowed)))

    # headers a client library would not send: for the gateway
    for label, content_length in (
        ("word", "abc"),
        ("negative", "-1"),
        ("list", "5, 5"),
        ("overflow", "9" * 40),
        ("space", " 12 "),
    ):
        add(
            HttpCase(
                f"http.header.content_length.{label}",
                "POST",
                "/documents",
                _doc_body(),
                headers={"Content-Length": content_length},
                expect=frozenset({400, 413}),
                raw=True,
            )
        )
    return cases


# ---- uploads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadCase:
    """One file through the presigned POST (or put by the admin where a client cannot).

    `expect`: the final statuses the contract allows. `client_caused`: the problem is the
    client's file, which must never end `failed`. `refused`: S3 refuses the upload itself
    (the policy), so the document stays `awaiting_upload`.
    """

    name: str
    filename: str
    content_type: str
    body: bytes
    expect: frozenset[str]
    client_caused: bool = True
    declared_size: int | None = None
    mode: str = "presigned"  # presigned | admin_put | tamper_key | tamper_type
    refused: bool = False


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _png(width: int, height: int, idat: bytes | None = None, extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = idat if idat is not None else zlib.compress(b"\x00" * (width + 1) * height)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + extra
        + _png_chunk(b"IDAT", raw)
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(image_bytes(64, 48, exif=False))
    index = data.find(b"\xff\xc0")
    if index < 0:
        index = data.find(b"\xff\xc2")
    struct.pack_into(">HH", data, index + 5, height, width)
    return bytes(data)


def _csv(text: str) -> bytes:
    return text.encode("utf-8")


def upload_cases() -> list[UploadCase]:
    cases: list[UploadCase] = []
    add = cases.append
    rejected = frozenset({"rejected"})
    rejected_or_quarantined = frozenset({"rejected", "quarantined"})
    processed = frozenset({"processed"})
    processed_or_rejected = frozenset({"processed", "rejected"})

    jpeg = image_bytes(320, 240)
    png = image_bytes(320, 240, fmt="PNG", exif=False)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    exe = b"MZ\x90\x00" + _random_bytes("exe", 4000)
    elf = b"\x7fELF\x02\x01\x01" + _random_bytes("elf", 2000)
    zipfile_bytes = b"PK\x03\x04" + _random_bytes("zip", 1000)
    html = b"<html><script>alert(1)</script></html>\n"
    good_csv = csv_bytes(3, amount="2")

    # wrong bytes for the declared type
    for label, filename, declared, body in (
        ("jpeg_as_png", "a.png", "image/png", jpeg),
        ("csv_as_png", "a.png", "image/png", good_csv),
        ("pdf_as_png", "a.png", "image/png", pdf),
        ("exe_as_png", "a.png", "image/png", exe),
        ("png_as_jpeg", "a.jpg", "image/jpeg", png),
        ("html_as_jpeg", "a.jpg", "image/jpeg", html),
        ("exe_as_csv", "a.csv", "text/csv", exe),
        ("elf_as_csv", "a.csv", "text/csv", elf),
        ("zip_as_csv", "a.csv", "text/csv", zipfile_bytes),
        ("png_as_csv", "a.csv", "text/csv", png),
        ("random_as_csv", "a.csv", "text/csv", _random_bytes("random-csv", 3000)),
        ("utf16_csv", "a.csv", "text/csv", good_csv.decode().encode("utf-16")),
        ("csv_as_pdf", "a.pdf", "application/pdf", good_csv),
        ("exe_as_pdf", "a.pdf", "application/pdf", exe),
        ("html_as_csv", "a.csv", "text/csv", html),
    ):
        add(UploadCase(f"upload.wrong_bytes.{label}", filename, declared, body, rejected))

    # truncated and corrupt images
    for fraction in (0.02, 0.1, 0.33, 0.5, 0.9, 0.99):
        add(
            UploadCase(
                f"upload.png_truncated.{int(fraction * 100)}",
                "t.png",
                "image/png",
                png[: max(9, int(len(png) * fraction))],
                rejected,
            )
        )
        add(
            UploadCase(
                f"upload.jpeg_truncated.{int(fraction * 100)}",
                "t.jpg",
                "image/jpeg",
                jpeg[: max(3, int(len(jpeg) * fraction))],
                rejected,
            )
        )
    add(
        UploadCase(
            "upload.png_signature_only", "s.png", "image/png", b"\x89PNG\r\n\x1a\n", rejected
        )
    )
    add(
        UploadCase(
            "upload.png_garbage_idat",
            "g.png",
            "image/png",
            _png(64, 64, idat=_random_bytes("idat", 500)),
            rejected,
        )
    )
    add(
        UploadCase(
            "upload.png_garbage_exif",
            "x.png",
            "image/png",
            _png(64, 64, extra=_png_chunk(b"eXIf", _random_bytes("exif", 200))),
            processed_or_rejected,
        )
    )
    bad_crc = bytearray(_png(64, 64))
    bad_crc[29] ^= 0xFF  # IHDR's CRC
    add(UploadCase("upload.png_bad_crc", "c.png", "image/png", bytes(bad_crc), rejected))
    add(
        UploadCase(
            "upload.png_no_iend", "n.png", "image/png", _png(64, 64)[:-12], processed_or_rejected
        )
    )
    add(
        UploadCase(
            "upload.png_zero_dimensions",
            "z.png",
            "image/png",
            _png(0, 0, idat=zlib.compress(b"")),
            rejected,
        )
    )
    jpeg_garbage = jpeg[:2] + _random_bytes("jpeg-garbage", 3000)
    add(UploadCase("upload.jpeg_garbage_after_soi", "g.jpg", "image/jpeg", jpeg_garbage, rejected))
    scan = jpeg.find(b"\xff\xda")
    corrupt_scan = jpeg[: scan + 20] + _random_bytes("scan", len(jpeg) - scan - 22) + b"\xff\xd9"
    add(
        UploadCase(
            "upload.jpeg_corrupt_scan", "s.jpg", "image/jpeg", corrupt_scan, processed_or_rejected
        )
    )
    exif_garbage = (
        jpeg[:2]
        + b"\xff\xe1"
        + struct.pack(">H", 202)
        + b"Exif\x00\x00"
        + _random_bytes("jexif", 194)
        + jpeg[2:]
    )
    add(
        UploadCase(
            "upload.jpeg_garbage_exif", "e.jpg", "image/jpeg", exif_garbage, processed_or_rejected
        )
    )

    # decompression bombs made small
    add(UploadCase("upload.bomb.png_100k", "b.png", "image/png", png_bomb(), rejected))
    add(UploadCase("upload.bomb.png_7000", "b7.png", "image/png", png_bomb(7000, 7000), rejected))
    add(
        UploadCase("upload.bomb.png_wide", "bw.png", "image/png", png_bomb(2_000_000, 30), rejected)
    )
    add(
        UploadCase(
            "upload.bomb.jpeg_65000", "b.jpg", "image/jpeg", _jpeg_with_size(65000, 65000), rejected
        )
    )
    add(
        UploadCase(
            "upload.bomb.jpeg_tall",
            "bt.jpg",
            "image/jpeg",
            _jpeg_with_size(100, 65000),
            processed_or_rejected,
        )
    )

    # CSVs
    header = "id,date,description,amount\n"
    for label, text, expect in (
        ("missing_amount", "id,date,description\nr1,2026-03-01,x\n", rejected),
        ("duplicate_columns", "id,amount,amount\nr1,1,2\nr2,3,4\n", rejected),
        ("no_valid_rows", header + "r1,2026-03-01,x,abc\nr2,2026-03-01,y,\n", rejected),
        (
            "unbalanced_quotes",
            header + 'r1,2026-03-01,"unterminated,1\nr2,2026-03-01,y,2\n',
            processed_or_rejected,
        ),
        ("huge_field", header + "r1,2026-03-01," + "f" * 300_000 + ",1\n", processed_or_rejected),
        (
            "amount_1e999999999",
            header + "r1,2026-03-01,x,1e999999999\nr2,2026-03-01,y,2\n",
            processed_or_rejected,
        ),
        ("amount_only_1e999999999", header + "r1,2026-03-01,x,1e999999999\n", rejected),
        (
            "amount_negative_exp",
            header + "r1,2026-03-01,x,1e-999999999\nr2,2026-03-01,y,2\n",
            processed_or_rejected,
        ),
        (
            "amount_infinity",
            header + "r1,2026-03-01,x,Infinity\nr2,2026-03-01,y,2\n",
            processed_or_rejected,
        ),
        ("amount_nan", header + "r1,2026-03-01,x,NaN\nr2,2026-03-01,y,2\n", processed_or_rejected),
        (
            "amount_huge_digits",
            header + "r1,2026-03-01,x," + "9" * 5000 + "\nr2,2026-03-01,y,2\n",
            processed_or_rejected,
        ),
        ("one_column", "amount\n1\n2\n3\n", processed_or_rejected),
        ("header_only", header, rejected),
        (
            "ten_thousand_columns",
            ",".join(["amount"] + [f"c{i}" for i in range(9999)])
            + "\n"
            + ",".join(["1"] * 10_000)
            + "\n",
            processed_or_rejected,
        ),
        (
            "malformed_row_early",
            header + 'r1,2026-03-01,"x""y,1\nr2,2026-03-01,y,2\nr3,2026-03-01,z,3\n',
            processed_or_rejected,
        ),
        ("short_rows", header + "r1\nr2,2026-03-01\nr3,2026-03-01,z,3\n", processed_or_rejected),
        (
            "long_rows",
            header + "r1,2026-03-01,x,1,extra,extra\nr2,2026-03-01,y,2\n",
            processed_or_rejected,
        ),
        (
            "bad_dates",
            header + "r1,not-a-date,x,1\nr2,2026-02-30,y,2\nr3,2026-03-01,z,3\n",
            processed_or_rejected,
        ),
        (
            "nul_bytes",
            header + "r1,2026-03-01,x\x00y,1\nr2,2026-03-01,y,2\n",
            processed_or_rejected,
        ),
        ("invalid_utf8", None, processed_or_rejected),
        ("latin1", None, processed_or_rejected),
        (
            "bom_crlf",
            "\ufeff" + header.replace("\n", "\r\n") + "r1,2026-03-01,x,1\r\n",
            processed_or_rejected,
        ),
        (
            "semicolons",
            header.replace(",", ";") + "r1;2026-03-01;x;1\nr2;2026-03-01;y;2\n",
            processed_or_rejected,
        ),
        (
            "formula_injection",
            header + 'r1,2026-03-01,"=HYPERLINK(""http://x"")",1\n',
            processed_or_rejected,
        ),
        ("blank_lines", "\n\n\n" + header + "\n\nr1,2026-03-01,x,1\n\n", processed_or_rejected),
    ):
        if label == "invalid_utf8":
            body = header.encode() + b"r1,2026-03-01,\xff\xfe\xfa,1\nr2,2026-03-01,y,2\n"
        elif label == "latin1":
            body = (header + "r1,2026-03-01,caf\xe9,1\nr2,2026-03-01,na\xefve,2\n").encode(
                "latin-1"
            )
        else:
            assert text is not None
            body = _csv(text)
        add(UploadCase(f"upload.csv.{label}", f"{label}.csv", "text/csv", body, expect))

    # malware signatures
    quarantined = frozenset({"quarantined"})
    add(UploadCase("upload.eicar.csv", "eicar.csv", "text/csv", EICAR, quarantined))
    add(
        UploadCase(
            "upload.eicar.trailing_newline", "eicar2.csv", "text/csv", EICAR + b"\r\n", quarantined
        )
    )
    add(UploadCase("upload.eicar.as_png", "eicar.png", "image/png", EICAR, rejected_or_quarantined))
    add(
        UploadCase(
            "upload.eicar.inside_csv",
            "eicar3.csv",
            "text/csv",
            header.encode() + b"r1,2026-03-01," + EICAR + b",1\n",
            rejected_or_quarantined,
        )
    )

    # empty files and size mismatches
    add(
        UploadCase(
            "upload.empty.presigned",
            "empty.csv",
            "text/csv",
            b"",
            rejected,
            declared_size=1,
            refused=True,
        )
    )
    add(
        UploadCase(
            "upload.empty.put",
            "empty2.csv",
            "text/csv",
            b"",
            rejected,
            declared_size=10,
            mode="admin_put",
        )
    )
    add(
        UploadCase(
            "upload.size.bigger_presigned",
            "big.csv",
            "text/csv",
            good_csv + b"r9,2026-03-01,x,1\n",
            rejected,
            declared_size=len(good_csv),
            refused=True,
        )
    )
    add(
        UploadCase(
            "upload.size.smaller_presigned",
            "small.csv",
            "text/csv",
            good_csv[:-5],
            rejected,
            declared_size=len(good_csv),
            refused=True,
        )
    )
    add(
        UploadCase(
            "upload.size.bigger_put",
            "big2.csv",
            "text/csv",
            good_csv + b"r9,2026-03-01,x,1\n",
            rejected,
            declared_size=len(good_csv),
            mode="admin_put",
        )
    )
    add(
        UploadCase(
            "upload.size.smaller_put",
            "small2.csv",
            "text/csv",
            good_csv[:-5],
            rejected,
            declared_size=len(good_csv),
            mode="admin_put",
        )
    )
    add(
        UploadCase(
            "upload.size.over_limit_put",
            "huge.csv",
            "text/csv",
            good_csv + b"#" * (5 * 1024 * 1024),
            rejected,
            declared_size=len(good_csv),
            mode="admin_put",
        )
    )

    # re-aimed keys and tampered forms (S3 refuses them by the policy)
    add(
        UploadCase(
            "upload.reaim.other_key",
            "r.csv",
            "text/csv",
            good_csv,
            rejected,
            mode="tamper_key",
            refused=True,
        )
    )
    add(
        UploadCase(
            "upload.reaim.content_type",
            "r2.csv",
            "text/csv",
            good_csv,
            rejected,
            mode="tamper_type",
            refused=True,
        )
    )

    # odd but valid names and files (these must be processed)
    add(
        UploadCase(
            "upload.valid.plus_space_name",
            "a+b c%20d.csv",
            "text/csv",
            good_csv,
            processed,
            client_caused=False,
        )
    )
    add(
        UploadCase(
            "upload.valid.unicode_name",
            "r\u00e9sum\u00e9 \U0001f4c4.csv",
            "text/csv",
            good_csv,
            processed,
            client_caused=False,
        )
    )
    add(UploadCase("upload.valid.png", "ok.png", "image/png", png, processed, client_caused=False))
    add(
        UploadCase(
            "upload.valid.jpeg", "ok.jpg", "image/jpeg", jpeg, processed, client_caused=False
        )
    )
    return cases


# ---- queues, topic and stream --------------------------------------------------------------


@dataclass(frozen=True)
class MessageCase:
    """A message put straight into a queue or on the topic.

    `expect`: "dlq" (poison: dead-lettered), "processed" (consumed, nothing dead-lettered),
    "filtered" (the subscription's filter drops it: never in a queue).
    """

    name: str
    target: str  # notify | webhooks | topic
    body: str
    expect: str
    attributes: dict[str, str] = field(default_factory=dict)


def _envelope(
    message: Any, event_type: str | None = "document.processed", message_id: str = "m-1"
) -> str:
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:docflow-local-events",
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": "2026-12-02T00:00:00.000Z",
    }
    if event_type is not None:
        envelope["MessageAttributes"] = {"event_type": {"Type": "String", "Value": event_type}}
    return json.dumps(envelope)


def poison_bodies(queue: str) -> list[tuple[str, str]]:
    unknown = {"document_id": "doc-does-not-exist", "event_type": "document.processed"}
    bodies = [
        ("empty_json_object", "{}"),
        ("not_json", "{this is not an SNS notification"),
        ("json_list", "[1, 2, 3]"),
        ("json_null", "null"),
        ("json_number", "42"),
        ("json_string", '"hello"'),
        ("no_message", json.dumps({"Type": "Notification", "MessageId": "m"})),
        (
            "message_object",
            json.dumps({"Type": "Notification", "MessageId": "m", "Message": {"a": 1}}),
        ),
        ("message_not_json", _envelope("not json at all")),
        ("message_list", _envelope([1, 2])),
        ("message_empty_object", _envelope({})),
        ("unknown_document", _envelope(unknown, message_id=f"{queue}-unknown")),
        ("document_id_number", _envelope({"document_id": 5})),
        ("document_id_nested", _envelope({"document_id": {"S": {"S": "x"}}})),
        ("document_id_long", _envelope({"document_id": "d" * 10_000})),
        ("event_type_unknown", _envelope({"document_id": "x"}, event_type="document.exploded")),
        (
            "attributes_list",
            json.dumps(
                {
                    "Type": "Notification",
                    "MessageId": "m",
                    "Message": "{}",
                    "MessageAttributes": [1],
                }
            ),
        ),
        ("deep_nesting", _nested_object(5000)),
        ("deep_message", _envelope(_nested(5000))),
        ("over_max_bytes", _envelope({"document_id": "x", "pad": "p" * 100_000})),
        (
            "lone_surrogate",
            '{"Type": "Notification", "MessageId": "m", '
            '"Message": "{\\"document_id\\": \\"\\ud800\\"}"}',
        ),
        (
            "infinity",
            '{"Type": "Notification", "MessageId": "m", '
            '"Message": "{\\"document_id\\": Infinity}"}',
        ),
    ]
    return bodies


def queue_cases() -> list[MessageCase]:
    cases = []
    for queue in ("notify", "webhooks"):
        for label, body in poison_bodies(queue):
            cases.append(MessageCase(f"sqs.{queue}.{label}", queue, body, "dlq"))
    return cases


def topic_cases() -> list[MessageCase]:
    """Published on the events topic: poison reaches both queues (and their dead letters)."""
    cases = []
    for label, message, event_type, expect in (
        ("not_json", "not json", "document.processed", "dlq"),
        ("empty_object", "{}", "document.processed", "dlq"),
        ("list", "[]", "document.failed", "dlq"),
        (
            "unknown_document",
            json.dumps({"document_id": "doc-topic-unknown"}),
            "document.rejected",
            "dlq",
        ),
        ("document_id_object", json.dumps({"document_id": {"a": 1}}), "document.processed", "dlq"),
        ("deep", _nested(5000), "document.processed", "dlq"),
        (
            "big",
            json.dumps({"document_id": "x", "pad": "q" * 100_000}),
            "document.processed",
            "dlq",
        ),
        ("no_event_type", json.dumps({"document_id": "x"}), None, "filtered"),
        (
            "other_event_type",
            json.dumps({"document_id": "x"}),
            "document.approval_requested",
            "filtered",
        ),
        ("event_type_case", json.dumps({"document_id": "x"}), "DOCUMENT.PROCESSED", "filtered"),
    ):
        attributes = {"event_type": event_type} if event_type else {}
        cases.append(MessageCase(f"sns.{label}", "topic", message, expect, attributes))
    return cases


@dataclass(frozen=True)
class StreamCase:
    name: str
    data: bytes


def _gzip(value: Any) -> bytes:
    return gzip.compress(value if isinstance(value, bytes) else json.dumps(value).encode())


def _gzip_bomb(expanded: int) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as bomb:
        chunk = b"\x00" * (1024 * 1024)
        for _ in range(expanded // len(chunk)):
            bomb.write(chunk)
    return out.getvalue()


def stream_cases() -> list[StreamCase]:
    """Records for the Kinesis log stream: every one must be counted, never fatal."""
    good = {"route": "GET /documents", "status": 200, "latency_ms": 12}
    raw: list[tuple[str, Any]] = [
        ("not_json", b"this is not json"),
        ("empty", b""),
        ("binary", _random_bytes("kinesis-binary", 500)),
        ("invalid_utf8", b'{"level": "\xff\xfe"}'),
        ("json_list", b"[1, 2]"),
        ("json_null", b"null"),
        ("json_string", b'"error"'),
        ("status_infinity", b'{"route": "GET /x", "status": Infinity, "latency_ms": 1}'),
        ("status_nan", b'{"route": "GET /x", "status": NaN, "latency_ms": 1}'),
        ("status_1e400", b'{"route": "GET /x", "status": 1e400, "latency_ms": 1}'),
        ("latency_1e400", b'{"route": "GET /x", "status": 200, "latency_ms": 1e400}'),
        ("latency_negative", b'{"route": "GET /x", "status": 200, "latency_ms": -5}'),
        ("status_string", b'{"route": "GET /x", "status": "ok", "latency_ms": 1}'),
        ("status_list", b'{"route": "GET /x", "status": [200], "latency_ms": 1}'),
        ("route_object", b'{"route": {"a": 1}, "status": 200, "latency_ms": 1}'),
        ("level_number", b'{"level": 5}'),
        ("level_huge", json.dumps({"level": "e" * 100_000}).encode()),
        ("deep_nesting", _nested(100_000).encode()),
        ("deep_object", _nested_object(50_000).encode()),
        ("gzip_not_json", _gzip(b"not json")),
        ("gzip_truncated", _gzip(good)[:15]),
        ("gzip_header_only", b"\x1f\x8b"),
        ("gzip_log_events_number", _gzip({"messageType": "DATA_MESSAGE", "logEvents": 5})),
        ("gzip_log_events_string", _gzip({"messageType": "DATA_MESSAGE", "logEvents": "abc"})),
        (
            "gzip_log_events_objects",
            _gzip({"messageType": "DATA_MESSAGE", "logEvents": [{"message": 5}, 7, None]}),
        ),
        ("gzip_list", _gzip([1, 2])),
        ("gzip_deep", _gzip(_nested(100_000).encode())),
        ("gzip_message_deep", _gzip({"logEvents": [{"message": _nested(100_000)}]})),
        ("gzip_bomb", _gzip_bomb(600 * 1024 * 1024)),
        ("gzip_in_gzip", _gzip(_gzip(good))),
        ("good_line", json.dumps(good).encode()),
        ("good_error_line", b'{"level": "error", "msg": "campaign"}'),
    ]
    return [StreamCase(f"kinesis.{label}", data) for label, data in raw]
