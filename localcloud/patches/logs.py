"""CloudWatch Logs: subscription filters deliver to Kinesis as CloudWatch Logs does, and the
metrics Lambda functions write in embedded metric format become CloudWatch metrics.

moto 5.2.5 has no AWS::Logs::SubscriptionFilter resource, delivers every event to a Kinesis
destination whatever the filter pattern, without the role (never checked, neither its trust nor
its permission) and without the CONTROL_MESSAGE CloudWatch Logs sends when a filter is created;
and it extracts no metrics from log lines.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.kinesis.models import kinesis_backends
from moto.logs.exceptions import InvalidParameterException
from moto.logs.models import LogsBackend, LogStream, logs_backends

from localcloud import emf
from localcloud.filter_patterns import FilterPatternError, compile_pattern
from localcloud.patches import models
from localcloud.patches.context import LocalCloud

log = logging.getLogger("localcloud.logs")

DELIVERY_SESSION = "CloudWatchLogsSubscription"
MAX_BATCH_BYTES = 256 * 1024  # raw log event bytes per Kinesis record, well under its 1 MiB
# AWS's answer when it cannot put its test message with the filter's role.
NOT_DELIVERABLE = (
    "Could not deliver test message to specified Kinesis stream. Check if the given kinesis "
    "stream is in ACTIVE state."
)
_LOCK = threading.RLock()


def log_group_arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account_id}:log-group:{name}:*"


def role_trusts_logs(role_arn: str, account_id: str, region: str, group: str) -> bool:
    """May CloudWatch Logs assume the role for this log group (its trust policy, evaluated for
    the logs service principal with the confused-deputy context AWS sends)?"""
    from localcloud.iam import principals
    from localcloud.iam.policy import Request, evaluate

    if not principals.role_exists(role_arn):
        return False
    trust = principals.trust_policy(role_arn)
    for principal in (f"logs.{region}.amazonaws.com", "logs.amazonaws.com"):
        request = Request(
            principal=principal,
            action="sts:AssumeRole",
            resource=role_arn,
            context={
                "aws:SourceAccount": account_id,
                "aws:SourceArn": log_group_arn(account_id, region, group),
                "aws:SecureTransport": "true",
            },
        )
        if evaluate(request, (), trust).allowed:
            return True
    return False


def may_deliver(
    role_arn: str | None, account_id: str, region: str, group: str, stream: str
) -> bool:
    """The filter's role is trusted by CloudWatch Logs and allows kinesis:PutRecord."""
    from localcloud.iam import enforce

    if enforce.current() is None:
        return True  # a patch tested on its own, without the server
    if not role_arn:
        return False  # AWS requires a role for a Kinesis destination
    if not role_trusts_logs(role_arn, account_id, region, group):
        log.warning("localcloud: CloudWatch Logs may not assume %s for %s", role_arn, group)
        return not enforce.current().enforcing  # type: ignore[union-attr]
    return enforce.role_may(role_arn, DELIVERY_SESSION, "kinesis:PutRecord", stream)


def _payload(
    message_type: str,
    owner: str,
    group: str,
    stream: str,
    filters: list[str],
    events: list[dict[str, Any]],
) -> str:
    body = {
        "messageType": message_type,
        "owner": owner,
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": filters,
        "logEvents": events,
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw)).decode()


def _put(account_id: str, region: str, stream_arn: str, partition_key: str, data: str) -> None:
    kinesis = kinesis_backends[account_id][region]
    target = kinesis.describe_stream(stream_arn=stream_arn, stream_name=None)
    target.put_record(partition_key=partition_key[:256] or "-", explicit_hash_key="", data=data)


def _batches(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(event["message"].encode()) + 26  # CloudWatch counts 26 bytes per event
        if batch and size + cost > MAX_BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch


def deliver(stream: LogStream, filter_name: str, events: list[dict[str, Any]]) -> int:
    """Put the events that match the filter's pattern into its Kinesis stream; how many."""
    group = stream.log_group
    subscription = group.subscription_filters.get(filter_name)
    if subscription is None:
        return 0
    try:
        matches = compile_pattern(subscription.filter_pattern or "")
    except FilterPatternError:
        return 0  # refused when the filter was put; nothing reaches here
    chosen = [
        {"id": str(e["id"]), "timestamp": int(e["timestamp"]), "message": e["message"]}
        for e in events
        if matches(e["message"])
    ]
    if not chosen or not may_deliver(
        subscription.role_arn,
        stream.account_id,
        stream.region,
        group.name,
        subscription.destination_arn,
    ):
        return 0
    for batch in _batches(chosen):
        data = _payload(
            "DATA_MESSAGE",
            stream.account_id,
            group.name,
            stream.log_stream_name,
            [filter_name],
            batch,
        )
        _put(
            stream.account_id,
            stream.region,
            subscription.destination_arn,
            stream.log_stream_name,
            data,
        )
    return len(chosen)


def put_metrics(account_id: str, region: str, messages: list[str]) -> int:
    """The EMF metrics of `messages`, put into CloudWatch; how many data points."""
    data = [datum for message in messages for datum in emf.extract(message)]
    backend = cloudwatch_backends[account_id][region]
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for datum in data:
        by_namespace.setdefault(datum.namespace, []).append(datum.as_put())
    for namespace, metric_data in by_namespace.items():
        backend.put_metric_data(namespace, metric_data)
    return len(data)


def subscription_filters(cloud: LocalCloud) -> None:
    """Kinesis subscriptions deliver as CloudWatch Logs does: the events matching the filter
    pattern (localcloud.filter_patterns), gzip JSON DATA_MESSAGEs in batches, with the filter's
    role (trusted by the logs service for this log group, allowed kinesis:PutRecord on the
    stream: refused otherwise, at creation and at delivery), and a CONTROL_MESSAGE when the
    filter is created. Lambda, Firehose and log group destinations keep moto's delivery.
    """
    original_send = LogStream._send_log_events

    def _send_log_events(
        self: LogStream,
        service: str,
        destination_arn: str,
        filter_name: str,
        log_events: list[dict[str, Any]],
    ) -> None:
        if service != "kinesis":
            original_send(self, service, destination_arn, filter_name, log_events)
            return
        with _LOCK:
            deliver(self, filter_name, log_events)

    LogStream._send_log_events = _send_log_events  # type: ignore[method-assign]

    original_put = LogsBackend.put_subscription_filter

    def put_subscription_filter(
        self: LogsBackend,
        log_group_name: str,
        filter_name: str,
        filter_pattern: str,
        destination_arn: str,
        role_arn: str,
    ) -> None:
        try:
            compile_pattern(filter_pattern or "")
        except FilterPatternError as exc:
            raise InvalidParameterException(str(exc)) from exc
        kinesis = destination_arn.split(":")[2:3] == ["kinesis"]
        if kinesis and not may_deliver(
            role_arn, self.account_id, self.region_name, log_group_name, destination_arn
        ):
            raise InvalidParameterException(NOT_DELIVERABLE)
        original_put(self, log_group_name, filter_name, filter_pattern, destination_arn, role_arn)
        if kinesis:
            control = _payload(
                "CONTROL_MESSAGE",
                "CloudwatchLogs",
                "",
                "",
                [],
                [
                    {
                        "id": "",
                        "timestamp": int(time.time() * 1000),
                        "message": "CWL CONTROL MESSAGE: Checking health of destination "
                        "Kinesis stream.",
                    }
                ],
            )
            _put(self.account_id, self.region_name, destination_arn, uuid.uuid4().hex, control)

    LogsBackend.put_subscription_filter = put_subscription_filter  # type: ignore[method-assign]
    assert LogsSubscriptionFilter.cloudformation_type() == "AWS::Logs::SubscriptionFilter"


def embedded_metrics(cloud: LocalCloud) -> None:
    """Lambda functions' log lines in embedded metric format become CloudWatch metrics (as
    CloudWatch extracts them from Lambda's log groups): namespaces, dimension sets, units and
    timestamps as the line declares them (localcloud.emf); a line breaking the format yields
    none. GetMetricData, GetMetricStatistics and ListMetrics then show them."""
    original_put = LogStream.put_log_events

    def put_log_events(self: LogStream, log_events: list[dict[str, Any]]) -> str:
        with _LOCK:
            token: str = original_put(self, log_events)
        if self.log_group.name.startswith("/aws/lambda/"):
            put_metrics(self.account_id, self.region, [e["message"] for e in log_events])
        return token

    LogStream.put_log_events = put_log_events  # type: ignore[method-assign]


def list_metrics_once(cloud: LocalCloud) -> None:
    """ListMetrics names each metric (namespace, name, dimension set) once, as CloudWatch does.

    moto 5.2.5 compares dimension sets pairwise (every dimension against every other), so a
    metric with two or more dimensions was listed once per data point it had received.
    """
    import moto.cloudwatch.models as cloudwatch_models

    def are_dimensions_same(metric_dimensions: list[Any], dimensions: list[Any]) -> bool:
        def pairs(found: list[Any]) -> set[tuple[str, str]]:
            return {(d.name, d.value) for d in found}

        return len(metric_dimensions) == len(dimensions) and pairs(metric_dimensions) == pairs(
            dimensions
        )

    cloudwatch_models.are_dimensions_same = are_dimensions_same


def write(account_id: str, region: str, group: str, stream: str, messages: list[str]) -> bool:
    """Write log events as a service does (API Gateway's access logs): False if the log group
    does not exist (the service's logs are then lost, as on AWS)."""
    backend = logs_backends[account_id][region]
    found = backend.groups.get(group)
    if found is None:
        return False
    with _LOCK:
        if stream not in found.streams:
            found.create_log_stream(stream)
        now = int(time.time() * 1000)
        found.put_log_events(stream, [{"timestamp": now, "message": m} for m in messages])
    return True


class LogsSubscriptionFilter(models.LocalModel, CloudFormationModel):
    """AWS::Logs::SubscriptionFilter: PutSubscriptionFilter with the resource's properties
    (moto has no model for it)."""

    TYPE = "AWS::Logs::SubscriptionFilter"
    NAME_PROPERTY = "FilterName"

    def __init__(self, account_id: str, region: str, group: str, name: str) -> None:
        super().__init__(name)
        self.account_id = account_id
        self.region = region
        self.group = group

    @classmethod
    def create(cls, spec: models.Spec) -> LogsSubscriptionFilter:
        group = str(spec.properties["LogGroupName"])
        logs_backends[spec.account_id][spec.region].put_subscription_filter(
            group,
            spec.name,
            str(spec.properties.get("FilterPattern", "")),
            str(spec.properties["DestinationArn"]),
            str(spec.properties.get("RoleArn", "")),
        )
        return cls(spec.account_id, spec.region, group, spec.name)

    def delete(self, account_id: str, region_name: str) -> None:
        group = logs_backends[self.account_id][self.region].groups.get(self.group)
        if group is not None:
            group.subscription_filters.pop(self.physical_id, None)
