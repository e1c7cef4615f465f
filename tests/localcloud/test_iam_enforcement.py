"""IAM enforced on the local endpoint, over real HTTP: a role session from the local STS."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import REGION, Cloud
from tests.support import lambda_role

BUCKET = "lc-iam-files"
ACCOUNT = "123456789012"


def _template() -> dict[str, Any]:
    return {
        "Resources": {
            "Files": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}},
            "FilesPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": BUCKET,
                    "PolicyDocument": {
                        "Statement": [
                            {  # the usual TLS guard: loopback counts as secure transport
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{BUCKET}/sealed/*",
                            },
                        ]
                    },
                },
            },
            "Reader": lambda_role(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/*",
                },
                name="lc-iam-reader",
            ),
        }
    }


@pytest.fixture(scope="module")
def reader(cloud: Cloud) -> Any:
    cloud.deploy("lc-iam", _template())
    s3 = cloud.client("s3")
    s3.put_object(Bucket=BUCKET, Key="open/a.txt", Body=b"a")
    s3.put_object(Bucket=BUCKET, Key="sealed/b.txt", Body=b"b")
    credentials = cloud.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/lc-iam-reader", RoleSessionName="tester"
    )["Credentials"]
    return boto3.client(
        "s3",
        endpoint_url=cloud.endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/lc-iam-reader/tester"


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return {
        **raised.value.response["Error"],
        "status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def test_a_granted_call_goes_through_despite_the_tls_guard(reader: Any) -> None:
    assert reader.get_object(Bucket=BUCKET, Key="open/a.txt")["Body"].read() == b"a"


def test_an_action_the_role_lacks_is_refused_with_s3s_message(reader: Any) -> None:
    error = _error(lambda: reader.put_object(Bucket=BUCKET, Key="open/c.txt", Body=b"c"))
    assert (error["status"], error["Code"]) == (403, "AccessDenied")
    assert error["Message"] == (
        f"User: {SESSION} is not authorized to perform: s3:PutObject on resource: "
        f'"arn:aws:s3:::{BUCKET}/open/c.txt" because no identity-based policy allows the '
        "s3:PutObject action"
    )


def test_an_explicit_deny_in_the_bucket_policy_wins_over_the_role(reader: Any) -> None:
    error = _error(lambda: reader.get_object(Bucket=BUCKET, Key="sealed/b.txt"))
    assert error["Code"] == "AccessDenied"
    assert error["Message"].endswith("with an explicit deny in a resource-based policy")


def test_a_missing_key_is_403_without_list_bucket_as_on_s3(reader: Any) -> None:
    error = _error(lambda: reader.get_object(Bucket=BUCKET, Key="open/missing.txt"))
    assert (error["status"], error["Code"], error["Message"]) == (
        403,
        "AccessDenied",
        "Access Denied",
    )


def test_an_unknown_session_key_is_refused(cloud: Cloud, reader: Any) -> None:
    forged = boto3.client(
        "dynamodb",
        endpoint_url=cloud.endpoint_url,
        region_name=REGION,
        aws_access_key_id="ASIAFORGEDFORGEDFORG",
        aws_secret_access_key="x",
        aws_session_token="y",
    )
    error = _error(forged.list_tables)
    assert error["Code"] == "UnrecognizedClientException"


def test_decisions_are_recorded_for_the_access_report(cloud: Cloud, reader: Any) -> None:
    # Its own calls: the other tests of this module may run in another process (make test).
    reader.get_object(Bucket=BUCKET, Key="open/a.txt")
    _error(lambda: reader.get_object(Bucket=BUCKET, Key="open/missing.txt"))  # asks ListBucket
    records = [
        json.loads(line) for line in (cloud.state_dir / "iam-access.jsonl").read_text().splitlines()
    ]
    mine = {
        (r["action"], r["resource"], r["allowed"]) for r in records if r["principal"] == SESSION
    }
    assert ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/open/a.txt", True) in mine
    assert ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", False) in mine
