from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docflow.documents.store import DocumentStore
from tests.conftest import Stack
from tests.functional.conftest import LambdaContext
from tests.support import event, fresh_import

Api = Callable[..., tuple[int, Any]]
ApiEvent = Callable[..., tuple[int, str, Any]]
CSV = {"filename": "march 2026+q1.csv", "content_type": "text/csv", "size": 42}


@pytest.fixture
def api_event(stack: Stack) -> ApiEvent:
    """Calls the api handler with a create-document event whose fields the test replaces."""
    module = fresh_import("handlers.api")

    def call(**fields: Any) -> tuple[int, str, Any]:
        payload = event("http_create_document")
        payload["headers"] = {**payload["headers"], "x-api-key": stack.keys["alice"]}
        payload.update(fields)
        response = module.handler(payload, LambdaContext("docflow-test-api"))
        body = json.loads(response["body"])
        return response["statusCode"], body.get("error", ""), body

    return call


def test_create_returns_the_record_and_an_upload_bound_to_type_and_size(api: Api) -> None:
    status, body = api("POST /documents", body=CSV)
    assert status == 201
    assert body["status"] == "awaiting_upload"
    assert body["filename"] == "march 2026+q1.csv"
    upload = body["upload"]
    assert upload["method"] == "POST"
    assert upload["fields"]["key"] == f"incoming/{body['document_id']}/march 2026+q1.csv"
    assert upload["fields"]["Content-Type"] == "text/csv"
    policy = __import__("base64").b64decode(upload["fields"]["policy"]).decode()
    assert '["content-length-range", 42, 42]' in policy


def test_get_shows_the_owner_its_document_with_history(api: Api) -> None:
    _, created = api("POST /documents", body=CSV)
    status, body = api("GET /documents/{id}", path_id=created["document_id"])
    assert status == 200
    assert {k: body[k] for k in ("document_id", "status", "declared_size")} == {
        "document_id": created["document_id"],
        "status": "awaiting_upload",
        "declared_size": 42,
    }
    assert [h["status"] for h in body["history"]] == ["awaiting_upload"]


def test_the_log_lines_of_an_authenticated_request_name_its_owner_and_document(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    _, created = api("POST /documents", body=CSV)
    capsys.readouterr()
    api("GET /documents/{id}", path_id=created["document_id"])
    (finished,) = [
        line
        for line in map(json.loads, capsys.readouterr().out.splitlines())
        if line["message"] == "invocation_finished"
    ]
    # API Gateway's access log has no owner (the keys are checked in the function): this does.
    assert (finished["owner"], finished["document_id"]) == ("alice", created["document_id"])


def test_another_owner_sees_nothing(api: Api) -> None:
    _, created = api("POST /documents", body=CSV)
    status, body = api("GET /documents/{id}", key="bob", path_id=created["document_id"])
    assert (status, body["error"]) == (404, "not_found")
    status, listing = api("GET /documents", key="bob", query={})
    assert (status, listing["items"]) == (200, [])


def test_list_filters_by_status_and_paginates(api: Api) -> None:
    ids = {api("POST /documents", body=CSV)[1]["document_id"] for _ in range(5)}
    seen: list[str] = []
    query: dict[str, str] = {"status": "awaiting_upload", "limit": "2"}
    pages = 0
    while True:
        status, page = api("GET /documents", query=query)
        assert status == 200
        seen += [item["document_id"] for item in page["items"]]
        pages += 1
        if not page["next"]:
            break
        query = {**query, "next": page["next"]}
    assert sorted(seen) == sorted(ids)
    assert pages >= 3
    _, accepted = api("GET /documents", query={"status": "accepted"})
    assert accepted["items"] == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"raw_body": "{not json"}, 400, "invalid_input"),
        ({"raw_body": "[]"}, 400, "invalid_input"),
        ({"body": {"filename": "a.csv"}}, 400, "invalid_input"),
        (
            {"body": {**CSV, "content_type": "application/x-msdownload"}},
            415,
            "unsupported_media_type",
        ),
        ({"body": {**CSV, "size": 10**9}}, 413, "payload_too_large"),
        ({"body": {**CSV, "size": 0}}, 400, "invalid_input"),
        ({"body": {**CSV, "size": "42"}}, 400, "invalid_input"),
        ({"body": {**CSV, "filename": "../etc/passwd"}}, 400, "invalid_input"),
        ({"body": CSV, "key": None}, 401, "unauthorized"),
        ({"body": CSV, "key": "dfk_forged"}, 401, "unauthorized"),
        ({"body": CSV, "key": "alice-viewer"}, 403, "forbidden"),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    api: Api, kwargs: dict[str, Any], status: int, code: str
) -> None:
    got_status, body = api("POST /documents", **kwargs)
    assert (got_status, body["error"]) == (status, code)
    assert body["message"]


@pytest.mark.parametrize(
    ("route", "kwargs", "status", "code"),
    [
        (
            "GET /documents/{id}",
            {"path_id": "doc_ffffffffffffffffffffffffffffffff"},
            404,
            "not_found",
        ),
        ("DELETE /documents/{id}", {"path_id": "x"}, 404, "not_found"),
        ("GET /documents", {"query": {"status": "bogus"}}, 400, "invalid_input"),
        ("GET /documents", {"query": {"limit": "1000"}}, 400, "invalid_input"),
        ("GET /documents", {"query": {"next": "garbage!!"}}, 400, "invalid_input"),
    ],
)
def test_unknown_ids_routes_and_queries_are_4xx(
    api: Api, route: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    got_status, body = api(route, **kwargs)
    assert (got_status, body["error"]) == (status, code)


def test_a_cursor_from_another_owner_is_rejected(api: Api) -> None:
    for _ in range(3):
        api("POST /documents", body=CSV)
    _, page = api("GET /documents", query={"limit": "1"})
    status, body = api("GET /documents", key="bob", query={"next": page["next"]})
    assert (status, body["error"]) == (400, "invalid_input")


def test_the_presigned_post_uploads_to_the_incoming_key(api: Api, stack: Stack) -> None:
    content = b"id,amount\n1,10.00\n2,20.00\n3,12.00\n"
    _, created = api("POST /documents", body={**CSV, "size": len(content)})
    upload = created["upload"]
    response = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("x.csv", content)}, timeout=10
    )
    assert response.status_code in {200, 204}
    got = stack.client("s3").get_object(Bucket=stack.bucket, Key=upload["fields"]["key"])
    assert got["Body"].read() == content


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


DEEP = '{"filename":' + "[" * 50_000 + "]" * 50_000 + "}"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"raw_body": '{"a":' + "[" * 20_000 + "]" * 20_000 + "}"}, 400, "invalid_input"),
        ({"raw_body": "[" * 60_000}, 400, "invalid_input"),
        ({"raw_body": DEEP}, 413, "payload_too_large"),
        ({"raw_body": json.dumps({**CSV, "pad": "x" * 70_000})}, 413, "payload_too_large"),
        ({"raw_body": '{"filename": "a.csv", "content_type": "text/csv", "size": NaN}'}, 400, ""),
        ({"raw_body": '{"filename": "a.csv", "content_type": "text/csv", "size": 1e999}'}, 400, ""),
        (
            {"raw_body": '{"filename": "\\ud800.csv", "content_type": "text/csv", "size": 4}'},
            400,
            "",
        ),
        ({"body": {**CSV, "filename": "a\u2028b.csv"}}, 400, "invalid_input"),
        ({"body": {**CSV, "filename": ".."}}, 400, "invalid_input"),
        ({"body": {**CSV, "content_type": ["text/csv"]}}, 415, "unsupported_media_type"),
        ({"body": {**CSV, "size": 10**400}}, 400, "invalid_input"),
    ],
)
def test_hostile_create_bodies_get_a_4xx_and_record_nothing(
    api: Api, stack: Stack, kwargs: dict[str, Any], status: int, code: str
) -> None:
    got_status, body = api("POST /documents", **kwargs)
    assert (got_status, body["error"]) == (status, code or "invalid_input")
    assert body["message"]
    assert stack.client("dynamodb").scan(TableName=stack.documents_table)["Items"] == []


def test_a_base64_body_of_random_bytes_is_a_400_and_an_oversized_one_a_413(
    api_event: ApiEvent,
) -> None:
    garbage = base64.b64encode(bytes(range(256)) * 4).decode()
    assert api_event(body=garbage, isBase64Encoded=True)[:2] == (400, "invalid_input")
    huge = base64.b64encode(b"\x89" * (6 * 1024 * 1024)).decode()
    assert api_event(body=huge, isBase64Encoded=True)[:2] == (413, "payload_too_large")


@pytest.mark.parametrize(
    "event_fields",
    [
        {"headers": [["x-api-key", "k"]]},
        {"headers": {"x-api-key": "\ud800"}},
        {"queryStringParameters": "limit=5"},
        {"requestContext": "nope"},
        {"body": {"filename": "a.csv"}},
    ],
)
def test_a_malformed_event_is_a_400_not_a_crash(
    api_event: ApiEvent, event_fields: dict[str, Any]
) -> None:
    status, code, _ = api_event(**event_fields)
    assert (status, code) == (400, "invalid_input")


@pytest.mark.parametrize(
    "body",
    [
        {"decision": ["approve"]},
        {"decision": {"approve": True}},
        {"decision": None},
        {"decision": 1},
        {"decision": "approve", "comment": {"text": "x"}},
        {"decision": "approve", "comment": "x" * 1001},
    ],
)
def test_a_decision_of_the_wrong_type_is_a_400(api: Api, body: dict[str, Any]) -> None:
    _, created = api("POST /documents", body=CSV)
    status, answer = api("POST /documents/{id}/decision", path_id=created["document_id"], body=body)
    assert (status, answer["error"]) == (400, "invalid_input")


@pytest.mark.parametrize(
    "path_id", ["x" * 5000, "doc_" + "F" * 32, "doc_" + "f" * 32 + "\x00", "../documents"]
)
def test_a_path_id_that_is_no_document_id_is_a_404_without_a_lookup(api: Api, path_id: str) -> None:
    for route in ("GET /documents/{id}", "POST /documents/{id}/decision"):
        body = {"decision": "approve"} if route.startswith("POST") else None
        status, answer = api(route, path_id=path_id, body=body)
        assert (status, answer["error"]) == (404, "not_found")


FORGED_CURSORS = [
    _cursor({"owner": "alice"}),
    _cursor({"owner": None}),
    _cursor({"owner": [{"S": "alice"}]}),
    _cursor({"owner": {"S": None}}),
    _cursor({"owner": {"S": "alice"}}),
    base64.urlsafe_b64encode(b"[" * 700).decode(),
    _cursor(
        {
            "document_id": {"S": "doc_" + "0" * 32},
            "owner": {"S": "alice"},
            "status_created": {"S": "awaiting_upload#\ud800#doc_" + "0" * 32},
        }
    ),
    _cursor(
        {
            "document_id": {"S": "x" * 3000},
            "owner": {"S": "alice"},
            "status_created": {"S": "awaiting_upload#2026-01-01T00:00:00.000Z#x"},
        }
    ),
    "A" * 5000,
    "\ud800",
    "",  # `next=`: no page hands out an empty cursor (schemathesis found it read as none)
]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_a_forged_cursor_is_a_400(api: Api, cursor: str) -> None:
    api("POST /documents", body=CSV)
    status, body = api("GET /documents", query={"next": cursor})
    assert (status, body["error"]) == (400, "invalid_input")


def test_a_cursor_is_valid_only_for_the_status_it_was_listed_with(api: Api) -> None:
    for _ in range(3):
        api("POST /documents", body=CSV)
    _, page = api("GET /documents", query={"status": "awaiting_upload", "limit": "1"})
    status, _ = api("GET /documents", query={"limit": "1", "next": page["next"]})
    assert status == 200
    status, body = api("GET /documents", query={"status": "processed", "next": page["next"]})
    assert (status, body["error"]) == (400, "invalid_input")


def test_a_refused_store_write_is_a_generic_500_and_the_log_keeps_the_aws_code(
    api: Api, stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = boto3.client("dynamodb", region_name="us-east-1")
    stubber = Stubber(denied)
    stubber.add_client_error(
        "put_item",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:sts::123456789012:assumed-role/api is not authorized "
        "to perform: dynamodb:PutItem",
        http_status_code=400,
    )
    stubber.activate()
    monkeypatch.setattr(
        sys.modules["handlers.api"], "store", DocumentStore(stack.documents_table, lambda: denied)
    )
    capsys.readouterr()
    status, body = api("POST /documents", body=CSV)
    assert (status, body) == (500, {"error": "internal_error", "message": "Internal server error"})
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failed = next(line for line in logged if line["message"] == "invocation_failed")
    assert (failed["level"], failed["error"], failed["reason"]) == (
        "ERROR",
        "SystemFaultError",
        "creating document failed: permission denied",
    )
    assert "AccessDeniedException" in failed["cause_message"]


ROUTE_KEYS = [
    "POST /documents",
    "GET /documents/{id}",
    "GET /documents",
    "POST /documents/{id}/decision",
    "DELETE /documents/{id}",
    "",
]
_text = st.text(st.characters(codec=None), max_size=20) | st.sampled_from(
    ["\ud800", "\x00", "doc_" + "0" * 32, "approve", "awaiting_upload", "-1", "1e9", ""]
)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=10,
)
_bodies = st.one_of(
    st.none(),
    _text,
    _values.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "filename": _values | st.sampled_from(["a.csv", "..", "\ud800.csv"]),
            "content_type": _values | st.just("text/csv"),
            "size": _values | st.integers(-1, 10**30),
            "decision": _values | st.sampled_from(["approve", "reject"]),
            "comment": _values,
        },
    ).map(json.dumps),
    st.integers(0, 3_000).map(lambda n: '{"a":' + "[" * n + "]" * n + "}"),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(ROUTE_KEYS),
    path_id=st.none() | _text,
    query=st.none() | st.dictionaries(st.sampled_from(["status", "limit", "next", "x"]), _text),
    body=_bodies,
    key=st.just("alice") | st.sampled_from(["bob", "alice-viewer", None, "\ud800", "x" * 500]),
)
def test_any_request_is_answered_in_json_with_a_status_below_500(
    api_event: ApiEvent,
    stack: Stack,
    route: str,
    path_id: str | None,
    query: dict[str, str] | None,
    body: str | None,
    key: str | None,
) -> None:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = stack.keys.get(key, key)
    status, code, answer = api_event(
        routeKey=route,
        headers=headers,
        pathParameters=None if path_id is None else {"id": path_id},
        queryStringParameters=query,
        body=body,
    )
    assert status < 500, answer
    if status >= 400:
        assert set(answer) >= {"error", "message"}
        assert code
