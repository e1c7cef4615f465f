"""The bootstrap stack (deploy/bootstrap.yml): its policies, and its execution roles' coverage.

`python -m gates all` runs cfn-lint and checkov on deploy/bootstrap.yml like on the compiled
templates, the IAM gate and the static IAM check on its policies (parameters replaced by
sample values), and `coverage` against each stage's compiled template: the CloudFormation
execution role of a stage must grant every permission the CloudFormation registry lists for
the create, read, update and delete handlers of each resource type the stage's stack holds
(cfn-lint ships the registry's schemas), except the ones below, each for a property docflow
does not use. A resource type added to serverless.yml without its permissions fails here,
before a deploy fails on AccessDenied.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gates import iam, iam_reference
from gates.findings import Finding
from gates.template import Template, as_list, props, resources

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "deploy" / "bootstrap.yml"
ENVIRONMENTS = ("dev", "prod")
# What the gates substitute for parameters without a default.
SAMPLE_PARAMETERS = {"GitHubRepository": "octo-org/docflow"}
_HANDLERS = ("create", "read", "update", "delete")

# Handler permissions docflow's stack never needs, each with the property that would.
NOT_NEEDED: dict[str, str] = {
    "iam:PassRole": "granted per role and service in its own statement",
    "kms:*": "no customer-managed KMS key: the stack uses AWS-owned or AWS-managed keys",
    "ec2:*": "no VpcConfig: the functions run outside a VPC (checkov-skips CKV_AWS_117)",
    "elasticfilesystem:*": "no FileSystemConfigs",
    "s3files:*": "no FileSystemConfigs",
    "s3tables:*": "no S3 Tables (MetadataTableConfiguration)",
    "firehose:*": "no log delivery to Firehose",
    "s3:REST.PUT.OBJECT": "not an IAM action (the registry's log-group schema lists it)",
    "lambda:AssociateRuntimeAlias": "no runtime alias (RuntimeManagementConfig stays Auto)",
    "lambda:PassCapacityProvider": "no CapacityProviderConfig",
    "lambda:GetCodeSigningConfig": "no CodeSigningConfigArn",
    "lambda:PutFunctionCodeSigningConfig": "no CodeSigningConfigArn",
    "lambda:DeleteFunctionCodeSigningConfig": "no CodeSigningConfigArn",
    "lambda:PutFunctionRecursionConfig": "no RecursiveLoop setting (Lambda's default applies)",
    "lambda:PutRuntimeManagementConfig": "no RuntimeManagementConfig",
    "lambda:*FunctionScalingConfig": "no FunctionScalingConfig (capacity providers)",
    "s3:*AnalyticsConfiguration": "no AnalyticsConfigurations on the buckets",
    "s3:*InventoryConfiguration": "no InventoryConfigurations",
    "s3:*MetricsConfiguration": "no MetricsConfigurations",
    "s3:*IntelligentTieringConfiguration": "no IntelligentTieringConfigurations (read kept)",
    "s3:*MetadataTableConfiguration": "no MetadataTableConfiguration",
    "s3:*Metadata*TableConfiguration": "no MetadataTableConfiguration",
    "s3:*Replication*": "no ReplicationConfiguration",
    "s3:*BucketWebsite": "no WebsiteConfiguration",
    "s3:*AccelerateConfiguration": "no AccelerateConfiguration",
    "s3:*BucketCors": "no CorsConfiguration",
    "s3:PutBucketCORS": "no CorsConfiguration",
    "s3:PutBucketLogging": "no LoggingConfiguration (checkov-skips CKV_AWS_18)",
    "s3:*ObjectLockConfiguration": "no ObjectLockConfiguration",
    "s3:PutBucketAcl": "no AccessControl: ownership is BucketOwnerEnforced",
    "s3:PutObjectAcl": "no AccessControl: ownership is BucketOwnerEnforced",
    "s3:*BucketAbac": "no attribute-based access control on the buckets",
    "s3:DeleteObject": "CloudFormation never empties docflow's buckets",
    "s3:DeleteBucketEncryption": "encryption is always configured",
    "s3:DeleteBucketLifecycle": "lifecycle rules are always configured",
    "s3:TagResource": "bucket tags go through s3:PutBucketTagging",
    "s3:UntagResource": "bucket tags go through s3:PutBucketTagging",
    "s3:ListTagsForResource": "bucket tags are read through s3:GetBucketTagging",
    "s3:GetObjectMetadata": "no DynamoDB ImportSourceSpecification",
    "dynamodb:*TableReplica": "no global table replicas",
    "dynamodb:ImportTable": "no ImportSourceSpecification",
    "dynamodb:DescribeImport": "no ImportSourceSpecification",
    "dynamodb:*KinesisStreamingDestination": "no KinesisStreamSpecification (read kept)",
    "dynamodb:*ResourcePolicy": "no ResourcePolicy on the tables (read kept)",
    "dynamodb:UpdateContributorInsights": "no ContributorInsightsSpecification",
    "dynamodb:BatchWriteItem": "no ImportSourceSpecification",
    "dynamodb:PutItem": "no ImportSourceSpecification",
    "dynamodb:GetItem": "no ImportSourceSpecification",
    "dynamodb:UpdateItem": "no ImportSourceSpecification",
    "dynamodb:DeleteItem": "no ImportSourceSpecification",
    "dynamodb:Query": "no ImportSourceSpecification",
    "dynamodb:Scan": "no ImportSourceSpecification",
    "iam:CreateServiceLinkedRole": "no table replicas or autoscaling",
    "kinesis:DescribeStream": "no KinesisStreamSpecification on the tables",
    "kinesis:PutRecords": "no KinesisStreamSpecification on the tables",
    "iam:*RolePermissionsBoundary": "no PermissionsBoundary on the stack's roles",
    "kinesis:UpdateStreamMode": "provisioned mode with the shard count from the config",
    "kinesis:UpdateMaxRecordSize": "no MaxRecordSizeInKiB",
    "kinesis:UpdateStreamWarmThroughput": "no WarmThroughput",
    "kinesis:UpdateStreamRecordDistributionStrategy": "no record distribution setting",
    "kinesis:TagResource": "stream tags go through kinesis:AddTagsToStream",
    "kinesis:UntagResource": "stream tags go through kinesis:RemoveTagsFromStream",
    "kinesis:ListTagsForResource": "stream tags are read through kinesis:ListTagsForStream",
    "logs:*Index*Policy": "no FieldIndexPolicies (describe kept)",
    "logs:PutDataProtectionPolicy": "no DataProtectionPolicy",
    "logs:DeleteDataProtectionPolicy": "no DataProtectionPolicy",
    "logs:PutBearerTokenAuthentication": "no BearerTokenAuthenticationEnabled",
    "logs:PutLogGroupDeletionProtection": "no DeletionProtectionEnabled on log groups",
    "logs:AssociateKmsKey": "no KmsKeyId",
    "logs:DisassociateKmsKey": "no KmsKeyId",
    "logs:DeleteResourcePolicy": "the log resource policy is the vended deliveries' (kept)",
    "logs:CreateLogStream": "no DynamoDB import logging",
    "logs:DescribeLogStreams": "no DynamoDB import logging",
    "logs:PutLogEvents": "no DynamoDB import logging",
    "sns:PutDataProtectionPolicy": "no DataProtectionPolicy on the topics",
    "secretsmanager:ReplicateSecretToRegions": "no ReplicaRegions",
    "secretsmanager:RemoveRegionsFromReplication": "no ReplicaRegions",
    "billing:GetBillingViewData": "the budget names no BillingViewArn",
    "codedeploy:RegisterOnPremisesInstance": "Lambda deployment groups, no on-premises instances",
    "apigateway:TagResource": "HTTP API tags go through apigateway:POST/DELETE on /tags",
    "apigateway:UntagResource": "HTTP API tags go through apigateway:POST/DELETE on /tags",
    "s3:getObject": "no HTTP API import from an S3 body (BodyS3Location)",
    "events:TagResource": "granted (rules carry no tags today); listed for completeness",
}


def load(path: Path = BOOTSTRAP) -> dict[str, Any]:
    """The template as plain data, short-form intrinsics (!Sub) in their long form."""
    from cfnlint.decode import cfn_yaml

    data: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(path))))
    return data


def with_parameters(template: Template, values: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`template` with each parameter's Ref and ${Name} replaced by a value (its Default, or
    SAMPLE_PARAMETERS), so the gates that resolve intrinsics can read the policies."""
    chosen = {
        name: str(spec.get("Default", SAMPLE_PARAMETERS.get(name, "")))
        for name, spec in template.get("Parameters", {}).items()
    }
    chosen.update(values or {})

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, Mapping):
            if set(value) == {"Ref"} and value["Ref"] in chosen:
                return chosen[value["Ref"]]
            if set(value) == {"Fn::Sub"}:
                sub = value["Fn::Sub"]
                text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
                for name, replacement in chosen.items():
                    if name not in variables:
                        text = text.replace("${" + name + "}", replacement)
                return {"Fn::Sub": text if not variables else [text, walk(variables)]}
            return {k: walk(v) for k, v in value.items()}
        return value

    result: dict[str, Any] = walk(dict(template))
    return result


def check(template: Template) -> list[Finding]:
    """The IAM gate and the static IAM check on the bootstrap's policies."""
    concrete = with_parameters(template)
    return [*iam.check(concrete), *iam_reference.check(concrete)]


@functools.cache
def handler_permissions() -> dict[str, frozenset[str]]:
    """Resource type -> the permissions of its create/read/update/delete handlers (registry)."""
    import cfnlint

    found: dict[str, frozenset[str]] = {}
    for path in (Path(cfnlint.__file__).parent / "data" / "schemas" / "resources").glob("*.json"):
        schema = json.loads(path.read_text())
        handlers = schema.get("handlers")
        if isinstance(schema.get("typeName"), str) and isinstance(handlers, Mapping):
            found[schema["typeName"]] = frozenset(
                p for h in _HANDLERS for p in handlers.get(h, {}).get("permissions", [])
            )
    return found


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(text).replace(r"\*", ".*") + "$", re.IGNORECASE)


def _not_needed(permission: str) -> bool:
    return any(_pattern(p).match(permission) for p in NOT_NEEDED)


def execution_role(template: Template, environment: str) -> Mapping[str, Any]:
    name = f"{environment.capitalize()}ExecutionRole"
    role = resources(template, "AWS::IAM::Role").get(name)
    if role is None:
        raise KeyError(f"{BOOTSTRAP.name} has no {name}")
    return role


def granted_actions(role: Mapping[str, Any]) -> list[str]:
    """Every action an Allow statement of the role's inline policies names."""
    return [
        str(action)
        for policy in props(role).get("Policies", [])
        for statement in as_list(policy.get("PolicyDocument", {}).get("Statement", []))
        if statement.get("Effect") == "Allow"
        for action in as_list(statement.get("Action", []))
    ]


def missing_permissions(
    bootstrap: Template, environment: str, compiled: Template
) -> dict[str, list[str]]:
    """Resource type -> handler permissions the environment's execution role does not grant."""
    granted = [_pattern(a) for a in granted_actions(execution_role(bootstrap, environment))]
    registry = handler_permissions()
    missing: dict[str, list[str]] = {}
    for rtype in sorted({str(r.get("Type")) for r in resources(compiled).values()}):
        if rtype not in registry:
            missing[rtype] = ["(no registry schema: list its permissions by hand)"]
            continue
        lacking = sorted(
            p
            for p in registry[rtype]
            if not _not_needed(p) and not any(g.match(p) for g in granted)
        )
        if lacking:
            missing[rtype] = lacking
    return missing


def managed_policies(compiled: Template) -> set[str]:
    """The managed policy ARNs the stack's roles attach (as written, ${AWS::Partition} kept)."""
    found: set[str] = set()
    for res in resources(compiled, "AWS::IAM::Role").values():
        for arn in as_list(props(res).get("ManagedPolicyArns", [])):
            text = arn if isinstance(arn, str) else json.dumps(arn)
            found.add(text.replace("arn:aws:", "arn:${AWS::Partition}:"))
    return found


def _attachable(role: Mapping[str, Any]) -> set[str]:
    allowed: set[str] = set()
    for policy in props(role).get("Policies", []):
        for statement in as_list(policy.get("PolicyDocument", {}).get("Statement", [])):
            if "iam:AttachRolePolicy" in as_list(statement.get("Action", [])):
                block = statement.get("Condition", {}).get("ArnEquals", {})
                for arn in as_list(block.get("iam:PolicyARN", [])):
                    allowed.add(arn.get("Fn::Sub", "") if isinstance(arn, Mapping) else str(arn))
    return allowed


def coverage(bootstrap: Template, environment: str, compiled: Template) -> list[Finding]:
    """Findings: what the environment's stack needs that its execution role does not grant."""
    where = f"{environment.capitalize()}ExecutionRole"
    findings = [
        Finding("bootstrap", where, f"{rtype} needs {', '.join(perms)}")
        for rtype, perms in missing_permissions(bootstrap, environment, compiled).items()
    ]
    attachable = _attachable(execution_role(bootstrap, environment))
    findings += [
        Finding(
            "bootstrap", where, f"a role attaches {arn}, which iam:AttachRolePolicy does not allow"
        )
        for arn in sorted(managed_policies(compiled) - attachable)
    ]
    return findings


def stage_findings(stages: Iterable[tuple[str, Template]]) -> list[Finding]:
    """Coverage of every deployed stage (dev, prod) given as (stage, compiled template)."""
    bootstrap = load()
    return [
        f
        for stage, compiled in stages
        if stage in ENVIRONMENTS
        for f in coverage(bootstrap, stage, compiled)
    ]
