"""IAM gate: no wildcard action, no wildcard resource beyond those AWS requires.

An Allow statement fails when it grants `*` or `service:*`, uses NotAction or NotResource,
grants to every principal without a condition, or names a resource `*` (or an ARN whose
resource part is only a wildcard) for an action that supports resource-level permissions.
The exceptions are the actions below, for which AWS accepts nothing but `*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from gates.findings import Finding
from gates.template import Template, as_list, props, resources, text_of

# Actions that AWS authorises only on Resource "*" (no resource-level permissions).
STAR_RESOURCE_ACTIONS: dict[str, str] = {
    # X-Ray: trace segments and sampling have no resource ARNs (Lambda and Step Functions
    # tracing; serverless adds these two to every role when tracing is on).
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
    # CloudWatch metrics have no ARN; restrict with the cloudwatch:namespace condition.
    "cloudwatch:PutMetricData": "metrics have no resource ARN",
    # Step Functions logging to CloudWatch Logs: AWS documents these on "*" only.
    "logs:CreateLogDelivery": "vended log delivery has no resource ARN",
    "logs:GetLogDelivery": "vended log delivery has no resource ARN",
    "logs:UpdateLogDelivery": "vended log delivery has no resource ARN",
    "logs:DeleteLogDelivery": "vended log delivery has no resource ARN",
    "logs:ListLogDeliveries": "vended log delivery has no resource ARN",
    "logs:PutResourcePolicy": "vended log delivery needs the account's log resource policy",
    "logs:DescribeResourcePolicies": "account-level list, no resource ARN",
    "logs:DescribeLogGroups": "account-level list, no resource ARN",
    # The decision endpoint resumes a waiting execution by its task token; the token is the
    # capability, the task-token actions have no resource type (a state machine ARN never
    # matches them).
    "states:SendTaskSuccess": "task-token actions have no resource type; the token scopes them",
    # Lambda's stream pollers (event source mappings) list the account's streams; both
    # actions have no resource type and return stream names and ARNs, no records.
    "dynamodb:ListStreams": "account-level list of stream ARNs, no resource type",
    "kinesis:ListStreams": "account-level list of stream names, no resource type",
    # The bootstrap's roles (deploy/bootstrap.yml): what deploying the stack needs.
    "cloudformation:ValidateTemplate": "validates a template body, no resource type",
    "lambda:CreateEventSourceMapping": (
        "the mapping does not exist yet (no resource type); the bootstrap scopes it with the "
        "lambda:FunctionArn condition"
    ),
    "secretsmanager:GetRandomPassword": "GenerateSecretString, no resource type",
    "sns:Unsubscribe": "a subscription is not an IAM resource type",
    "sns:GetSubscriptionAttributes": "a subscription is not an IAM resource type",
    "sns:SetSubscriptionAttributes": "a subscription is not an IAM resource type",
    "kinesis:UpdateShardCount": "no resource type in the IAM reference parliament ships",
    "kinesis:EnableEnhancedMonitoring": "no resource type in the IAM reference parliament ships",
    "kinesis:DisableEnhancedMonitoring": "no resource type in the IAM reference parliament ships",
    "logs:DescribeIndexPolicies": "account-level describe, no resource type",
    # Saved Logs Insights queries (resources/observability.yml): no resource type.
    "logs:PutQueryDefinition": "a query definition is not an IAM resource type",
    "logs:DescribeQueryDefinitions": "a query definition is not an IAM resource type",
    "logs:DeleteQueryDefinition": "a query definition is not an IAM resource type",
    "codedeploy:StopDeployment": "no resource type (a deployment id)",
}

# Actions on resources named by an id AWS assigns (a UUID, an account's AWS-managed key id):
# an ARN with a wildcard id (event-source-mapping:*, key/*) is accepted, never "*" itself.
ASSIGNED_ID_ACTIONS: dict[str, str] = {
    "lambda:GetEventSourceMapping": "event source mappings are named by the UUID Lambda assigns",
    "lambda:UpdateEventSourceMapping": "event source mappings are named by the UUID Lambda assigns",
    "lambda:DeleteEventSourceMapping": "event source mappings are named by the UUID Lambda assigns",
    "lambda:ListTags": "event source mappings are named by the UUID Lambda assigns",
    "lambda:TagResource": "event source mappings are named by the UUID Lambda assigns",
    "lambda:UntagResource": "event source mappings are named by the UUID Lambda assigns",
    "kinesis:StartStreamEncryption": "the AWS-managed key alias/aws/kinesis has a per-account id",
    "kinesis:StopStreamEncryption": "the AWS-managed key alias/aws/kinesis has a per-account id",
}

# Policy documents live in these properties of these resource types.
_POLICY_HOLDERS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": ("Policies",),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
}

_BROAD_MANAGED = re.compile(r"(AdministratorAccess|PowerUserAccess|IAMFullAccess|FullAccess)$")
# The resource part of an ARN that is nothing but a wildcard, optionally after a type:
# arn:aws:s3:::*, arn:...:table/*, arn:...:function:* (S3 ARNs have no type: bucket/* is fine).
_BROAD_PART = re.compile(r"^(?:[A-Za-z-]+[/:])?\*$")


_STAR_OR_ASSIGNED = {**STAR_RESOURCE_ACTIONS, **ASSIGNED_ID_ACTIONS}


def _is_broad(arn: str) -> bool:
    if arn == "*":
        return True
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    service, part = parts[2], parts[5]
    return part == "*" if service == "s3" else bool(_BROAD_PART.match(part))


def policy_documents(template: Template) -> Iterator[tuple[str, Any]]:
    """(where, document) for every policy document: role inline policies, IAM policies and
    the resource policies above. Shared with the static IAM check (gates/iam_reference.py).
    """
    for rid, res in resources(template, *_POLICY_HOLDERS).items():
        body = props(res)
        if res["Type"] == "AWS::IAM::Role":
            for policy in body.get("Policies", []) or []:
                name = text_of(policy.get("PolicyName")) or "?"
                yield f"{rid} policy {name}", policy.get("PolicyDocument", {})
        else:
            (key,) = _POLICY_HOLDERS[res["Type"]]
            yield rid, body.get(key, {})


def _documents(template: Template) -> Iterator[tuple[str, Any]]:
    yield from policy_documents(template)
    for rid, res in resources(template, "AWS::IAM::Role").items():
        body = props(res)
        for arn in as_list(body.get("ManagedPolicyArns", [])):
            text = text_of(arn) or ""
            if _BROAD_MANAGED.search(text):
                yield (
                    f"{rid} managed {text}",
                    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                )


def check(template: Template) -> list[Finding]:
    findings: list[Finding] = []
    for where, document in _documents(template):
        if not isinstance(document, Mapping):
            continue
        for index, statement in enumerate(as_list(document.get("Statement", []))):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue  # Deny statements may be as broad as they like
            findings += _check_statement(f"{where} statement {index}", statement)
    return findings


def _check_statement(where: str, statement: Mapping[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for key in ("NotAction", "NotResource"):
        if key in statement:
            found.append(Finding("iam", where, f"Allow with {key} grants everything else"))
    actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
    for action in actions:
        if action == "*" or action.endswith(":*"):
            found.append(Finding("iam", where, f"wildcard action {action!r}: list the actions"))
    principal = statement.get("Principal")
    if (principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*")) and (
        "Condition" not in statement
    ):
        found.append(Finding("iam", where, "Allow to every principal without a condition"))
    for resource in as_list(statement.get("Resource", [])):
        text = text_of(resource)
        if text is None:
            continue  # Ref / GetAtt: one specific resource
        concrete = re.sub(r"\$\{[^}]+\}", "x", text)
        if _is_broad(concrete):
            accepted = STAR_RESOURCE_ACTIONS if concrete == "*" else _STAR_OR_ASSIGNED
            needing = sorted(a for a in actions if a not in accepted)
            if needing:
                found.append(
                    Finding(
                        "iam",
                        where,
                        f"wildcard resource {text!r} for {', '.join(needing)}: these actions "
                        "support resource-level permissions, name the resources",
                    )
                )
    return found
