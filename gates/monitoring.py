"""Monitoring and cost gate: what must exist in every stage's compiled template.

- an alarm topic with the stage's e-mail subscribers;
- for every function: errors, throttles and duration-near-timeout alarms;
- for every dead-letter queue: a depth alarm; for every state machine: failed, timed-out,
  throttled and aborted execution alarms; for every Kinesis stream: an iterator-age alarm;
  for every DynamoDB stream consumer: Lambda's iterator age; for every queue a function
  consumes (dead-letter queues aside): the age of its oldest message; for every HTTP API: a
  5xx-rate alarm; every alarm notifies the alarm topic;
- a dashboard; a monthly budget notifying at 80 % and 100 %;
- log retention on every log group; X-Ray tracing on functions and state machines when the
  stage traces; reserved concurrency as the stage config sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gates.findings import Finding
from gates.template import (
    Template,
    dead_letter_queue_ids,
    function_ids_by_name,
    props,
    resources,
    target_id,
    text_of,
)


def _alarm_targets(template: Template) -> dict[tuple[str, str], list[str]]:
    """(metric name, logical id the alarm's dimensions point at) -> alarm ids."""
    names = function_ids_by_name(template)
    index: dict[tuple[str, str], list[str]] = {}
    for rid, res in resources(template, "AWS::CloudWatch::Alarm").items():
        body = props(res)
        stats = [(body.get("MetricName"), body.get("Dimensions", []))]
        for metric in body.get("Metrics", []) or []:
            stat = metric.get("MetricStat", {}).get("Metric", {})
            stats.append((stat.get("MetricName"), stat.get("Dimensions", [])))
        for metric_name, dimensions in stats:
            for dimension in dimensions or []:
                value = dimension.get("Value")
                target = target_id(value) or names.get(text_of(value) or "", "")
                if metric_name and target:
                    index.setdefault((str(metric_name), target), []).append(rid)
    return index


def _consumers(template: Template) -> tuple[list[str], set[str]]:
    """(functions consuming a DynamoDB stream, queues a function consumes), by logical id."""
    all_resources = template.get("Resources", {})
    stream_consumers: set[str] = set()
    queues: set[str] = set()
    for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
        body = props(mapping)
        function = target_id(body.get("FunctionName"))
        target = all_resources.get(function or "", {})
        if target.get("Type") == "AWS::Lambda::Alias":
            function = target_id(props(target).get("FunctionName"))
        source = target_id(body.get("EventSourceArn"))
        kind = all_resources.get(source or "", {}).get("Type", "")
        text = text_of(body.get("EventSourceArn")) or ""
        if function and (kind == "AWS::DynamoDB::Table" or ":dynamodb:" in text):
            stream_consumers.add(function)
        elif source and kind == "AWS::SQS::Queue":
            queues.add(source)
    return sorted(stream_consumers), queues


def _notifies_topic(template: Template, alarm: Mapping[str, Any]) -> bool:
    topics = resources(template, "AWS::SNS::Topic")
    return any(target_id(a) in topics for a in props(alarm).get("AlarmActions", []) or [])


def check(template: Template, config: Mapping[str, Any], stage: str) -> list[Finding]:
    found: list[Finding] = []

    def need(metric: str, rid: str, what: str) -> None:
        if (metric, rid) not in targets:
            found.append(Finding("monitoring", rid, f"no alarm on {metric} ({what})"))

    targets = _alarm_targets(template)
    for rid in resources(template, "AWS::Lambda::Function"):
        need("Errors", rid, "function errors")
        need("Throttles", rid, "function throttles")
        need("Duration", rid, "duration near the timeout")
    for rid in sorted(dead_letter_queue_ids(template)):
        need("ApproximateNumberOfMessagesVisible", rid, "dead-letter queue depth")
    for rid in resources(template, "AWS::StepFunctions::StateMachine"):
        need("ExecutionsFailed", rid, "failed executions")
        need("ExecutionsTimedOut", rid, "timed-out executions")
    for rid in resources(template, "AWS::StepFunctions::StateMachine"):
        need("ExecutionsThrottled", rid, "throttled executions")
        need("ExecutionsAborted", rid, "aborted executions")
    for rid in resources(template, "AWS::Kinesis::Stream"):
        need("GetRecords.IteratorAgeMilliseconds", rid, "iterator age")
    consumers, queues = _consumers(template)
    for rid in consumers:
        need("IteratorAge", rid, "DynamoDB stream consumer's iterator age")
    for rid in queues - dead_letter_queue_ids(template):
        need("ApproximateAgeOfOldestMessage", rid, "age of the consumed queue's oldest message")
    for rid, res in resources(template, "AWS::ApiGatewayV2::Api").items():
        if props(res).get("ProtocolType") == "HTTP":
            need("5xx", rid, "API 5xx rate")

    for rid, res in resources(template, "AWS::CloudWatch::Alarm").items():
        if not _notifies_topic(template, res):
            found.append(Finding("monitoring", rid, "alarm notifies no SNS topic"))

    topics = resources(template, "AWS::SNS::Topic")
    emails = {
        str(props(sub).get("Endpoint"))
        for sub in resources(template, "AWS::SNS::Subscription").values()
        if props(sub).get("Protocol") == "email" and target_id(props(sub).get("TopicArn")) in topics
    }
    wanted = set(config.get("monitoring", {}).get("alarmEmails", []))
    for missing in sorted(wanted - emails):
        found.append(Finding("monitoring", "alarm topic", f"{missing} is not subscribed"))
    if not resources(template, "AWS::CloudWatch::Dashboard"):
        found.append(Finding("monitoring", stage, "no CloudWatch dashboard"))

    found += _check_budget(template, stage)
    found += _check_logs_and_tracing(template, config)
    found += _check_concurrency(template, config, stage)
    return found


def _check_budget(template: Template, stage: str) -> list[Finding]:
    budgets = resources(template, "AWS::Budgets::Budget")
    if not budgets:
        return [Finding("cost", stage, "no AWS::Budgets::Budget")]
    found: list[Finding] = []
    for rid, res in budgets.items():
        body = props(res)
        if body.get("Budget", {}).get("TimeUnit") != "MONTHLY":
            found.append(Finding("cost", rid, "budget is not monthly"))
        thresholds = {
            float(n["Notification"]["Threshold"])
            for n in body.get("NotificationsWithSubscribers", [])
            if n.get("Notification", {}).get("ThresholdType") == "PERCENTAGE"
            and n.get("Subscribers")
        }
        for percent in (80.0, 100.0):
            if percent not in thresholds:
                found.append(Finding("cost", rid, f"no notification at {percent:g} %"))
    return found


def _check_logs_and_tracing(template: Template, config: Mapping[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    retention = config.get("logRetentionDays")
    for rid, res in resources(template, "AWS::Logs::LogGroup").items():
        days = props(res).get("RetentionInDays")
        if days is None:
            found.append(Finding("cost", rid, "log group keeps logs forever: set RetentionInDays"))
        elif retention is not None and days != retention:
            found.append(Finding("cost", rid, f"RetentionInDays {days}, stage says {retention}"))
    if config.get("tracing"):
        for rid, res in resources(template, "AWS::Lambda::Function").items():
            if props(res).get("TracingConfig", {}).get("Mode") != "Active":
                found.append(Finding("monitoring", rid, "X-Ray tracing is not active"))
        for rid, res in resources(template, "AWS::StepFunctions::StateMachine").items():
            if props(res).get("TracingConfiguration", {}).get("Enabled") not in (True, "true"):
                found.append(Finding("monitoring", rid, "X-Ray tracing is not enabled"))
    return found


def _check_concurrency(template: Template, config: Mapping[str, Any], stage: str) -> list[Finding]:
    found: list[Finding] = []
    service = "docflow"
    names = function_ids_by_name(template)
    for function, wanted in (config.get("reservedConcurrency") or {}).items():
        rid = names.get(f"{service}-{stage}-{function}")
        if rid is None:
            found.append(Finding("cost", function, "reservedConcurrency names no function"))
            continue
        actual = props(template["Resources"][rid]).get("ReservedConcurrentExecutions")
        if actual != wanted:
            found.append(
                Finding("cost", rid, f"ReservedConcurrentExecutions {actual}, stage says {wanted}")
            )
    # Every function bounded: a reservation, or SQS event sources that each cap the poller
    # (ScalingConfig.MaximumConcurrency); unbounded only where the stage lists it as null.
    unbounded_by_config = {
        names.get(f"{service}-{stage}-{function}")
        for function, wanted in (config.get("reservedConcurrency") or {}).items()
        if wanted is None
    }
    mappings: dict[str, list[Mapping[str, Any]]] = {}
    for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
        target = target_id(props(mapping).get("FunctionName"))
        if target:
            mappings.setdefault(target, []).append(props(mapping))
    for rid, res in resources(template, "AWS::Lambda::Function").items():
        if props(res).get("ReservedConcurrentExecutions") is not None:
            continue
        sources = mappings.get(rid, [])
        capped = bool(sources) and all(
            (m.get("ScalingConfig") or {}).get("MaximumConcurrency") is not None for m in sources
        )
        if not capped and rid not in unbounded_by_config:
            found.append(
                Finding(
                    "cost",
                    rid,
                    "no reserved concurrency and no event source maximum concurrency: set "
                    "reservedConcurrency.<function> in the stage config",
                )
            )
    return found
