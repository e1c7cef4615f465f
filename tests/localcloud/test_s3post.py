"""S3 POST uploads are checked as S3 checks them: signature, expiry, every policy condition.

The forms are the ones docflow issues (`docflow.api.store.S3Presigner`, boto3's
generate_presigned_post); refusals are compared with S3's XML answers as AWS sends them.
"""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from werkzeug.test import Client

from docflow.api.store import S3Presigner
from localcloud import s3post
from tests.localcloud.conftest import Cloud

BUCKET = "docflow-local-documents"
KEY = "incoming/doc_0123456789abcdef0123456789abcdef/ledger.csv"
OTHER_OWNERS_KEY = "incoming/doc_fedcba9876543210fedcba9876543210/invoice.csv"
CSV = b"id,amount\n1,10.00\n2,20.00\n"
SECRETS = {"localcloud": "localcloud", "ASIAEXAMPLE": "session-secret"}


def _s3(endpoint_url: str, access_key: str = "localcloud", **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=SECRETS.get(access_key, "unknown-secret"),
        config=Config(signature_version=config.pop("signature_version", "s3v4"), **config),
    )


def docflow_form(
    size: int = len(CSV),
    content_type: str = "text/csv",
    endpoint_url: str = "http://127.0.0.1:4566",
    access_key: str = "localcloud",
) -> dict[str, str]:
    """The upload fields docflow's API hands a client for one document."""
    presigner = S3Presigner(BUCKET, client_factory=lambda: _s3(endpoint_url, access_key))
    upload = presigner.presigned_post(KEY, content_type, size, ttl_seconds=900)
    return dict(upload["fields"])


def signed_form(policy: dict[str, Any], **fields: str) -> dict[str, str]:
    """A SigV4 form for a hand-written policy, signed with the admin credentials."""
    credential = "localcloud/20261201/us-east-1/s3/aws4_request"
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    signature = s3post.sigv4_signature("localcloud", credential, encoded)
    return {
        **fields,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": "20261201T000000Z",
        "policy": encoded,
        "x-amz-signature": str(signature),
    }


class Moto:
    """Stands in for moto: records what it was given and stores nothing."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.seen.append(
            {
                "body": body,
                "length": environ["CONTENT_LENGTH"],
                "post": environ.get(s3post.ENVIRON_KEY),
            }
        )
        start_response("204 No Content", [])
        return [b""]


@pytest.fixture
def moto() -> Moto:
    return Moto()


def post(
    moto: Moto,
    fields: dict[str, str],
    content: bytes = CSV,
    bucket: str = BUCKET,
    now: datetime | None = None,
    file_field: bool = True,
) -> tuple[int, dict[str, Any]]:
    app = s3post.middleware(moto, secret_for=SECRETS.get, clock=lambda: now or datetime.now(UTC))
    data: dict[str, Any] = dict(fields)
    if file_field:
        data["file"] = (io.BytesIO(content), "ledger.csv", "text/csv")
    response = Client(app).post(f"/{bucket}", data=data, content_type="multipart/form-data")
    return response.status_code, _error(response.get_data())


def _error(body: bytes) -> dict[str, Any]:
    """S3's XML error as a dict of its elements, without the per-request ids."""
    if not body:
        return {}
    root = ET.fromstring(body)  # noqa: S314 - XML this test's own code produced
    assert root.tag == "Error"
    assert [child.tag for child in root][-2:] == ["RequestId", "HostId"]
    return {
        child.tag: child.text or "" for child in root if child.tag not in ("RequestId", "HostId")
    }


def test_the_form_docflow_issues_is_passed_on_with_the_same_bytes(moto: Moto) -> None:
    fields = docflow_form()
    status, _ = post(moto, fields)
    assert status == 204
    (seen,) = moto.seen
    assert seen["length"] == str(len(seen["body"]))
    assert CSV in seen["body"]
    assert seen["post"] == {
        "bucket": BUCKET,
        "key": KEY,
        "fields": {name.lower(): value for name, value in fields.items()},
        "file_size": len(CSV),
        "access_key_id": "localcloud",
        "security_token": None,
    }


def test_a_form_re_aimed_at_another_owners_key_is_refused(moto: Moto) -> None:
    status, error = post(moto, {**docflow_form(), "key": OTHER_OWNERS_KEY})
    assert (status, error) == (
        403,
        {
            "Code": "AccessDenied",
            "Message": "Invalid according to Policy: Policy Condition failed: "
            f'["eq", "$key", "{KEY}"]',
        },
    )
    assert moto.seen == []


@pytest.mark.parametrize(
    ("content", "code", "details"),
    [
        (CSV + b"3,30.00\n", "EntityTooLarge", {"MaxSizeAllowed": str(len(CSV))}),
        (CSV[:-1], "EntityTooSmall", {"MinSizeAllowed": str(len(CSV))}),
    ],
)
def test_an_upload_of_another_size_than_declared_is_refused(
    moto: Moto, content: bytes, code: str, details: dict[str, str]
) -> None:
    status, error = post(moto, docflow_form(), content)
    message = {
        "EntityTooLarge": "Your proposed upload exceeds the maximum allowed size",
        "EntityTooSmall": "Your proposed upload is smaller than the minimum allowed size",
    }[code]
    assert (status, error) == (
        400,
        {"Code": code, "Message": message, "ProposedSize": str(len(content)), **details},
    )
    assert moto.seen == []


def test_an_upload_with_another_content_type_is_refused(moto: Moto) -> None:
    status, error = post(moto, {**docflow_form(), "Content-Type": "image/png"})
    assert (status, error["Message"]) == (
        403,
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "text/csv"]',
    )


def test_an_expired_policy_is_refused(moto: Moto) -> None:
    later = datetime.now(UTC) + timedelta(seconds=901)
    status, error = post(moto, docflow_form(), now=later)
    assert (status, error) == (
        403,
        {"Code": "AccessDenied", "Message": "Invalid according to Policy: Policy expired."},
    )


def test_a_policy_changed_after_signing_does_not_match_its_signature(moto: Moto) -> None:
    fields = docflow_form()
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "key" not in c]
    tampered = base64.b64encode(json.dumps(policy).encode()).decode()
    status, error = post(moto, {**fields, "policy": tampered, "key": OTHER_OWNERS_KEY})
    assert (status, error) == (
        403,
        {
            "Code": "SignatureDoesNotMatch",
            "Message": "The request signature we calculated does not match the signature you "
            "provided. Check your key and signing method.",
            "AWSAccessKeyId": "localcloud",
            "StringToSign": tampered,
            "SignatureProvided": fields["x-amz-signature"],
            "StringToSignBytes": " ".join(f"{b:02x}" for b in tampered.encode()),
        },
    )


def test_a_form_signed_with_an_unknown_key_is_refused(moto: Moto) -> None:
    status, error = post(moto, docflow_form(access_key="AKIAUNKNOWN"))
    assert (status, error) == (
        403,
        {
            "Code": "InvalidAccessKeyId",
            "Message": "The AWS Access Key Id you provided does not exist in our records.",
            "AWSAccessKeyId": "AKIAUNKNOWN",
        },
    )


def test_a_session_credential_is_checked_with_its_own_secret(moto: Moto) -> None:
    fields = docflow_form(access_key="ASIAEXAMPLE")
    assert post(moto, fields)[0] == 204
    assert moto.seen[0]["post"]["access_key_id"] == "ASIAEXAMPLE"


def test_a_field_no_condition_names_is_refused_unless_it_is_ignorable(moto: Moto) -> None:
    fields = docflow_form()
    status, error = post(moto, {**fields, "x-amz-meta-owner": "mallory"})
    assert (status, error["Message"]) == (
        403,
        "Invalid according to Policy: Extra input fields: x-amz-meta-owner",
    )
    assert post(moto, {**fields, "x-ignore-tracking": "1"})[0] == 204


@pytest.mark.parametrize(
    ("missing", "name"),
    [("x-amz-signature", "X-Amz-Signature"), ("x-amz-algorithm", "X-Amz-Algorithm")],
)
def test_a_form_missing_a_signature_field_is_refused(moto: Moto, missing: str, name: str) -> None:
    fields = {k: v for k, v in docflow_form().items() if k != missing}
    status, error = post(moto, fields)
    assert (status, error) == (
        400,
        {
            "Code": "InvalidArgument",
            "Message": f"Bucket POST must contain a field named '{name}'.  "
            "If it is specified, please check the order of the fields.",
            "ArgumentName": name,
            "ArgumentValue": "",
        },
    )


def test_a_form_without_key_or_file_is_refused(moto: Moto) -> None:
    fields = docflow_form()
    status, error = post(moto, {k: v for k, v in fields.items() if k != "key"})
    assert (status, error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", "key")
    status, error = post(moto, fields, file_field=False)
    assert (status, error) == (
        400,
        {
            "Code": "InvalidArgument",
            "Message": "POST requires exactly one file upload per request.",
            "ArgumentName": "file",
            "ArgumentValue": "0",
        },
    )


def test_an_unsigned_upload_is_anonymous_and_refused(moto: Moto) -> None:
    status, error = post(moto, {"key": KEY})
    assert (status, error) == (403, {"Code": "AccessDenied", "Message": "Access Denied"})


def test_a_form_for_one_bucket_is_refused_by_another(moto: Moto) -> None:
    status, error = post(moto, docflow_form(), bucket="docflow-local-analytics")
    assert (status, error["Message"]) == (
        403,
        f'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "{BUCKET}"]',
    )


def test_starts_with_status_and_field_name_case_follow_s3(moto: Moto) -> None:
    policy = {
        "expiration": (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [
            ["starts-with", "$Key", "incoming/"],
            ["eq", "$success_action_status", "201"],
            {"bucket": BUCKET},
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-credential": "localcloud/20261201/us-east-1/s3/aws4_request"},
            {"x-amz-date": "20261201T000000Z"},
        ],
    }
    assert post(moto, signed_form(policy, key=KEY, success_action_status="201"))[0] == 204
    status, error = post(moto, signed_form(policy, key="quarantine/x", success_action_status="201"))
    assert (status, error["Message"]) == (
        403,
        "Invalid according to Policy: Policy Condition failed: "
        '["starts-with", "$Key", "incoming/"]',
    )
    status, error = post(moto, signed_form(policy, key=KEY, success_action_status="200"))
    assert (status, error["Message"]) == (
        403,
        'Invalid according to Policy: Policy Condition failed: ["eq", "$success_action_status", '
        '"201"]',
    )


def test_a_malformed_policy_document_is_invalid(moto: Moto) -> None:
    policy = {"expiration": "2099-01-01T00:00:00Z", "conditions": [{"bucket": BUCKET, "key": KEY}]}
    assert post(moto, signed_form(policy, key=KEY)) == (
        400,
        {
            "Code": "InvalidPolicyDocument",
            "Message": "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have "
            "exactly one property specified.",
        },
    )
    assert post(moto, signed_form({"conditions": []}, key=KEY)) == (
        400,
        {"Code": "InvalidPolicyDocument", "Message": "Invalid Policy: Policy missing expiration."},
    )


def test_a_sigv2_form_is_checked_too(moto: Moto) -> None:
    presigned = _s3("http://127.0.0.1:4566", signature_version="s3").generate_presigned_post(
        Bucket=BUCKET, Key=KEY, Conditions=[["content-length-range", 1, 100]]
    )
    fields = presigned["fields"]
    assert "signature" in fields
    assert post(moto, fields)[0] == 204
    status, error = post(moto, {**fields, "signature": base64.b64encode(b"x" * 20).decode()})
    assert (status, error["Code"]) == (403, "SignatureDoesNotMatch")


def test_requests_that_are_not_post_uploads_are_not_touched(moto: Moto) -> None:
    app = s3post.middleware(moto, secret_for=SECRETS.get)
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=localcloud/20261201/us-east-1/s3"}
    client = Client(app)
    for response in (
        client.post(f"/{BUCKET}", data={"key": KEY}, headers=signed),
        client.post(f"/{BUCKET}/{KEY}", data={"key": KEY}),
        client.post(
            f"/{BUCKET}", data=b"Action=x", content_type="application/x-www-form-urlencoded"
        ),
    ):
        assert response.status_code == 204
    assert [seen["post"] for seen in moto.seen] == [None, None, None]


def test_the_local_s3_enforces_the_policy_of_docflows_upload(cloud: Cloud) -> None:
    cloud.client("s3").create_bucket(Bucket=BUCKET)
    url = f"{cloud.endpoint_url}/{BUCKET}"

    def upload(fields: dict[str, str], content: bytes) -> requests.Response:
        files = {"file": ("ledger.csv", content, "text/csv")}
        return requests.post(url, data=fields, files=files, timeout=30)

    fields = docflow_form(endpoint_url=cloud.endpoint_url)
    re_aimed = upload({**fields, "key": OTHER_OWNERS_KEY}, CSV)
    larger = upload(fields, CSV + b"3,30.00\n")
    assert (re_aimed.status_code, _error(re_aimed.content)["Code"]) == (403, "AccessDenied")
    assert (larger.status_code, _error(larger.content)["Code"]) == (400, "EntityTooLarge")
    assert "Contents" not in cloud.client("s3").list_objects_v2(Bucket=BUCKET)
    assert upload(fields, CSV).status_code == 204
    stored = cloud.client("s3").get_object(Bucket=BUCKET, Key=KEY)
    assert (stored["Body"].read(), stored["ContentType"]) == (CSV, "text/csv")
