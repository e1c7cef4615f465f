"""deploy/bootstrap.yml: linted, scanned, and its trust and permissions evaluated.

The trust policies and role policies are resolved (sample account 123456789012, us-east-1,
repository octo-org/docflow) and evaluated with the local stack's IAM evaluator
(localcloud/iam/policy.py) against the requests GitHub's tokens and CloudFormation make.
The repository's OIDC subject template is ["repo", "context", "ref"], so a job's `sub` is
`repo:OWNER/REPO:environment:ENV:ref:REF` (docs/operations.md, "Bootstrap an account").
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from gates import bootstrap, tools
from gates.template import Resolver, props, resources
from localcloud.iam.policy import Request, evaluate
from tests.templates.conftest import Compiled

ACCOUNT = "123456789012"
REPO = bootstrap.SAMPLE_PARAMETERS["GitHubRepository"]
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
CLAIM = "token.actions.githubusercontent.com"
ASSUME = "sts:AssumeRoleWithWebIdentity"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
CODEDEPLOY_POLICY = "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return bootstrap.load()


@pytest.fixture(scope="module")
def resolved(raw: dict[str, Any]) -> dict[str, Any]:
    """Every resource's properties with the intrinsics resolved (conditions ignored)."""
    concrete = bootstrap.with_parameters(raw)
    resolver = Resolver(concrete)
    return {rid: resolver.resolve(dict(props(res))) for rid, res in resources(concrete).items()}


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _token(sub: str, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    return {f"{CLAIM}:sub": sub, f"{CLAIM}:aud": aud}


def _may_assume(resolved: Mapping[str, Any], env: str, claims: Mapping[str, str]) -> bool:
    role = resolved[f"{env.capitalize()}DeployRole"]
    request = Request(PROVIDER, ASSUME, _role_arn(role["RoleName"]), claims)
    return evaluate(request, (), role["AssumeRolePolicyDocument"]).allowed


def _session(role: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/session"


def _allowed(
    resolved: Mapping[str, Any],
    rid: str,
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
) -> bool:
    role = resolved[rid]
    documents = [p["PolicyDocument"] for p in role["Policies"]]
    request = Request(
        _session(role["RoleName"]),
        action,
        resource,
        context or {},
        role_arn=_role_arn(role["RoleName"]),
        account_id=ACCOUNT,
    )
    return evaluate(request, documents).allowed


# -- the tools ---------------------------------------------------------------------------------


def test_cfn_lint_reports_no_error_or_warning() -> None:
    ok, output = tools.cfn_lint(bootstrap.BOOTSTRAP)
    assert ok, output


def test_checkov_fails_no_check_beyond_the_reasoned_skips() -> None:
    ok, output = tools.checkov(bootstrap.BOOTSTRAP)
    assert ok, output
    assert "Failed checks: 0" in output


def test_iam_gate_and_static_iam_check_find_nothing(raw: dict[str, Any]) -> None:
    assert [str(f) for f in bootstrap.check(raw)] == []


# -- trust: who gets the deploy roles ----------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_trust_is_exactly_this_repository_the_environment_and_main(
    raw: dict[str, Any], env: str
) -> None:
    role = resources(raw)[f"{env.capitalize()}DeployRole"]
    (statement,) = props(role)["AssumeRolePolicyDocument"]["Statement"]

    assert statement["Action"] == ASSUME
    assert statement["Principal"] == {
        "Federated": {
            "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/"
            "token.actions.githubusercontent.com"
        }
    }
    # StringEquals only: no wildcard reaches another branch, environment or repository.
    assert statement["Condition"] == {
        "StringEquals": {
            f"{CLAIM}:aud": "sts.amazonaws.com",
            f"{CLAIM}:sub": {
                "Fn::Sub": f"repo:${{GitHubRepository}}:environment:{env}:ref:refs/heads/main"
            },
        }
    }


@pytest.mark.parametrize(
    ("sub", "dev", "prod"),
    [
        (f"repo:{REPO}:environment:prod:ref:refs/heads/main", False, True),
        (f"repo:{REPO}:environment:dev:ref:refs/heads/main", True, False),
        # A branch other than main, in either environment: neither role.
        (f"repo:{REPO}:environment:prod:ref:refs/heads/feature", False, False),
        (f"repo:{REPO}:environment:dev:ref:refs/heads/feature", False, False),
        # A tag, a pull request, a job without an environment.
        (f"repo:{REPO}:environment:prod:ref:refs/tags/v1.0.0", False, False),
        (f"repo:{REPO}:pull_request", False, False),
        (f"repo:{REPO}:ref:refs/heads/main", False, False),
        # The default subject format (no customisation): no ref, so no role.
        (f"repo:{REPO}:environment:prod", False, False),
        # Another repository, a look-alike, another owner.
        ("repo:octo-org/docflow-fork:environment:prod:ref:refs/heads/main", False, False),
        ("repo:evil/docflow:environment:prod:ref:refs/heads/main", False, False),
        # A branch named to smuggle the suffix in.
        (
            f"repo:{REPO}:environment:prod:ref:refs/heads/x:environment:prod:ref:refs/heads/main",
            False,
            False,
        ),
    ],
)
def test_which_tokens_may_assume_which_deploy_role(
    resolved: dict[str, Any], sub: str, dev: bool, prod: bool
) -> None:
    assert (
        _may_assume(resolved, "dev", _token(sub)),
        _may_assume(resolved, "prod", _token(sub)),
    ) == (
        dev,
        prod,
    )


def test_a_token_for_another_audience_or_from_another_provider_assumes_nothing(
    resolved: dict[str, Any],
) -> None:
    sub = f"repo:{REPO}:environment:prod:ref:refs/heads/main"
    assert not _may_assume(resolved, "prod", _token(sub, aud="https://github.com/octo-org"))
    assert not _may_assume(resolved, "prod", {f"{CLAIM}:sub": sub})  # no aud claim
    role = resolved["ProdDeployRole"]
    other = f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"
    request = Request(other, ASSUME, _role_arn(role["RoleName"]), _token(sub))
    assert not evaluate(request, (), role["AssumeRolePolicyDocument"]).allowed


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_only_cloudformation_may_assume_the_execution_role(
    resolved: dict[str, Any], env: str
) -> None:
    role = resolved[f"{env.capitalize()}ExecutionRole"]
    trust = role["AssumeRolePolicyDocument"]
    arn = _role_arn(role["RoleName"])
    assert evaluate(
        Request("cloudformation.amazonaws.com", "sts:AssumeRole", arn), (), trust
    ).allowed
    assert not evaluate(Request("lambda.amazonaws.com", "sts:AssumeRole", arn), (), trust).allowed
    deploy = _session(f"docflow-{env}-github-deploy")
    assert not evaluate(Request(deploy, "sts:AssumeRole", arn), (), trust).allowed


# -- what a deploy role may do -----------------------------------------------------------------

STACK = "arn:aws:cloudformation:us-east-1:{account}:stack/docflow-{env}/0a1b2c3d"


def _stack(env: str) -> str:
    return STACK.format(account=ACCOUNT, env=env)


def test_the_deploy_role_changes_its_stack_only_through_its_execution_role(
    resolved: dict[str, Any],
) -> None:
    dev_exec = _role_arn("docflow-dev-cloudformation")
    prod_exec = _role_arn("docflow-prod-cloudformation")
    for action in (
        "cloudformation:UpdateStack",
        "cloudformation:CreateStack",
        "cloudformation:CreateChangeSet",
    ):
        with_role = {"cloudformation:RoleArn": dev_exec}
        assert _allowed(resolved, "DevDeployRole", action, _stack("dev"), with_role)
        # Without a role CloudFormation would act with the deploy role's own rights.
        assert not _allowed(resolved, "DevDeployRole", action, _stack("dev"))
        assert not _allowed(
            resolved, "DevDeployRole", action, _stack("dev"), {"cloudformation:RoleArn": prod_exec}
        )
        assert not _allowed(
            resolved, "DevDeployRole", action, _stack("prod"), {"cloudformation:RoleArn": prod_exec}
        )
    assert not _allowed(resolved, "DevDeployRole", "cloudformation:DeleteStack", _stack("dev"))
    assert _allowed(
        resolved,
        "ProdDeployRole",
        "cloudformation:UpdateStack",
        _stack("prod"),
        {"cloudformation:RoleArn": prod_exec},
    )


def test_the_deploy_role_passes_only_its_execution_role_and_only_to_cloudformation(
    resolved: dict[str, Any],
) -> None:
    dev_exec = _role_arn("docflow-dev-cloudformation")
    to_cfn = {"iam:PassedToService": "cloudformation.amazonaws.com"}
    assert _allowed(resolved, "DevDeployRole", "iam:PassRole", dev_exec, to_cfn)
    assert not _allowed(
        resolved,
        "DevDeployRole",
        "iam:PassRole",
        dev_exec,
        {"iam:PassedToService": "lambda.amazonaws.com"},
    )
    assert not _allowed(
        resolved, "DevDeployRole", "iam:PassRole", _role_arn("docflow-prod-cloudformation"), to_cfn
    )
    assert not _allowed(
        resolved,
        "DevDeployRole",
        "iam:PassRole",
        _role_arn("docflow-dev-api-us-east-1-lambdaRole"),
        to_cfn,
    )


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/docflow-dev-anything"),
        (
            "iam:PutRolePolicy",
            "arn:aws:iam::123456789012:role/docflow-dev-api-us-east-1-lambdaRole",
        ),
        (
            "lambda:UpdateFunctionCode",
            "arn:aws:lambda:us-east-1:123456789012:function:docflow-dev-api",
        ),
        (
            "dynamodb:DeleteTable",
            "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-dev-documents",
        ),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-dev-documents"),
        ("s3:GetObject", "arn:aws:s3:::docflow-dev-documents-123456789012-us-east-1/incoming/x"),
        (
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:docflow/dev/api-keys-AbCdEf",
        ),
        (
            "s3:PutObject",
            "arn:aws:s3:::docflow-deployments-prod-123456789012-us-east-1/serverless/docflow/prod/x.zip",
        ),
        ("s3:DeleteBucket", "arn:aws:s3:::docflow-deployments-dev-123456789012-us-east-1"),
    ],
)
def test_the_dev_deploy_role_touches_no_resource_and_no_data_itself(
    resolved: dict[str, Any], action: str, resource: str
) -> None:
    assert not _allowed(resolved, "DevDeployRole", action, resource)


def test_the_deploy_role_uses_its_own_deployment_bucket(resolved: dict[str, Any]) -> None:
    bucket = resolved["DevDeploymentBucket"]["BucketName"]
    assert bucket == "docflow-deployments-dev-123456789012-us-east-1"
    key = f"arn:aws:s3:::{bucket}/serverless/docflow/dev/1796206751767-2026-12-02T10:19/api.zip"
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert _allowed(resolved, "DevDeployRole", action, key)
    assert _allowed(resolved, "DevDeployRole", "s3:ListBucket", f"arn:aws:s3:::{bucket}")
    assert not _allowed(resolved, "DevDeployRole", "s3:PutObject", f"arn:aws:s3:::{bucket}/other/x")


# -- what an execution role may do -------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource", "context", "allowed"),
    [
        (
            "lambda:CreateFunction",
            "arn:aws:lambda:us-east-1:123456789012:function:docflow-dev-api",
            {},
            True,
        ),
        (
            "lambda:CreateFunction",
            "arn:aws:lambda:us-east-1:123456789012:function:docflow-prod-api",
            {},
            False,
        ),
        (
            "lambda:CreateFunction",
            "arn:aws:lambda:us-east-1:123456789012:function:billing-api",
            {},
            False,
        ),
        (
            "iam:CreateRole",
            "arn:aws:iam::123456789012:role/docflow-dev-api-us-east-1-lambdaRole",
            {},
            True,
        ),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/admin", {}, False),
        ("iam:CreateUser", "arn:aws:iam::123456789012:user/docflow-dev-x", {}, False),
        (
            "iam:AttachRolePolicy",
            "arn:aws:iam::123456789012:role/docflow-dev-CodeDeployServiceRole-ABC",
            {"iam:PolicyARN": CODEDEPLOY_POLICY},
            True,
        ),
        (
            "iam:AttachRolePolicy",
            "arn:aws:iam::123456789012:role/docflow-dev-api-us-east-1-lambdaRole",
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
            False,
        ),
        (
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/docflow-dev-api-us-east-1-lambdaRole",
            {"iam:PassedToService": "lambda.amazonaws.com"},
            True,
        ),
        (
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/docflow-dev-api-us-east-1-lambdaRole",
            {"iam:PassedToService": "ec2.amazonaws.com"},
            False,
        ),
        (
            "lambda:CreateEventSourceMapping",
            "*",
            {"lambda:FunctionArn": FUNCTION + "docflow-dev-sync"},
            True,
        ),
        (
            "lambda:CreateEventSourceMapping",
            "*",
            {"lambda:FunctionArn": FUNCTION + "docflow-prod-sync"},
            False,
        ),
        ("s3:CreateBucket", "arn:aws:s3:::docflow-dev-documents-123456789012-us-east-1", {}, True),
        # The deployment bucket belongs to the bootstrap, not to the stack it deploys.
        (
            "s3:PutBucketPolicy",
            "arn:aws:s3:::docflow-deployments-dev-123456789012-us-east-1",
            {},
            False,
        ),
        (
            "s3:DeleteBucket",
            "arn:aws:s3:::docflow-deployments-dev-123456789012-us-east-1",
            {},
            False,
        ),
        (
            "dynamodb:CreateTable",
            "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-dev-documents",
            {},
            True,
        ),
        (
            "dynamodb:Scan",
            "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-dev-documents",
            {},
            False,
        ),
        (
            "secretsmanager:CreateSecret",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:docflow/dev/api-keys-AbCdEf",
            {},
            True,
        ),
        (
            "secretsmanager:CreateSecret",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:docflow/prod/api-keys-AbCdEf",
            {},
            False,
        ),
    ],
)
def test_the_dev_execution_role_reaches_only_docflow_dev(
    resolved: dict[str, Any], action: str, resource: str, context: dict[str, str], allowed: bool
) -> None:
    assert _allowed(resolved, "DevExecutionRole", action, resource, context) is allowed


def test_prod_roles_are_dev_roles_with_the_environment_replaced(raw: dict[str, Any]) -> None:
    found = resources(raw)
    for kind in ("DeployRole", "ExecutionRole", "DeploymentBucket", "DeploymentBucketPolicy"):
        dev = json.dumps({k: v for k, v in found[f"Dev{kind}"].items() if k != "Condition"})
        prod = json.dumps({k: v for k, v in found[f"Prod{kind}"].items() if k != "Condition"})
        assert prod == dev.replace("dev", "prod").replace("Dev", "Prod"), kind


def test_the_deployment_buckets_are_kept_versioned_private_and_tls_only(
    raw: dict[str, Any], resolved: dict[str, Any]
) -> None:
    for env in ("Dev", "Prod"):
        bucket = resources(raw)[f"{env}DeploymentBucket"]
        assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
        body = resolved[f"{env}DeploymentBucket"]
        assert body["VersioningConfiguration"] == {"Status": "Enabled"}
        assert set(body["PublicAccessBlockConfiguration"].values()) == {True}
        (deny,) = resolved[f"{env}DeploymentBucketPolicy"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# -- the execution roles cover what the stacks create ------------------------------------------


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_execution_role_covers_every_resource_type_of_the_stage(
    raw: dict[str, Any], compiled: Compiled, env: str
) -> None:
    stage = json.loads(compiled(env).read_text())
    assert [str(f) for f in bootstrap.coverage(raw, env, stage)] == []


def test_coverage_names_a_resource_type_whose_permissions_are_missing(
    raw: dict[str, Any], compiled: Compiled
) -> None:
    seeded = copy.deepcopy(raw)
    policy = props(resources(seeded)["DevExecutionRole"])["Policies"][0]["PolicyDocument"]
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "Tables"]
    stage = json.loads(compiled("dev").read_text())

    found = [str(f) for f in bootstrap.coverage(seeded, "dev", stage)]

    assert len(found) == 1
    assert "AWS::DynamoDB::Table needs dynamodb:CreateTable" in found[0]


def test_coverage_names_a_managed_policy_the_role_may_not_attach(
    raw: dict[str, Any], compiled: Compiled
) -> None:
    stage = json.loads(compiled("dev").read_text())
    role = next(iter(resources(stage, "AWS::IAM::Role").values()))
    role["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]

    found = [str(f) for f in bootstrap.coverage(raw, "dev", stage)]

    assert found == [
        "[bootstrap] DevExecutionRole: a role attaches "
        "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess, which "
        "iam:AttachRolePolicy does not allow"
    ]


def test_every_not_needed_permission_has_a_reason() -> None:
    assert all(reason.strip() for reason in bootstrap.NOT_NEEDED.values())
