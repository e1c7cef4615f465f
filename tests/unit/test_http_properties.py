"""Hostile input at the API's parsers, as properties: a value or a 4xx docflow error, nothing else.

The parsers are the HTTP event view (`shared.events.http`), the `next` cursor
(`docflow.documents.store`), the decision body (`docflow.processing.approval`) and the
create-document body (`docflow.api.service`). Any other exception there is a 500 at the API.
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from docflow.api import service
from docflow.api.auth import Principal
from docflow.documents.model import Status, incoming_key, parse_incoming_key
from docflow.documents.store import MAX_CURSOR_CHARS, _decode_cursor, _encode_cursor
from docflow.processing import approval
from shared import errors
from shared.events.http import MAX_BODY_BYTES, MAX_JSON_DEPTH, HttpRequest
from tests.support import event

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as an attacker types it: any code point, unpaired surrogates and controls included.
SHARP = ["\ud800", "\udfff", "\x00", "\x1f", "\x7f", "\u2028", "\u202e", "/", "\\", ".", "#"]
hostile_text = st.text(st.characters(codec=None), max_size=30) | st.text(
    st.sampled_from([*SHARP, "a", "é", "😀", " "]), max_size=12
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats()
    | hostile_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=16,
)
# What JSON can carry and docflow accepts: finite numbers, valid Unicode, bounded nesting.
clean_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
clean_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(clean_text, inner, max_size=4),
    max_leaves=16,
)


def _nested(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = "[]" if opener == "[" else "{}"
    if opener == "{":
        return '{"a":' * depth + "1" + "}" * depth
    return opener * depth + inner + closer * depth


raw_bodies = st.one_of(
    json_values.map(json.dumps),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    hostile_text,
    st.builds(_nested, st.integers(0, 20_000), st.sampled_from(["[", "{"])),
    st.integers(0, 20_000).map(lambda n: "[" * n),
    st.sampled_from(
        [
            '{"size": 1e999999999}',
            '{"size": NaN}',
            '{"size": -Infinity}',
            '{"size": ' + "9" * 5000 + "}",
            '{"filename": "\\ud800.pdf"}',
            '{"filename": "\\udc00\\ud800"}',
            '{"a": "\\u0000"}',
            "\ufeff{}",
            "{}" + " " * 10,
            '{"a": 1}{"b": 2}',
        ]
    ),
)


def _http_event(**fields: Any) -> dict[str, Any]:
    return event("http_create_document", **fields)


def _is_client_error(exc: BaseException) -> bool:
    return isinstance(exc, errors.DocflowError) and 400 <= exc.status_code < 500


def _value_or_4xx(parse: Callable[[], Any]) -> Any:
    """What `parse` returns, or None for a 4xx docflow error; anything else fails the test."""
    refused: errors.DocflowError | None = None
    try:
        return parse()
    except errors.DocflowError as exc:
        refused = exc
    assert _is_client_error(refused), f"{type(refused).__name__}: {refused}"
    assert refused.message
    return None


# The HTTP event view.

event_fields = st.fixed_dictionaries(
    {},
    optional={
        "routeKey": json_values,
        "rawPath": json_values,
        "headers": json_values | st.dictionaries(hostile_text, hostile_text | scalars),
        "queryStringParameters": json_values | st.dictionaries(hostile_text, hostile_text),
        "pathParameters": json_values | st.dictionaries(hostile_text, hostile_text),
        "requestContext": json_values
        | st.fixed_dictionaries({"http": json_values | st.fixed_dictionaries({"method": scalars})}),
        "isBase64Encoded": json_values,
        "body": json_values | raw_bodies,
    },
)


@FAST
@given(fields=event_fields)
@example(fields={"headers": [["x-api-key", "k"]]})
@example(fields={"body": 5})
@example(fields={"isBase64Encoded": True, "body": "////"})
@example(fields={"isBase64Encoded": True, "body": base64.b64encode(b"\xff\xfe").decode()})
@example(fields={"headers": {"x-api-key": "\ud800"}})
@example(fields={"requestContext": {"http": {"method": [[[]]]}}})
def test_any_event_becomes_a_request_or_a_4xx(fields: dict[str, Any]) -> None:
    request = _value_or_4xx(lambda: HttpRequest.from_event(_http_event(**fields)))
    if request is None:
        return
    text = [request.route_key, request.method, request.path, request.raw_body or ""]
    for mapping in (request.headers, request.query, request.path_parameters):
        text += [*mapping.keys(), *mapping.values()]
    for value in text:
        assert isinstance(value, str)
        value.encode("utf-8")  # every string handed on is valid Unicode
    assert len((request.raw_body or "").encode()) <= MAX_BODY_BYTES
    body = _value_or_4xx(request.json)
    assert body is None or isinstance(body, dict)


@pytest.mark.parametrize(
    "bad", [None, [], "x", {**event("http_create_document"), "version": "1.0"}, {"version": "2.0"}]
)
def test_what_is_not_a_payload_v2_event_is_a_400(bad: Any) -> None:
    with pytest.raises(errors.InvalidInputError):
        HttpRequest.from_event(bad)


@FAST
@given(body=raw_bodies, encode=st.booleans())
def test_any_body_becomes_a_json_object_or_a_400(body: str, encode: bool) -> None:
    if encode:
        try:
            wire = base64.b64encode(body.encode("utf-8")).decode()
        except UnicodeEncodeError:
            return
    else:
        wire = body
    request = _value_or_4xx(
        lambda: HttpRequest.from_event(_http_event(body=wire, isBase64Encoded=encode))
    )
    if request is None:
        return
    parsed = _value_or_4xx(request.json)
    if parsed is not None:
        assert isinstance(parsed, dict)
        assert _depth(parsed) <= MAX_JSON_DEPTH


@FAST
@given(value=st.dictionaries(clean_text, clean_values, max_size=6), encode=st.booleans())
def test_json_objects_within_the_bounds_read_back_unchanged(
    value: dict[str, Any], encode: bool
) -> None:
    text = json.dumps(value, ensure_ascii=False)
    wire = base64.b64encode(text.encode()).decode() if encode else text
    request = HttpRequest.from_event(_http_event(body=wire, isBase64Encoded=encode))
    assert request.json() == value


@settings(max_examples=25, deadline=None)
@given(
    extra=st.integers(1, 3 * MAX_BODY_BYTES),
    char=st.sampled_from(["a", "é", "😀"]),
    encode=st.booleans(),
)
def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    extra: int, char: str, encode: bool
) -> None:
    size = len(char.encode())
    body = char * ((MAX_BODY_BYTES + extra + size - 1) // size)
    wire = base64.b64encode(body.encode()).decode() if encode else body
    with pytest.raises(errors.PayloadTooLargeError) as caught:
        HttpRequest.from_event(_http_event(body=wire, isBase64Encoded=encode))
    assert caught.value.status_code == 413


def test_a_body_at_the_limit_is_read() -> None:
    body = json.dumps({"pad": "x" * (MAX_BODY_BYTES - 11)})
    assert len(body.encode()) == MAX_BODY_BYTES
    assert HttpRequest.from_event(_http_event(body=body)).json()["pad"].startswith("x")


@pytest.mark.parametrize(
    ("depth", "accepted"), [(MAX_JSON_DEPTH, True), (MAX_JSON_DEPTH + 1, False), (30_000, False)]
)
def test_json_depth_is_bounded_whatever_the_recursion_limit(depth: int, accepted: bool) -> None:
    body = '{"a":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    request = HttpRequest.from_event(_http_event(body=body))
    if accepted:
        assert _depth(request.json()) == depth
    else:
        with pytest.raises(errors.InvalidInputError, match="nests deeper than"):
            request.json()


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


# The `next` cursor.

OWNER = "alice"
document_ids = st.text("0123456789abcdef", min_size=32, max_size=32).map(lambda h: f"doc_{h}")
statuses = st.sampled_from(list(Status))
created = st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z")


def _key(owner: str, status: Status, at: str, document_id: str) -> dict[str, Any]:
    return {
        "document_id": {"S": document_id},
        "owner": {"S": owner},
        "status_created": {"S": f"{status}#{at}#{document_id}"},
    }


@FAST
@given(status=statuses, at=created, document_id=document_ids, filtered=st.booleans())
def test_a_cursor_the_store_made_reads_back_as_its_key(
    status: Status, at: str, document_id: str, filtered: bool
) -> None:
    key = _key(OWNER, status, at, document_id)
    cursor = _encode_cursor(key)
    assert len(cursor) <= MAX_CURSOR_CHARS
    assert _decode_cursor(cursor, OWNER, status if filtered else None) == key


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


forged_keys = st.fixed_dictionaries(
    {},
    optional={
        "document_id": json_values | document_ids.map(lambda d: {"S": d}),
        "owner": json_values | st.sampled_from([{"S": OWNER}, {"S": "bob"}, {"N": "1"}]),
        "status_created": json_values
        | st.builds(
            lambda s, a, d: {"S": f"{s}#{a}#{d}"},
            hostile_text | statuses,
            hostile_text,
            document_ids,
        ),
        "extra": json_values,
    },
)
forged_cursors = st.one_of(
    hostile_text,
    st.text(string.ascii_letters + string.digits + "-_=", max_size=MAX_CURSOR_CHARS + 50),
    json_values.map(_b64),
    forged_keys.map(_b64),
    st.integers(1, 5_000).map(lambda n: base64.urlsafe_b64encode(b"[" * n).decode()),
)


@FAST
@given(cursor=forged_cursors, status=st.none() | statuses)
@example(cursor=_b64({"owner": "alice"}), status=None)
@example(cursor=_b64({"owner": {"S": None}}), status=None)
@example(cursor=_b64({"owner": [[{"S": "alice"}]]}), status=None)
@example(cursor=base64.urlsafe_b64encode(b"[" * 5000).decode(), status=None)
def test_a_forged_cursor_is_a_400_or_a_start_key_of_the_callers_own_listing(
    cursor: str, status: Status | None
) -> None:
    key = _value_or_4xx(lambda: _decode_cursor(cursor, OWNER, status))
    if key is None:
        return
    # Anything accepted is exactly a key this listing could have produced.
    assert set(key) == {"document_id", "owner", "status_created"}
    assert key["owner"] == {"S": OWNER}
    position, document_id = key["status_created"]["S"], key["document_id"]["S"]
    assert position.split("#")[0] in set(Status)
    assert position.endswith(f"#{document_id}")
    if status is not None:
        assert position.startswith(f"{status}#")
    json.dumps(key).encode("utf-8")


@FAST
@given(status=statuses, other=statuses, at=created, document_id=document_ids)
def test_a_cursor_is_refused_by_another_owner_and_another_status_filter(
    status: Status, other: Status, at: str, document_id: str
) -> None:
    cursor = _encode_cursor(_key(OWNER, status, at, document_id))
    with pytest.raises(errors.InvalidInputError, match="not yours"):
        _decode_cursor(cursor, "bob", None)
    if other is not status:
        with pytest.raises(errors.InvalidInputError, match="another status"):
            _decode_cursor(cursor, OWNER, other)


# The decision body.


@FAST
@given(
    body=st.dictionaries(hostile_text, json_values, max_size=4)
    | st.fixed_dictionaries(
        {"decision": json_values | st.sampled_from(["approve", "reject", "Approve", ""])},
        optional={"comment": json_values | st.text(max_size=1100)},
    )
)
@example(body={"decision": ["approve"]})
@example(body={"decision": {"approve": 1}})
@example(body={"decision": "approve", "comment": ["x"]})
def test_any_decision_body_is_a_decision_or_a_400(body: dict[str, Any]) -> None:
    decision = _value_or_4xx(lambda: approval.parse_decision(body))
    if decision is None:
        return
    assert (body["decision"], decision.outcome) in {("approve", "approved"), ("reject", "rejected")}
    comment = body.get("comment")
    assert decision.comment == ((comment.strip() or None) if comment else None)
    assert decision.comment is None or len(decision.comment) <= approval.MAX_COMMENT_LENGTH


# The create-document body.

POLICY = service.UploadPolicy(
    max_bytes=10_000_000, allowed_types=frozenset({"text/csv", "image/png"}), url_ttl_seconds=60
)
SUBMITTER = Principal("key-1", OWNER, frozenset({"submit"}))


class _Store:
    def __init__(self) -> None:
        self.created: list[Any] = []

    def create(self, document: Any) -> None:
        self.created.append(document)


class _Presigner:
    def presigned_post(
        self, key: str, content_type: str, size: int, ttl_seconds: int
    ) -> dict[str, Any]:
        return {"method": "POST", "url": "https://bucket.example", "fields": {"key": key}}


create_bodies = st.dictionaries(hostile_text, json_values, max_size=4) | st.fixed_dictionaries(
    {},
    optional={
        "filename": json_values | hostile_text | st.sampled_from([".", "..", " ", "a" * 201]),
        "content_type": json_values | st.sampled_from(["text/csv", "image/png", "TEXT/CSV"]),
        "size": json_values
        | st.integers(-2, 10**400)
        | st.sampled_from([1, 10_000_000, 10_000_001]),
    },
)


@FAST
@given(body=create_bodies)
@example(body={"filename": "\ud800.pdf", "content_type": "text/csv", "size": 1})
@example(body={"filename": "a\u2028b.csv", "content_type": "text/csv", "size": 1})
@example(body={"filename": "..", "content_type": "text/csv", "size": 1})
@example(body={"filename": "a.csv", "content_type": ["text/csv"], "size": 1})
@example(body={"filename": "a.csv", "content_type": "text/csv", "size": 10**400})
def test_any_create_body_records_a_document_or_is_a_4xx(body: dict[str, Any]) -> None:
    store = _Store()
    created = _value_or_4xx(
        lambda: service.create_document(SUBMITTER, body, store, _Presigner(), POLICY, "api")
    )
    if created is None:
        assert store.created == []
        return
    (document,) = store.created
    filename = body["filename"]
    assert document.filename == filename
    filename.encode("utf-8")
    assert 0 < len(filename) <= service.MAX_FILENAME_LENGTH
    assert not set(filename) & {"/", "\\", "\x00", "\u2028"}
    assert 0 < body["size"] <= POLICY.max_bytes
    # The key the upload goes to names the document and the file, and nothing else.
    assert parse_incoming_key(incoming_key(document.document_id, filename)) == (
        document.document_id,
        filename,
    )
    assert created["upload"]["fields"]["key"] == document.object_key


@pytest.mark.parametrize(("size", "recorded"), [(2073.0, 2073), (1e3, 1000)])
def test_a_size_with_a_zero_fraction_is_that_integer(size: float, recorded: int) -> None:
    store = _Store()
    body = {"filename": "a.csv", "content_type": "text/csv", "size": size}

    service.create_document(SUBMITTER, body, store, _Presigner(), POLICY, "api")

    (document,) = store.created
    assert (document.declared_size, type(document.declared_size)) == (recorded, int)


@pytest.mark.parametrize("size", [2073.5, float("inf"), float("nan")])
def test_a_size_with_a_fraction_is_refused(size: float) -> None:
    body = {"filename": "a.csv", "content_type": "text/csv", "size": size}
    with pytest.raises(errors.InvalidInputError, match="size must be a positive integer"):
        service.create_document(SUBMITTER, body, _Store(), _Presigner(), POLICY, "api")


@FAST
@given(value=hostile_text | st.text(string.printable, max_size=3000))
@example(value="doc_" + "f" * 32 + "\x00")
@example(value="doc_" + "F" * 32)
def test_a_path_id_that_cannot_be_a_document_id_is_a_404(value: str) -> None:
    parsed = _value_or_4xx(lambda: service.parse_document_id(value))
    assert parsed is None or parsed == value
