"""IAM's policy evaluation logic, specified by the examples in AWS's IAM User Guide.

Each group names the page its cases come from. The policies are the documentation's own,
with account ids and names filled in; the expected reasons are the endings of AWS's access
denied messages ("Troubleshooting access denied error messages").
"""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.iam.policy import (
    Decision,
    Request,
    Result,
    UnsupportedConditionError,
    action_matches,
    conditions_match,
    evaluate,
    resource_matches,
)

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/examplerole"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/examplerole/examplerolesessionname"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def as_role(action: str, resource: str, **context: Any) -> Request:
    """A request signed by a session of ROLE, as every function's request is."""
    return Request(SESSION, action, resource, context, role_arn=ROLE, account_id=ACCOUNT)


def allowed(reason: str, kind: str) -> Result:
    return Result(Decision.ALLOW, reason, kind)


def implicit_deny(action: str, kind: str = "identity") -> Result:
    return Result(
        Decision.IMPLICIT_DENY, f"because no {kind}-based policy allows the {action} action"
    )


EXPLICIT_DENY_IDENTITY = Result(
    Decision.EXPLICIT_DENY, "with an explicit deny in an identity-based policy", "identity"
)
EXPLICIT_DENY_RESOURCE = Result(
    Decision.EXPLICIT_DENY, "with an explicit deny in a resource-based policy", "resource"
)
BY_IDENTITY = allowed("allowed by an identity-based policy", "identity")
BY_RESOURCE = allowed("allowed by a resource-based policy", "resource")


# -- "Policy evaluation logic": example identity-based and resource-based policy evaluation -----

CARLOS = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"
CARLOS_POLICY = policy(
    {
        "Sid": "AllowS3ListRead",
        "Effect": "Allow",
        "Action": [
            "s3:GetBucketLocation",
            "s3:GetAccountPublicAccessBlock",
            "s3:ListAccessPoints",
            "s3:ListAllMyBuckets",
        ],
        "Resource": "arn:aws:s3:::*",
    },
    {
        "Sid": "AllowS3Self",
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
    },
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)
CARLOS_BUCKET_POLICY = policy(
    {
        "Effect": "Allow",
        "Principal": {"AWS": CARLOS},
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
    }
)


def carlos(action: str, resource: str) -> Request:
    return Request(CARLOS, action, resource)


def test_carlos_saving_to_a_log_bucket_is_denied_by_his_own_policy() -> None:
    request = carlos("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/report.txt")

    assert evaluate(request, [CARLOS_POLICY], CARLOS_BUCKET_POLICY) == EXPLICIT_DENY_IDENTITY


def test_carlos_saving_to_his_bucket_is_allowed_by_either_policy_alone() -> None:
    request = carlos("s3:PutObject", "arn:aws:s3:::carlossalazar/report.txt")
    without_self = policy(*[s for s in CARLOS_POLICY["Statement"] if s["Sid"] != "AllowS3Self"])

    # The resource-based policy names Carlos himself, so it allows on its own.
    assert evaluate(request, [CARLOS_POLICY], CARLOS_BUCKET_POLICY) == BY_RESOURCE
    assert evaluate(request, [without_self], CARLOS_BUCKET_POLICY) == BY_RESOURCE
    assert evaluate(request, [CARLOS_POLICY], None) == BY_IDENTITY
    assert evaluate(request, [without_self], None) == implicit_deny("s3:PutObject")


# -- "The difference between explicit and implicit denies" -------------------------------------

GET_LIST_NO_REPORTS = policy(
    {
        "Sid": "AllowGetList",
        "Effect": "Allow",
        "Action": ["iam:Get*", "iam:List*"],
        "Resource": "*",
    },
    {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("iam:GetRole", BY_IDENTITY),
        ("iam:ListRoles", BY_IDENTITY),
        ("iam:GetOrganizationsAccessReport", EXPLICIT_DENY_IDENTITY),
        ("iam:GenerateCredentialReport", EXPLICIT_DENY_IDENTITY),
        ("iam:CreatePolicy", implicit_deny("iam:CreatePolicy")),
    ],
)
def test_allowed_implicitly_and_explicitly_denied_actions(action: str, expected: Result) -> None:
    extra_grant = policy(
        {"Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"}
    )

    assert evaluate(as_role(action, "*"), [GET_LIST_NO_REPORTS, extra_grant]) == expected


# -- "Troubleshooting access denied error messages": the reasons ---------------------------------


def test_reasons_end_the_access_denied_messages_as_aws_words_them() -> None:
    deny = policy({"Effect": "Deny", "Action": "codedeploy:*", "Resource": "*"})
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:api-keys"
    resource_deny = policy(
        {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
    )
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})

    assert (
        evaluate(as_role("codecommit:ListRepositories", "*"), []).reason
        == "because no identity-based policy allows the codecommit:ListRepositories action"
    )
    assert (
        evaluate(as_role("codedeploy:ListDeployments", "*"), [deny, allow_all]).reason
        == "with an explicit deny in an identity-based policy"
    )
    assert (
        evaluate(
            as_role("secretsmanager:GetSecretValue", secret), [allow_all], resource_deny
        ).reason
        == "with an explicit deny in a resource-based policy"
    )
    assert (
        evaluate(Request("s3.amazonaws.com", "lambda:InvokeFunction", "arn:x"), []).reason
        == "because no resource-based policy allows the lambda:InvokeFunction action"
    )


# -- "Policy evaluation logic": explicit deny over allow, in either kind of policy ----------------

TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/documents"
ALLOW_UPDATE = policy({"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE})
DENY_UPDATE = policy({"Effect": "Deny", "Action": "dynamodb:UpdateItem", "Resource": TABLE})


def test_explicit_deny_in_an_identity_policy_wins_over_a_resource_policy_allow() -> None:
    resource_allow = policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "dynamodb:*", "Resource": TABLE}
    )

    result = evaluate(as_role("dynamodb:UpdateItem", TABLE), [DENY_UPDATE], resource_allow)

    assert result == EXPLICIT_DENY_IDENTITY


def test_explicit_deny_in_a_resource_policy_wins_over_an_identity_policy_allow() -> None:
    resource_deny = policy(
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "dynamodb:*", "Resource": TABLE}
    )

    result = evaluate(as_role("dynamodb:UpdateItem", TABLE), [ALLOW_UPDATE], resource_deny)

    assert result == EXPLICIT_DENY_RESOURCE


def test_a_deny_in_one_policy_overrides_an_allow_in_another_of_the_same_kind() -> None:
    result = evaluate(as_role("dynamodb:UpdateItem", TABLE), [ALLOW_UPDATE, DENY_UPDATE])

    assert result == EXPLICIT_DENY_IDENTITY


def test_a_statement_without_effect_allow_grants_nothing() -> None:
    nothing = policy({"Action": "dynamodb:UpdateItem", "Resource": TABLE})

    assert evaluate(as_role("dynamodb:UpdateItem", TABLE), [nothing]) == implicit_deny(
        "dynamodb:UpdateItem"
    )


# -- "Determining whether a request is allowed or denied within an account": principals --------

BUCKET_OBJECT = "arn:aws:s3:::docflow-documents/incoming/a.pdf"


def bucket_policy(principal: Any) -> dict[str, Any]:
    return policy(
        {
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::docflow-documents/*",
        }
    )


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": ROLE},  # an IAM role ARN
        {"AWS": SESSION},  # an IAM role session ARN
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/other", ROLE]},
        "*",
    ],
)
def test_a_resource_policy_naming_the_role_or_its_session_allows_on_its_own(principal: Any) -> None:
    result = evaluate(as_role("s3:GetObject", BUCKET_OBJECT), [], bucket_policy(principal))

    assert result == BY_RESOURCE


@pytest.mark.parametrize("principal", [{"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"AWS": ACCOUNT}])
def test_a_resource_policy_naming_the_account_defers_to_identity_policies(principal: Any) -> None:
    request = as_role("s3:GetObject", BUCKET_OBJECT)
    grant = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"})

    assert evaluate(request, [], bucket_policy(principal)) == implicit_deny("s3:GetObject")
    assert evaluate(request, [grant], bucket_policy(principal)) == BY_IDENTITY


def test_a_resource_policy_naming_another_principal_does_not_apply() -> None:
    other = bucket_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone-else"})

    result = evaluate(as_role("s3:GetObject", BUCKET_OBJECT), [], other)

    assert result == implicit_deny("s3:GetObject")


def test_a_resource_policy_for_a_service_does_not_apply_to_a_role() -> None:
    service_only = bucket_policy({"Service": "s3.amazonaws.com"})

    result = evaluate(as_role("s3:GetObject", BUCKET_OBJECT), [], service_only)

    assert result == implicit_deny("s3:GetObject")


def test_not_principal_applies_to_everyone_but_the_named_principal() -> None:
    deny_others = policy(
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": ROLE},
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::docflow-documents/*",
        }
    )
    grant = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    other_session = f"arn:aws:sts::{ACCOUNT}:assumed-role/other/session"
    other_role = f"arn:aws:iam::{ACCOUNT}:role/other"
    other = Request(other_session, "s3:GetObject", BUCKET_OBJECT, role_arn=other_role)

    assert evaluate(as_role("s3:GetObject", BUCKET_OBJECT), [grant], deny_others) == BY_IDENTITY
    assert evaluate(other, [grant], deny_others) == EXPLICIT_DENY_RESOURCE


# -- "Using resource-based policies for AWS Lambda": a service principal and its source ---------

FUNCTION = f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:my-function"
S3_INVOKES_FUNCTION = policy(
    {
        "Sid": "lambda-allow-s3-my-function",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": FUNCTION,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": ACCOUNT},
            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"},
        },
    }
)


def s3_invokes(source_arn: str, source_account: str = ACCOUNT) -> Request:
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": source_account}
    return Request("s3.amazonaws.com", "lambda:InvokeFunction", FUNCTION, context)


def test_the_service_may_invoke_for_the_named_bucket_in_the_account() -> None:
    assert evaluate(s3_invokes("arn:aws:s3:::my-bucket"), [], S3_INVOKES_FUNCTION) == BY_RESOURCE


@pytest.mark.parametrize(
    "request_",
    [
        s3_invokes("arn:aws:s3:::another-bucket"),
        s3_invokes("arn:aws:s3:::my-bucket", source_account="210987654321"),
        Request("s3.amazonaws.com", "lambda:InvokeFunction", FUNCTION),  # no source at all
        Request("sns.amazonaws.com", "lambda:InvokeFunction", FUNCTION, s3_invokes("x").context),
    ],
    ids=["other-bucket", "other-account", "no-source", "other-service"],
)
def test_the_service_may_not_invoke_for_another_source(request_: Request) -> None:
    result = evaluate(request_, [], S3_INVOKES_FUNCTION)

    assert result == implicit_deny("lambda:InvokeFunction", "resource")


def test_a_service_principal_is_not_granted_by_identity_policies() -> None:
    everything = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})

    result = evaluate(s3_invokes("arn:aws:s3:::my-bucket"), [everything], None)

    assert result == implicit_deny("lambda:InvokeFunction", "resource")


def test_a_role_trust_policy_is_a_resource_policy_for_sts_assume_role() -> None:
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    )

    assert (
        evaluate(Request("lambda.amazonaws.com", "sts:AssumeRole", ROLE), [], trust) == BY_RESOURCE
    )
    assert evaluate(Request("states.amazonaws.com", "sts:AssumeRole", ROLE), [], trust) == (
        implicit_deny("sts:AssumeRole", "resource")
    )


# "Creating a role for web identity or OpenID Connect federation": the trust names the
# identity provider (Federated) and conditions on the token's claims.
GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
MAIN = "repo:octo-org/octo-repo:ref:refs/heads/main"


def test_a_web_identity_trust_names_the_provider_and_checks_the_claims() -> None:
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": MAIN,
                }
            },
        }
    )
    claims = {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": MAIN,
    }
    action = "sts:AssumeRoleWithWebIdentity"

    assert evaluate(Request(GITHUB, action, ROLE, claims), [], trust) == BY_RESOURCE
    other_branch = {
        **claims,
        "token.actions.githubusercontent.com:sub": "repo:octo-org/octo-repo:ref:refs/heads/dev",
    }
    assert evaluate(Request(GITHUB, action, ROLE, other_branch), [], trust) == (
        implicit_deny(action, "identity")
    )
    other_provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"
    assert not evaluate(Request(other_provider, action, ROLE, claims), [], trust).allowed
    # A role session is not the provider, whatever context it sends.
    assert not evaluate(Request(SESSION, action, ROLE, claims), [], trust).allowed


# -- "IAM JSON policy elements: NotAction" ------------------------------------------------------


def test_not_action_with_allow_and_s3_resources_allows_only_s3_actions_on_them() -> None:
    all_but_delete = policy(
        {"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"}
    )

    assert evaluate(as_role("s3:GetObject", BUCKET_OBJECT), [all_but_delete]) == BY_IDENTITY
    assert evaluate(
        as_role("s3:DeleteBucket", "arn:aws:s3:::docflow-documents"), [all_but_delete]
    ) == implicit_deny("s3:DeleteBucket")
    # ListAllMyBuckets needs the "*" resource; other services' resources are not S3's.
    assert evaluate(as_role("s3:ListAllMyBuckets", "*"), [all_but_delete]) == implicit_deny(
        "s3:ListAllMyBuckets"
    )
    assert evaluate(as_role("dynamodb:GetItem", TABLE), [all_but_delete]) == implicit_deny(
        "dynamodb:GetItem"
    )


def test_not_action_iam_allows_every_other_service() -> None:
    all_but_iam = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})

    assert evaluate(as_role("dynamodb:GetItem", TABLE), [all_but_iam]) == BY_IDENTITY
    assert evaluate(as_role("iam:CreateUser", "*"), [all_but_iam]) == implicit_deny(
        "iam:CreateUser"
    )


def test_not_action_with_deny_and_bool_if_exists_denies_without_mfa() -> None:
    deny_without_mfa = policy(
        {
            "Sid": "DenyAllUsersNotUsingMFA",
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    )
    everything = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    policies = [deny_without_mfa, everything]

    assert evaluate(as_role("s3:GetObject", BUCKET_OBJECT), policies) == EXPLICIT_DENY_IDENTITY
    assert evaluate(as_role("iam:ListUsers", "*"), policies) == BY_IDENTITY
    with_mfa = as_role("s3:GetObject", BUCKET_OBJECT, **{"aws:MultiFactorAuthPresent": "true"})
    assert evaluate(with_mfa, policies) == BY_IDENTITY


# -- "IAM JSON policy elements: NotResource" ----------------------------------------------------

PAYROLL_ONLY = policy(
    {
        "Effect": "Deny",
        "Action": "s3:*",
        "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
    }
)
EVERYTHING = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/march.csv", BY_IDENTITY),
        ("s3:ListBucket", "arn:aws:s3:::HRBucket/Payroll", BY_IDENTITY),
        ("s3:GetObject", "arn:aws:s3:::HRBucket/Recruiting/cv.pdf", EXPLICIT_DENY_IDENTITY),
        ("s3:ListBucket", "arn:aws:s3:::HRBucket", EXPLICIT_DENY_IDENTITY),
        ("dynamodb:GetItem", TABLE, BY_IDENTITY),  # only the listed service's actions are denied
    ],
)
def test_not_resource_with_deny_denies_every_other_resource(
    action: str, resource: str, expected: Result
) -> None:
    assert evaluate(as_role(action, resource), [PAYROLL_ONLY, EVERYTHING]) == expected


def test_not_resource_with_allow_grants_every_other_resource() -> None:
    all_but_secrets = policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::*/secrets/*"}
    )

    assert evaluate(as_role("s3:GetObject", BUCKET_OBJECT), [all_but_secrets]) == BY_IDENTITY
    assert evaluate(
        as_role("s3:GetObject", "arn:aws:s3:::docflow-documents/secrets/key"), [all_but_secrets]
    ) == implicit_deny("s3:GetObject")


def test_an_identity_statement_without_resource_or_not_resource_grants_nothing() -> None:
    malformed = policy({"Effect": "Allow", "Action": "s3:GetObject"})

    assert evaluate(as_role("s3:GetObject", BUCKET_OBJECT), [malformed]) == implicit_deny(
        "s3:GetObject"
    )


# -- "IAM JSON policy elements: Action" and "...: Resource": wildcards ---------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("SQS:SendMessage", "sqs:SendMessage", True),  # action names are case-insensitive
        ("sqs:*", "sqs:ReceiveMessage", True),
        ("s3:*Object", "s3:GetObject", True),
        ("s3:*Object", "s3:GetObjectVersion", False),
        ("iam:Get*", "iam:GetRole", True),
        ("ec2:Describe?pcs", "ec2:DescribeVpcs", True),
        ("*", "states:SendTaskSuccess", True),
        ("dynamodb:GetItem", "dynamodb:GetItems", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        (
            "arn:aws:iam::123456789012:user/accounting/*",
            "arn:aws:iam::123456789012:user/accounting/bob",
            True,
        ),
        ("arn:aws:s3:::my_corporate_bucket/*", "arn:aws:s3:::my_corporate_bucket/a/b/c.txt", True),
        ("arn:aws:s3:::my_corporate_bucket/*", "arn:aws:s3:::my_corporate_bucket", False),
        (
            "arn:aws:dynamodb:*:*:table/books_table",
            "arn:aws:dynamodb:us-east-2:123456789012:table/books_table",
            True,
        ),
        (
            "arn:aws:dynamodb:us-east-2:*:table/Books",
            "arn:aws:dynamodb:us-east-2:123456789012:table/books",
            False,
        ),
        (
            "arn:aws:sqs:us-east-?:123456789012:queue1",
            "arn:aws:sqs:us-east-2:123456789012:queue1",
            True,
        ),
        ("arn:aws:sqs:*:123456789012:queue1", "arn:aws:sqs:eu-west-1:123456789012:queue1", True),
        # In the resource segment it does: the resource part of an ARN may itself hold colons.
        (
            "arn:aws:lambda:us-east-1:123456789012:function:*",
            "arn:aws:lambda:us-east-1:123456789012:function:api:prod",
            True,
        ),
        ("*", "*", True),
        # An action without a resource type (the request's resource is "*") matches only "*".
        ("arn:aws:states:us-east-1:123456789012:stateMachine:x", "*", False),
    ],
)
def test_resource_wildcards(pattern: str, resource: str, matches: bool) -> None:
    assert resource_matches(pattern, resource) is matches


# -- "IAM JSON policy elements: Condition operators" ---------------------------------------------


def test_string_equals_is_case_sensitive_and_ignore_case_is_not() -> None:
    johndoe = {"aws:username": "JohnDoe"}

    assert not conditions_match({"StringEquals": {"aws:username": "johndoe"}}, johndoe)
    assert conditions_match({"StringEqualsIgnoreCase": {"aws:username": "johndoe"}}, johndoe)


def test_condition_key_names_are_not_case_sensitive() -> None:
    condition = {"IpAddress": {"aws:SourceIP": "203.0.113.0/24"}}

    assert conditions_match(condition, {"AWS:SourceIp": "203.0.113.7"})


LIST_HOME = policy(
    {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::BUCKET-NAME",
        "Condition": {"StringLike": {"s3:prefix": ["", "home/"]}},
    }
)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("", BY_IDENTITY), ("home/", BY_IDENTITY), ("home/other/", implicit_deny("s3:ListBucket"))],
)
def test_string_like_on_s3_prefix(prefix: str, expected: Result) -> None:
    request = as_role("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", **{"s3:prefix": prefix})

    assert evaluate(request, [LIST_HOME]) == expected


def test_string_like_wildcards_on_s3_prefix_as_docflow_grants_list_bucket() -> None:
    condition = {"StringLike": {"s3:prefix": ["incoming/*"]}}

    assert conditions_match(condition, {"s3:prefix": "incoming/owner-1/"})
    assert not conditions_match(condition, {"s3:prefix": "processed/"})
    assert not conditions_match(condition, {})  # a listing without a prefix is not limited to it


def test_numeric_less_than_equals_on_s3_max_keys() -> None:
    condition = {"NumericLessThanEquals": {"s3:max-keys": "10"}}

    assert conditions_match(condition, {"s3:max-keys": "10"})
    assert not conditions_match(condition, {"s3:max-keys": "11"})
    assert not conditions_match(condition, {"s3:max-keys": "ten"})


def test_date_greater_than_on_token_issue_time() -> None:
    condition = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}

    assert conditions_match(condition, {"aws:TokenIssueTime": "2020-06-01T00:00:00Z"})
    assert not conditions_match(condition, {"aws:TokenIssueTime": "2019-12-31T23:59:59Z"})
    assert not conditions_match(condition, {})  # no temporary credentials, no key


def test_ip_address_ranges_ipv4_and_ipv6() -> None:
    condition = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}

    assert conditions_match(condition, {"aws:SourceIp": "203.0.113.255"})
    assert conditions_match(condition, {"aws:SourceIp": "2001:db8:1234:5678::1"})
    assert not conditions_match(condition, {"aws:SourceIp": "198.51.100.1"})
    assert conditions_match(
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}
    )


def test_bool_secure_transport_deny_refuses_plain_http_only() -> None:
    boolean_example = policy(
        {
            "Sid": "BooleanExample",
            "Action": "s3:*",
            "Effect": "Deny",
            "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    obj = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a"
    over_tls = as_role("s3:GetObject", obj, **{"aws:SecureTransport": "true"})
    plain = as_role("s3:GetObject", obj, **{"aws:SecureTransport": "false"})

    assert evaluate(over_tls, [boolean_example, EVERYTHING]) == BY_IDENTITY
    assert evaluate(plain, [boolean_example, EVERYTHING]) == EXPLICIT_DENY_IDENTITY
    # The same statement as a bucket policy (docflow's documents bucket carries it).
    as_bucket_policy = policy({**boolean_example["Statement"][0], "Principal": "*"})
    assert evaluate(plain, [EVERYTHING], as_bucket_policy) == EXPLICIT_DENY_RESOURCE
    assert evaluate(over_tls, [EVERYTHING], as_bucket_policy) == BY_IDENTITY


def test_arn_equals_on_source_arn_for_sns_sending_to_a_queue() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:notify"
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:events"
    queue_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "SQS:SendMessage",
            "Resource": queue,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        }
    )

    def from_topic(arn: str) -> Request:
        return Request("sns.amazonaws.com", "sqs:SendMessage", queue, {"aws:SourceArn": arn})

    assert evaluate(from_topic(topic), [], queue_policy) == BY_RESOURCE
    assert evaluate(from_topic(f"{topic}-other"), [], queue_policy) == implicit_deny(
        "sqs:SendMessage", "resource"
    )


def test_arn_like_matches_each_arn_component_separately_where_string_like_does_not() -> None:
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"

    assert conditions_match({"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert not conditions_match({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert not conditions_match({"ArnEquals": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert conditions_match({"ArnNotLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    matching = "arn:aws:someservice:us-east-2:111122223333:finance/2026/document.txt"
    assert conditions_match({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": matching})


# -- "...: Condition operators": keys missing from the request ---------------------------------


@pytest.mark.parametrize(
    ("operator", "matches"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("ArnLike", False),
        ("NumericLessThan", False),
        ("Bool", False),
        # Negated operators are true when the key is absent.
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotLike", True),
        ("NotIpAddress", True),
        # ...IfExists: an absent key does not fail the condition.
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("ArnLikeIfExists", True),
    ],
)
def test_an_absent_key_fails_a_condition_unless_negated_or_if_exists(
    operator: str, matches: bool
) -> None:
    value = "10" if operator.startswith("Numeric") else "x"
    if operator.endswith(("IpAddress", "IpAddressIfExists")):
        value = "203.0.113.0/24"

    assert conditions_match({operator: {"aws:SomeKey": value}}, {}) is matches


def test_deny_with_a_negated_operator_still_denies_when_the_tag_is_missing() -> None:
    # "If you are using an "Effect": "Deny" element with a negated condition operator like
    # StringNotEqualsIfExists, the request is still denied even if the tag is missing."
    deny_other_teams = policy(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "docflow"}},
        }
    )
    without_if_exists = policy(
        {
            **deny_other_teams["Statement"][0],
            "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "docflow"}},
        }
    )
    untagged = as_role("s3:GetObject", BUCKET_OBJECT)
    docflow = as_role("s3:GetObject", BUCKET_OBJECT, **{"aws:PrincipalTag/team": "docflow"})
    billing = as_role("s3:GetObject", BUCKET_OBJECT, **{"aws:PrincipalTag/team": "billing"})

    for deny in (deny_other_teams, without_if_exists):
        assert evaluate(untagged, [deny, EVERYTHING]) == EXPLICIT_DENY_IDENTITY
        assert evaluate(billing, [deny, EVERYTHING]) == EXPLICIT_DENY_IDENTITY
        assert evaluate(docflow, [deny, EVERYTHING]) == BY_IDENTITY


def test_if_exists_lets_a_statement_cover_resources_without_the_key() -> None:
    does_not_work = {"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}
    works = {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}

    assert not conditions_match(does_not_work, {})  # an image has no instance type
    assert conditions_match(works, {})
    assert conditions_match(works, {"ec2:InstanceType": "t2.micro"})
    assert not conditions_match(works, {"ec2:InstanceType": "m5.large"})


def test_null_checks_whether_a_key_is_present() -> None:
    no_temporary_credentials = {"Null": {"aws:TokenIssueTime": "true"}}
    temporary_credentials = {"Null": {"aws:TokenIssueTime": "false"}}
    issued = {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}

    assert conditions_match(no_temporary_credentials, {})
    assert not conditions_match(no_temporary_credentials, issued)
    assert conditions_match(temporary_credentials, issued)
    assert not conditions_match(temporary_credentials, {})


def test_keys_in_a_block_are_anded_and_values_of_a_key_are_ored() -> None:
    condition = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:PrincipalTag/team": ["docflow", "ops"]}
    }

    assert conditions_match(
        condition, {"aws:SourceAccount": ACCOUNT, "aws:PrincipalTag/team": "ops"}
    )
    assert not conditions_match(condition, {"aws:SourceAccount": ACCOUNT})
    assert not conditions_match(
        condition, {"aws:SourceAccount": "210987654321", "aws:PrincipalTag/team": "ops"}
    )


def test_an_operator_the_evaluator_does_not_know_is_refused_not_guessed() -> None:
    with pytest.raises(UnsupportedConditionError, match="StringSortOf"):
        conditions_match({"StringSortOf": {"aws:SomeKey": "x"}}, {"aws:SomeKey": "x"})


# -- "Creating a condition that tests multiple key values (set operations)" ---------------------

THREAD = "arn:aws:dynamodb:us-east-1:123456789012:table/Thread"
ONLY_SOME_ATTRIBUTES = policy(
    {
        "Effect": "Allow",
        "Action": "dynamodb:GetItem",
        "Resource": THREAD,
        "Condition": {
            "ForAllValues:StringLike": {
                "dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]
            }
        },
    }
)
NO_ID_OR_DATE_UPDATES = policy(
    {
        "Effect": "Deny",
        "Action": "dynamodb:PutItem",
        "Resource": THREAD,
        "Condition": {
            "ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}
        },
    }
)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (["PostDateTime", "Message"], BY_IDENTITY),
        (["PostDateTime", "UserName"], implicit_deny("dynamodb:GetItem")),
        ([], BY_IDENTITY),  # an empty set: ForAllValues is true
    ],
)
def test_for_all_values_requires_every_requested_value_to_match(
    attributes: list[str], expected: Result
) -> None:
    request = as_role("dynamodb:GetItem", THREAD, **{"dynamodb:requestedAttributes": attributes})

    assert evaluate(request, [ONLY_SOME_ATTRIBUTES]) == expected


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (["UserName", "Message", "PostDateTime"], EXPLICIT_DENY_IDENTITY),
        (["UserName"], BY_IDENTITY),
        ([], BY_IDENTITY),  # an empty set: ForAnyValue is false, so the Deny does not apply
    ],
)
def test_for_any_value_matches_when_one_requested_value_does(
    attributes: list[str], expected: Result
) -> None:
    request = as_role("dynamodb:PutItem", THREAD, **{"dynamodb:requestedAttributes": attributes})

    assert evaluate(request, [NO_ID_OR_DATE_UPDATES, EVERYTHING]) == expected


def test_set_operators_with_an_absent_key() -> None:
    assert conditions_match({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {})
    assert not conditions_match({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {})


def test_negated_set_operators() -> None:
    forbidden = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret", "owner"]}}
    one_allowed = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret", "owner"]}}

    assert conditions_match(forbidden, {"aws:TagKeys": ["team", "stage"]})
    assert not conditions_match(forbidden, {"aws:TagKeys": ["team", "owner"]})
    assert conditions_match(one_allowed, {"aws:TagKeys": ["team", "owner"]})
    assert not conditions_match(one_allowed, {"aws:TagKeys": ["secret", "owner"]})
