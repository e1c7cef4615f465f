"""Dead-letter gate: nothing that fails asynchronously disappears.

- every SQS queue that is not itself a dead-letter queue has a redrive policy;
- every function AWS invokes asynchronously (S3, SNS, EventBridge) has an on-failure
  destination or a dead-letter queue;
- every stream event source mapping (Kinesis, DynamoDB) has an on-failure destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gates.findings import Finding
from gates.template import Template, dead_letter_queue_ids, props, resources, target_id, text_of

_ASYNC_PRINCIPALS = {"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"}
_ANY_QUALIFIER = "*"


def _invoked(template: Template, value: Any) -> tuple[str | None, str]:
    """(function id, qualifier) a Ref or Fn::GetAtt invokes: an alias is its function's Name."""
    rid = target_id(value)
    res = template.get("Resources", {}).get(rid or "", {})
    if res.get("Type") == "AWS::Lambda::Alias":
        return target_id(props(res).get("FunctionName")), str(props(res).get("Name"))
    return rid, "$LATEST"


def _on_failure(config: Mapping[str, Any]) -> bool:
    destination = config.get("DestinationConfig", {})
    return isinstance(destination, Mapping) and bool(
        destination.get("OnFailure", {}).get("Destination")
    )


def check(template: Template) -> list[Finding]:
    found: list[Finding] = []
    dlqs = dead_letter_queue_ids(template)
    for rid, res in resources(template, "AWS::SQS::Queue").items():
        if rid not in dlqs and not props(res).get("RedrivePolicy"):
            found.append(
                Finding(
                    "dlq",
                    rid,
                    "queue has no RedrivePolicy: add a <name>-dlq queue and a redrive policy",
                )
            )

    # Asynchronous invocation settings apply per qualifier: an EventInvokeConfig on $LATEST
    # does not cover invocations of an alias (a canary's), so targets are (function, qualifier).
    protected: set[tuple[str | None, str]] = {
        (target_id(props(res).get("FunctionName")), str(props(res).get("Qualifier", "$LATEST")))
        for res in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if _on_failure(props(res))
    }
    protected |= {
        (rid, _ANY_QUALIFIER)
        for rid, res in resources(template, "AWS::Lambda::Function").items()
        if props(res).get("DeadLetterConfig", {}).get("TargetArn")
    }
    # EventBridge can keep what it failed to deliver in the target's own dead-letter queue.
    for rule in resources(template, "AWS::Events::Rule").values():
        for target in props(rule).get("Targets", []) or []:
            if (target.get("DeadLetterConfig") or {}).get("Arn"):
                protected.add((_invoked(template, target.get("Arn"))[0], _ANY_QUALIFIER))
    for rid, res in resources(template, "AWS::Lambda::Permission").items():
        body = props(res)
        function, qualifier = _invoked(template, body.get("FunctionName"))
        covered = {(function, qualifier), (function, _ANY_QUALIFIER)} & protected
        if body.get("Principal") in _ASYNC_PRINCIPALS and function and not covered:
            where = target_id(body.get("FunctionName")) or function
            found.append(
                Finding(
                    "dlq",
                    where,
                    f"invoked asynchronously by {body['Principal']} ({rid}) without an "
                    "on-failure destination or dead-letter queue: failed events would be lost"
                    + ("" if qualifier == "$LATEST" else f" (none for qualifier {qualifier})"),
                )
            )

    for rid, res in resources(template, "AWS::Lambda::EventSourceMapping").items():
        body = props(res)
        source = text_of(body.get("EventSourceArn")) or ""
        stream = target_id(body.get("EventSourceArn"))
        is_stream = ":kinesis:" in source or ":dynamodb:" in source
        if stream:
            kind = template.get("Resources", {}).get(stream, {}).get("Type", "")
            is_stream = is_stream or kind in ("AWS::Kinesis::Stream", "AWS::DynamoDB::Table")
        if is_stream and not _on_failure(body):
            found.append(
                Finding(
                    "dlq",
                    rid,
                    "stream event source mapping without DestinationConfig.OnFailure: "
                    "a poison record would block its shard until it expires",
                )
            )
    return found
