"""docs/openapi.yaml: a valid OpenAPI 3.1 document that says what the code and config do."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from docflow.api import service
from docflow.documents.model import Status
from docflow.processing import approval
from shared import errors
from tests.openapi_contract import DOCUMENT, Contract, ContractError

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = Contract.load()
SCHEMAS = CONTRACT.document["components"]["schemas"]


def test_the_document_is_valid_openapi_3_1() -> None:
    spec, _ = read_from_filename(str(DOCUMENT))
    validate(spec)
    assert CONTRACT.document["openapi"].startswith("3.1")


def _operations() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in CONTRACT.document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    }


def test_every_route_of_the_api_function_is_documented_and_nothing_else() -> None:
    # serverless.yml holds CloudFormation tags PyYAML cannot load: read its httpApi lines.
    deployed = set(
        re.findall(r"- httpApi: '([A-Z]+ [^']+)'", (ROOT / "serverless.yml").read_text())
    )
    # The ROUTES table's keys: `"METHOD /path": <a lambda or a route function>`.
    handled = set(
        re.findall(r'^\s+"([A-Z]+ /[^"]*)": ', (ROOT / "handlers/api.py").read_text(), re.M)
    )
    assert _operations() == deployed == handled


def test_every_operation_requires_the_api_key_and_documents_401() -> None:
    assert CONTRACT.document["components"]["securitySchemes"]["apiKey"] == {
        **CONTRACT.document["components"]["securitySchemes"]["apiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert CONTRACT.document["security"] == [{"apiKey": []}]
    for path, item in CONTRACT.document["paths"].items():
        for method, operation in item.items():
            assert "security" not in operation, f"{method} {path} overrides the security"
            assert "401" in operation["responses"], f"{method} {path}"


def test_statuses_match_the_document_model() -> None:
    assert SCHEMAS["Status"]["enum"] == [s.value for s in Status]


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_content_types_match_every_stage_config(stage: str) -> None:
    config = yaml.safe_load((ROOT / "config" / f"{stage}.yml").read_text())
    allowed = config["intake"]["allowedTypes"].split(",")
    assert sorted(SCHEMAS["ContentType"]["enum"]) == sorted(allowed)


def test_limits_match_the_code() -> None:
    listing = CONTRACT.document["paths"]["/documents"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, service.MAX_PAGE_SIZE)
    filename = SCHEMAS["NewDocument"]["properties"]["filename"]
    assert filename["maxLength"] == service.MAX_FILENAME_LENGTH
    comment = SCHEMAS["DecisionRequest"]["properties"]["comment"]
    assert comment["maxLength"] == approval.MAX_COMMENT_LENGTH
    assert SCHEMAS["DecisionRequest"]["properties"]["decision"]["enum"] == list(approval.DECISIONS)
    decided = SCHEMAS["DecidedDocument"]["properties"]["decision"]["enum"]
    assert decided == list(approval.DECISIONS.values())


def _api_error_codes() -> set[str]:
    """The codes of every error class the API's code paths can raise."""
    classes: list[type[errors.DocflowError]] = [
        errors.InvalidInputError,
        errors.UnauthorizedError,
        errors.ForbiddenError,
        errors.NotFoundError,
        errors.PayloadTooLargeError,
        errors.UnsupportedMediaTypeError,
        errors.ConflictError,
        errors.TransientError,
        errors.SystemFaultError,
        approval.NotAwaitingApprovalError,
        approval.AlreadyDecidedError,
    ]
    return {c.code for c in classes}


def test_error_codes_are_the_ones_the_api_raises() -> None:
    assert set(SCHEMAS["Error"]["properties"]["error"]["enum"]) == _api_error_codes()


def _allowed_by_document(filename: str) -> bool:
    schema = SCHEMAS["NewDocument"]["properties"]["filename"]
    length_ok = schema["minLength"] <= len(filename) <= schema["maxLength"]
    # ECMA-262 semantics, as OpenAPI specifies: `$` is the end of the string, not also the
    # point before a final newline as in Python's re.
    pattern = re.sub(r"\$$", r"\\Z", schema["pattern"])
    return length_ok and re.search(pattern, filename) is not None


@given(
    st.one_of(
        st.text(max_size=210),
        st.sampled_from(["", ".", "..", "...", " ", " a", "a/b", "a\\b", "a\u2028", "\x85"]),
    )
)
def test_the_filename_pattern_admits_exactly_what_the_api_admits(filename: str) -> None:
    assert _allowed_by_document(filename) == (service._filename_problem(filename) is None)


def _document_view() -> dict[str, Any]:
    return {
        "document_id": "doc_" + "0" * 32,
        "filename": "a.csv",
        "content_type": "text/csv",
        "declared_size": 3,
        "status": "awaiting_upload",
        "created_at": "2026-12-01T10:00:00+00:00",
        "updated_at": "2026-12-01T10:00:00+00:00",
        "history": [
            {"status": "awaiting_upload", "at": "2026-12-01T10:00:00+00:00", "actor": "api"}
        ],
    }


def test_the_checker_accepts_a_documented_answer() -> None:
    body = json.dumps(_document_view()).encode()
    path = "/documents/doc_" + "0" * 32
    assert CONTRACT.check("GET", path, 200, "application/json", body) == _document_view()


@pytest.mark.parametrize(
    ("status", "content_type", "body", "problem"),
    [
        (200, "application/json", {**_document_view(), "owner": "acme"}, "unexpected"),
        (200, "application/json", {**_document_view(), "status": "lost"}, "'lost' is not one of"),
        (200, "text/html", _document_view(), "content type 'text/html'"),
        (409, "application/json", {"error": "conflict", "message": "x"}, "not documented"),
        (404, "application/json", {"error": "gone", "message": "x"}, "contradicts"),
    ],
)
def test_the_checker_refuses_what_the_document_does_not_allow(
    status: int, content_type: str, body: dict[str, Any], problem: str
) -> None:
    path = "/documents/doc_" + "0" * 32
    with pytest.raises(ContractError, match=problem):
        CONTRACT.check("GET", path, status, content_type, json.dumps(body).encode())
