"""docs/openapi.yaml against the local stack: real answers, then schemathesis over every operation.

The first tests drive each route through its documented answers (success and errors) and
check every answer against the document (`tests.openapi_contract`). The last ones run
schemathesis (its Python API: a Hypothesis strategy per operation, `Case.call_and_validate`)
with a valid key of the role the route needs, data that fits the document and data that does
not, over every operation; they fail on any 5xx and on any answer whose status, content type,
headers or body the document does not allow, on valid data refused and invalid data accepted,
and on a route that answers without its key.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import FINAL, LocalStack, role_for
from tests.openapi_contract import Contract
from tests.processing_samples import csv_bytes

pytestmark = pytest.mark.e2e

CONTRACT = Contract.load()
ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "doc_" + "f" * 32


def _local_stage_document() -> dict[str, Any]:
    """The document with the local stage's upload limit as the maximum `size` (the document
    serves every stage, so it names the limits in words; a larger size is a documented 413)."""
    document = copy.deepcopy(CONTRACT.document)
    config = yaml.safe_load((ROOT / "config" / "local.yml").read_text())
    size = document["components"]["schemas"]["NewDocument"]["properties"]["size"]
    size["maximum"] = int(config["intake"]["maxBytes"])
    return document


# The key is sent with every request (the `ignored_auth` check then probes the route without
# it and with a wrong one); generating the security header would let a negative case drop a
# key the request still carries.
SCHEMA = schemathesis.openapi.from_dict(
    _local_stage_document(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {"with-security-parameters": False},
            # schemathesis' list plus 413: a `size` over the stage's limit is refused as
            # documented, as too large rather than malformed.
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [
                        *("400", "401", "403", "404", "405", "406", "409", "413"),
                        *("415", "422", "428", "429", "5xx"),
                    ]
                }
            },
        }
    ),
)
OPERATIONS = [
    (path, method.upper())
    for path, item in SCHEMA.raw_schema["paths"].items()
    for method in item
    if method in ("get", "put", "post", "delete", "patch")
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    ignored_auth,
]
# Examples per operation and mode: 4 operations x 2 modes x 40, about a minute here.
MAX_EXAMPLES = 40


def _checked(
    local: LocalStack, method: str, path: str, owner: str = "demo-alice", **kw: Any
) -> tuple[int, Any]:
    answer = local.api(method, path, owner, **kw)
    body = CONTRACT.check(
        method, path, answer.status_code, answer.headers.get("content-type"), answer.content
    )
    return answer.status_code, body


def _created(local: LocalStack, content: bytes, filename: str = "orders.csv") -> dict[str, Any]:
    status, body = _checked(
        local,
        "POST",
        "/documents",
        json={"filename": filename, "content_type": "text/csv", "size": len(content)},
    )
    assert status == 201, body
    return dict(body)


def _post_upload(upload: dict[str, Any], filename: str, content: bytes) -> requests.Response:
    return requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": (filename, content, "text/csv")},
        timeout=60,
    )


def test_a_document_submitted_uploaded_and_read_answers_as_documented(
    local_stack: LocalStack,
) -> None:
    content = csv_bytes(3, amount="2")
    created = _created(local_stack, content)
    document_id = created["document_id"]
    assert created["status"] == "awaiting_upload"
    assert created["upload"]["fields"]["key"] == f"incoming/{document_id}/orders.csv"
    # The upload as the document describes it: every field verbatim, then the file.
    assert _post_upload(created["upload"], "orders.csv", content).status_code == 204

    status, document = _checked(local_stack, "GET", f"/documents/{document_id}")
    assert (status, document["document_id"]) == (200, document_id)
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "processed", final
    _, read = _checked(local_stack, "GET", f"/documents/{document_id}")
    assert read["results"]["manifest"] == f"processed/{document_id}/manifest.json"

    # Every page of the owner's processed documents, one at a time, each `next` followed as it
    # was handed out: the document is listed exactly once, and no document twice.
    listed: list[str] = []
    params = {"status": "processed", "limit": "1"}
    while True:
        _, page = _checked(local_stack, "GET", "/documents", params=params)
        listed += [item["document_id"] for item in page["items"]]
        if page["next"] is None:
            break
        params = {**params, "next": page["next"]}
    assert (listed.count(document_id), len(listed)) == (1, len(set(listed))), listed


def test_an_upload_that_breaks_the_presigned_policy_is_refused_by_s3(
    local_stack: LocalStack,
) -> None:
    created = _created(local_stack, b"a,b\n1,2\n")
    longer = _post_upload(created["upload"], "orders.csv", b"a,b\n1,2\n3,4\n")
    assert (longer.status_code, b"EntityTooLarge" in longer.content) == (400, True)
    edited = {**created["upload"], "fields": {**created["upload"]["fields"], "key": "incoming/x"}}
    assert _post_upload(edited, "orders.csv", b"a,b\n1,2\n").status_code == 403


def test_a_decision_answers_as_documented(local_stack: LocalStack) -> None:
    # 3 x 4,000 = 12,000: over the local stage's approval threshold of 10,000.
    content = csv_bytes(3, amount="4000")
    created = _created(local_stack, content, "big.csv")
    document_id = created["document_id"]
    assert _post_upload(created["upload"], "big.csv", content).status_code == 204
    path = f"/documents/{document_id}/decision"
    waiting = local_stack.wait_status(document_id, {"awaiting_approval", *FINAL})
    assert waiting["status"] == "awaiting_approval", waiting
    _checked(local_stack, "GET", f"/documents/{document_id}")

    status, refused = _checked(local_stack, "POST", path, json={"decision": "maybe"})
    assert (status, refused["error"]) == (400, "invalid_input")
    status, decided = _checked(
        local_stack, "POST", path, json={"decision": "reject", "comment": "no"}
    )
    assert (status, decided["decision"]) == (200, "rejected"), decided
    status, again = _checked(local_stack, "POST", path, json={"decision": "approve"})
    assert (status, again["error"]) == (409, "already_decided")
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "rejected", final
    _checked(local_stack, "GET", f"/documents/{document_id}")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/documents", {"params": {"limit": "0"}}, 400, "invalid_input"),
        ("GET", "/documents", {"params": {"status": "lost"}}, 400, "invalid_input"),
        ("GET", "/documents", {"params": {"next": "forged"}}, 400, "invalid_input"),
        ("POST", "/documents", {"data": "{"}, 400, "invalid_input"),
        ("POST", "/documents", {"json": {"filename": "a.csv"}}, 400, "invalid_input"),
        (
            "POST",
            "/documents",
            {"json": {"filename": "a.txt", "content_type": "text/plain", "size": 1}},
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/documents",
            {"json": {"filename": "a.csv", "content_type": "text/csv", "size": 10**9}},
            413,
            "payload_too_large",
        ),
        ("POST", "/documents", {"data": "x" * 70_000}, 413, "payload_too_large"),
        ("GET", f"/documents/{UNKNOWN}", {}, 404, "not_found"),
        ("GET", "/documents/not-an-id", {}, 404, "not_found"),
        (
            "POST",
            f"/documents/{UNKNOWN}/decision",
            {"json": {"decision": "approve"}},
            404,
            "not_found",
        ),
        ("GET", "/documents", {"headers": {"x-api-key": ""}}, 401, "unauthorized"),
        (
            "GET",
            f"/documents/{UNKNOWN}",
            {"headers": {"x-api-key": "dfk_wrong"}},
            401,
            "unauthorized",
        ),
    ],
)
def test_errors_answer_as_documented(
    local_stack: LocalStack,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    answered, body = _checked(local_stack, method, path, **kwargs)
    assert (answered, body["error"]) == (status, code), body


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=lambda value: str(value))
def test_schemathesis_finds_no_server_error_and_no_contradiction(
    local_stack: LocalStack, path: str, method: str, mode: GenerationMode
) -> None:
    fuzz(local_stack.api_url, local_stack.key(role=role_for(path)), path, method, mode)


def fuzz(api_url: str, key: str, path: str, method: str, mode: GenerationMode) -> None:
    """Generated requests to one operation, each answer checked against the document.

    Derandomized (the same examples every run) and without Hypothesis' example database, so a
    failure reproduces as it was reported; the report carries the curl command to replay it.
    """
    operation = SCHEMA[path][method]
    headers = {"x-api-key": key}

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode).map(_without_forged_cursor))
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=api_url, headers=headers, checks=CHECKS, timeout=30)

    answers_as_documented()


def _without_forged_cursor(case: schemathesis.Case) -> schemathesis.Case:
    """A valid `next` is only one the API handed out (it is signed and bound to the filter), so
    a generated one is refused by design (400, documented); the cursors the API hands out are
    followed in `test_a_document_submitted_uploaded_and_read_answers_as_documented`."""
    if case.meta is not None and not case.meta.generation.mode.is_negative and case.query:
        case.query.pop("next", None)
    return case
