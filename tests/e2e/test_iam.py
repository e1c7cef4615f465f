"""IAM on the local stack: a role session gets what its role grants and nothing else.

The credentials come from the local STS, as Lambda's do: the api function's execution role,
assumed by the test (admin credentials may assume any role, as an account's administrator may).
The last test reads what every role used during the whole e2e run (the access report) and fails
on a granted action that nothing used, unless tests/e2e/iam-unused-grants.yml says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from localcloud.iam import report
from tests.e2e.conftest import FULL_E2E_RUN, LocalStack

ALLOWED_UNUSED = Path(__file__).with_name("iam-unused-grants.yml")


def _function_role(local: LocalStack, function: str) -> str:
    configuration = local.client("lambda").get_function_configuration(
        FunctionName=f"docflow-local-{function}"
    )
    return str(configuration["Role"])


def _session(local: LocalStack, role_arn: str) -> boto3.Session:
    credentials = local.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="e2e")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


@pytest.fixture(scope="module")
def api_role(local_stack: LocalStack) -> tuple[str, boto3.Session]:
    role = _function_role(local_stack, "api")
    return role, _session(local_stack, role)


def _refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return dict(raised.value.response["Error"])


def test_a_role_session_is_refused_what_its_role_does_not_grant(
    local_stack: LocalStack, api_role: tuple[str, boto3.Session]
) -> None:
    role, session = api_role
    endpoint = local_stack.endpoint_url
    session_arn = f"arn:aws:sts::123456789012:assumed-role/{role.rsplit('/', 1)[1]}/e2e"
    tables = local_stack.description["tables"]
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{tables['IdempotencyTable']}"

    error = _refusal(
        lambda: session.client("dynamodb", endpoint_url=endpoint).describe_table(
            TableName=tables["IdempotencyTable"]
        )
    )
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: {session_arn} is not authorized to perform: dynamodb:DescribeTable on resource: "
        f"{table_arn} because no identity-based policy allows the dynamodb:DescribeTable action"
    )

    bucket = local_stack.description["documents_bucket"]
    error = _refusal(
        lambda: session.client("s3", endpoint_url=endpoint).get_bucket_policy(Bucket=bucket)
    )
    assert error["Code"] == "AccessDenied"
    assert f'perform: s3:GetBucketPolicy on resource: "arn:aws:s3:::{bucket}"' in error["Message"]

    machine = local_stack.description["state_machine_arn"]
    error = _refusal(
        lambda: session.client("stepfunctions", endpoint_url=endpoint).describe_state_machine(
            stateMachineArn=machine
        )
    )
    assert error["Code"] == "AccessDeniedException"
    assert f"states:DescribeStateMachine on resource: {machine} because" in error["Message"]


def test_a_role_session_may_do_what_its_role_grants(
    local_stack: LocalStack, api_role: tuple[str, boto3.Session]
) -> None:
    _, session = api_role
    endpoint = local_stack.endpoint_url
    documents = local_stack.description["tables"]["DocumentsTable"]
    missing = session.client("dynamodb", endpoint_url=endpoint).get_item(
        TableName=documents, Key={"document_id": {"S": "doc_not_there"}}
    )
    assert "Item" not in missing
    secret = session.client("secretsmanager", endpoint_url=endpoint).get_secret_value(
        SecretId=local_stack.description["api_keys_secret"]
    )
    assert '"keys"' in secret["SecretString"]


def test_listing_documents_reads_the_owner_index(local_stack: LocalStack) -> None:
    listed = local_stack.api("GET", "/documents?limit=5")
    assert listed.status_code == 200, listed.text
    role = report.usage(local_stack.state_dir)[_function_role(local_stack, "api")]
    index = (
        "arn:aws:dynamodb:us-east-1:123456789012:table/"
        f"{local_stack.description['tables']['DocumentsTable']}/index/by_owner"
    )
    assert ("dynamodb:Query", index) in role.used


def test_a_refused_request_is_in_the_access_report(
    local_stack: LocalStack, api_role: tuple[str, boto3.Session]
) -> None:
    role, session = api_role
    with pytest.raises(ClientError):
        session.client("sqs", endpoint_url=local_stack.endpoint_url).list_queues()
    usage = report.usage(local_stack.state_dir)[role]
    assert ("sqs:ListQueues", "*") in {(a, r) for a, r, _ in usage.refused}


def test_every_granted_action_is_used_by_some_workflow(
    request: pytest.FixtureRequest, local_stack: LocalStack
) -> None:
    """Runs last (tests/e2e/conftest.py), over what the whole e2e run made each role do."""
    if not request.config.stash.get(FULL_E2E_RUN, False):
        pytest.skip("needs the whole e2e suite: grants are measured against every workflow")
    allowed: dict[str, dict[str, str]] = yaml.safe_load(ALLOWED_UNUSED.read_text())
    everywhere = allowed.get("*", {})
    unexplained = {}
    for role in report.usage(local_stack.state_dir).values():
        function = role.name.removeprefix("docflow-local-").removesuffix("-us-east-1-lambdaRole")
        if not role.name.startswith("docflow-local-") or not role.name.endswith("lambdaRole"):
            function = "stateMachine"
        reasons = {**everywhere, **allowed.get(function, {})}
        left = [action for action, _ in role.unused() if action not in reasons]
        if left:
            unexplained[function] = left
    assert unexplained == {}, (
        "granted but never used by the e2e run; remove the grant, exercise it in a test, or "
        f"say why in {ALLOWED_UNUSED.name}: {unexplained}"
    )
