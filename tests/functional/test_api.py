from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import Stack

Api = Callable[..., tuple[int, Any]]
CSV = {"filename": "march 2026+q1.csv", "content_type": "text/csv", "size": 42}


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
