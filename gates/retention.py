"""Retention gate: a stage that keeps data keeps all of it; one that does not, keeps none.

With `retainData: true` (prod) every table and bucket holding documents is kept on stack
removal and replacement (DeletionPolicy and UpdateReplacePolicy Retain), tables have
point-in-time recovery (and deletion protection when the stage asks for it), buckets
are versioned. With `retainData: false` (local, dev) nothing is retained, so removing a
stage leaves no orphans. The framework's deployment bucket holds only build artifacts
and is left out. Exemptions name the resource and the reason: in EXEMPT below, or on the
resource itself as `Metadata: {RetentionExempt: <reason>}` next to its definition.
"""

from __future__ import annotations

from gates.findings import Finding
from gates.template import Template, props, resources

# Data stores whose loss on stack removal costs nothing worth keeping.
EXEMPT: dict[str, str] = {
    "ServerlessDeploymentBucket": "build artifacts, re-created by every deploy",
    "IdempotencyTable": (
        "idempotency keys expire within a day; losing them on stack removal only means an "
        "event delivered before the removal could be processed again after re-creation"
    ),
    "BreakersTable": (
        "webhook circuit-breaker state; losing it closes every breaker, which the next "
        "failures re-open"
    ),
}

_STORES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket")


def check(template: Template, retain: bool, deletion_protection: bool = False) -> list[Finding]:
    found: list[Finding] = []
    for rid, res in resources(template, *_STORES).items():
        reason = (res.get("Metadata") or {}).get("RetentionExempt")
        if rid in EXEMPT or (isinstance(reason, str) and reason.strip()):
            continue
        body = props(res)
        policies = {k: res.get(k, "Delete") for k in ("DeletionPolicy", "UpdateReplacePolicy")}
        if not retain:
            for key, value in policies.items():
                if value == "Retain":
                    found.append(
                        Finding("retention", rid, f"{key} Retain on a stage that keeps no data")
                    )
            continue
        for key, value in policies.items():
            if value != "Retain":
                found.append(Finding("retention", rid, f"{key} is {value!r}, expected 'Retain'"))
        if res["Type"] == "AWS::DynamoDB::Table":
            pitr = body.get("PointInTimeRecoverySpecification", {})
            if pitr.get("PointInTimeRecoveryEnabled") not in (True, "true"):
                found.append(Finding("retention", rid, "point-in-time recovery is off"))
            if deletion_protection and body.get("DeletionProtectionEnabled") not in (True, "true"):
                found.append(Finding("retention", rid, "deletion protection is off"))
        else:
            versioning = body.get("VersioningConfiguration", {})
            if versioning.get("Status") != "Enabled":
                found.append(Finding("retention", rid, "bucket versioning is not enabled"))
    return found
