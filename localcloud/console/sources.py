"""What the console shows, read from the running stack.

Public APIs first, called with the admin credentials (which IAM enforcement neither restricts
nor audits, so looking never changes the IAM report): DynamoDB, S3, Step Functions, SQS,
Lambda, CloudWatch, X-Ray. Where AWS has no API for what the console needs, or moto keeps it
only in memory, the console reads moto's backends in this process: the messages a topic
published, each queue's oldest message, the stream pollers' positions, log events (one pass
over a group's streams instead of paging FilterLogEvents). Every read is a read: nothing here
receives a message, changes visibility or writes an item.

The stack is found, not configured: the CloudFormation stack that holds `DocumentsTable`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from docflow.documents.store import from_item  # items read as the documents store reads them

REGION = "us-east-1"
ACCOUNT = "123456789012"
_ADMIN = "localcloud"  # the emulator's admin credentials (localcloud.iam.principals)
DOCUMENT_PREFIXES = ("incoming/", "processed/", "quarantine/")


def loads(text: Any, default: Any = None) -> Any:
    """JSON from text the stack holds (any client may have written it), or `default` when it
    is not JSON or nests deeper than the decoder's recursion limit."""
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return default


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string, epoch seconds or a datetime as an aware datetime (None if unknown)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@dataclass
class StackView:
    """The deployed resources the console reads, by logical id and type."""

    name: str
    resources: dict[str, tuple[str, str]]  # logical id -> (type, physical id)

    def physical(self, logical_id: str) -> str | None:
        entry = self.resources.get(logical_id)
        return entry[1] if entry else None

    def of_type(self, resource_type: str) -> dict[str, str]:
        return {
            logical: physical
            for logical, (kind, physical) in sorted(self.resources.items())
            if kind == resource_type
        }


@dataclass
class Invocation:
    """One Lambda invocation's lines in its log stream, START to REPORT."""

    group: str
    stream: str
    request_id: str
    started_ms: int
    lines: list[tuple[int, str]] = field(default_factory=list)

    @property
    def function(self) -> str:
        return self.group.rsplit("/", 1)[-1]

    @property
    def report(self) -> str | None:
        return next((text for _, text in self.lines if text.startswith("REPORT ")), None)

    def mentions(self, needle: str) -> bool:
        return any(needle in text for _, text in self.lines)


class Sources:
    """Read-only access to the stack behind `endpoint_url`, in the emulator's process."""

    def __init__(self, endpoint_url: str, state_dir: Path | None) -> None:
        self.endpoint_url = endpoint_url
        self.state_dir = state_dir
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stack: tuple[float, StackView | None] = (0.0, None)

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=REGION,
                    aws_access_key_id=_ADMIN,
                    aws_secret_access_key=_ADMIN,
                    config=Config(retries={"max_attempts": 1}, read_timeout=20),
                )
            return self._clients[service]

    # -- the stack --------------------------------------------------------------------------

    def stack(self) -> StackView | None:
        """The stack holding DocumentsTable (cached 30 s: a deploy may replace it)."""
        cached_at, view = self._stack
        if view is not None and time.monotonic() - cached_at < 30:
            return view
        cfn = self.client("cloudformation")
        found = None
        for summary in cfn.list_stacks().get("StackSummaries", []):
            if summary.get("StackStatus", "").startswith("DELETE"):
                continue
            resources = cfn.describe_stack_resources(StackName=summary["StackName"])
            by_id = {
                r["LogicalResourceId"]: (r["ResourceType"], r.get("PhysicalResourceId", ""))
                for r in resources.get("StackResources", [])
                if r.get("PhysicalResourceId")
            }
            if "DocumentsTable" in by_id:
                found = StackView(summary["StackName"], by_id)
                break
        self._stack = (time.monotonic(), found)
        return found

    # -- documents --------------------------------------------------------------------------

    def documents(self, view: StackView) -> list[dict[str, Any]]:
        """Every document record (a scan: the console sorts and pages them itself)."""
        table = view.physical("DocumentsTable")
        items: list[dict[str, Any]] = []
        for page in self.client("dynamodb").get_paginator("scan").paginate(TableName=table):
            items.extend(from_item(item) for item in page.get("Items", []))
        items.sort(key=lambda d: str(d.get("created_at", "")), reverse=True)
        return items

    def document(self, view: StackView, document_id: str) -> dict[str, Any] | None:
        answer = self.client("dynamodb").get_item(
            TableName=view.physical("DocumentsTable"),
            Key={"document_id": {"S": document_id}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return from_item(item) if item else None

    def objects(self, view: StackView, document_id: str) -> list[dict[str, Any]]:
        """Every version and delete marker under the document's prefixes in the bucket."""
        bucket = view.physical("DocumentsBucket") or next(
            iter(view.of_type("AWS::S3::Bucket").values()), None
        )
        found: list[dict[str, Any]] = []
        if bucket is None:
            return found
        s3 = self.client("s3")
        for prefix in DOCUMENT_PREFIXES:
            pages = s3.get_paginator("list_object_versions").paginate(
                Bucket=bucket, Prefix=f"{prefix}{document_id}/"
            )
            for page in pages:
                for version in page.get("Versions", []):
                    found.append({**version, "area": prefix.rstrip("/"), "deleted": False})
                for marker in page.get("DeleteMarkers", []):
                    found.append({**marker, "area": prefix.rstrip("/"), "deleted": True})
        found.sort(key=lambda o: (o["Key"], o["LastModified"]))
        return found

    def published_events(self, view: StackView, document_id: str) -> list[dict[str, Any]]:
        """The events topic's messages about the document (moto keeps what a topic sent)."""
        from moto.sns.models import sns_backends

        events: list[dict[str, Any]] = []
        for arn in view.of_type("AWS::SNS::Topic").values():
            topic = sns_backends[ACCOUNT][REGION].topics.get(arn)
            for message_id, message, _subject, attributes, _group in list(
                getattr(topic, "sent_notifications", [])
            ):
                if document_id not in str(message):
                    continue
                body = loads(message)
                if isinstance(body, dict) and body.get("document_id") == document_id:
                    events.append(
                        {
                            "topic": arn.rsplit(":", 1)[-1],
                            "message_id": message_id,
                            "event_type": body.get("event_type")
                            or (attributes or {}).get("event_type", {}).get("Value"),
                            "occurred_at": body.get("occurred_at"),
                            "body": body,
                        }
                    )
        events.sort(key=lambda e: str(e["occurred_at"]))
        return events

    def mail(self, document_id: str) -> list[dict[str, Any]]:
        """The messages SES accepted that name the document (the stack's sent-mail log)."""
        if self.state_dir is None:
            return []
        path = self.state_dir / "mail.jsonl"
        if not path.exists():
            return []
        sent = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if document_id in line and (message := loads(line)) is not None:
                sent.append(message)
        return sent

    def deliveries(self, view: StackView, document_id: str) -> list[dict[str, Any]]:
        """Notify and webhook deliveries of the document's events, from the idempotency claims
        (`notify#<event id>`, `webhook#<event id>#<subscriber>`; event id `<document>:<type>`)."""
        table = view.physical("IdempotencyTable")
        if table is None:
            return []
        found = []
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=table)
        for page in pages:
            for raw in page.get("Items", []):
                item = from_item(raw)
                key = str(item.get("idempotency_key", ""))
                kind, _, rest = key.partition("#")
                if kind not in ("notify", "webhook") or not rest.startswith(f"{document_id}:"):
                    continue
                event_id, _, subscriber = rest.partition("#")
                found.append(
                    {
                        "kind": "e-mail" if kind == "notify" else "webhook",
                        "event_type": event_id.partition(":")[2],
                        "subscriber": subscriber or None,
                        "status": item.get("status"),
                        "key": key,
                    }
                )
        found.sort(key=lambda d: (d["event_type"], d["kind"], d["subscriber"] or ""))
        return found

    # -- the workflow -----------------------------------------------------------------------

    def state_machines(self, view: StackView) -> dict[str, str]:
        return view.of_type("AWS::StepFunctions::StateMachine")

    def definition(self, state_machine_arn: str) -> dict[str, Any]:
        described = self.client("stepfunctions").describe_state_machine(
            stateMachineArn=state_machine_arn
        )
        definition: dict[str, Any] = json.loads(described["definition"])
        return definition

    def executions(self, state_machine_arn: str, limit: int = 50) -> list[dict[str, Any]]:
        answer = self.client("stepfunctions").list_executions(
            stateMachineArn=state_machine_arn, maxResults=limit
        )
        executions: list[dict[str, Any]] = answer.get("executions", [])
        executions.sort(key=lambda e: e["startDate"], reverse=True)
        return executions

    def execution(self, execution_arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        sfn = self.client("stepfunctions")
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        events: list[dict[str, Any]] = []
        token = None
        while True:
            kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token:
                break
        return described, events

    # -- queues, streams, alarms ------------------------------------------------------------

    def queues(self) -> list[dict[str, Any]]:
        """Every queue: depth, in flight, delayed, its dead-letter target, its oldest message."""
        from moto.sqs.models import sqs_backends

        sqs = self.client("sqs")
        urls = sqs.list_queues().get("QueueUrls", [])
        backend = sqs_backends[ACCOUNT][REGION]
        now = time.time()
        rows = []
        for url in urls:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get(
                "Attributes", {}
            )
            name = url.rsplit("/", 1)[-1]
            redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
            oldest = None
            queue = backend.queues.get(name)
            if queue is not None:
                stamps = [
                    int(str(m.sent_timestamp)) for m in list(queue._messages) if m.sent_timestamp
                ]
                if stamps:
                    oldest = max(now - min(stamps) / 1000.0, 0.0)
            rows.append(
                {
                    "name": name,
                    "arn": attributes.get("QueueArn"),
                    "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                    "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                    "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
                    "dead_letter_target": str(redrive.get("deadLetterTargetArn", "")).rsplit(
                        ":", 1
                    )[-1]
                    or None,
                    "max_receive": redrive.get("maxReceiveCount"),
                    "oldest_age_s": oldest,
                }
            )
        targets = {row["dead_letter_target"] for row in rows if row["dead_letter_target"]}
        for row in rows:
            # A dead-letter queue: a redrive target, or named so (the subscriptions' delivery
            # DLQs and the intake DLQ are targets of SNS and Lambda, not of another queue).
            row["dead_letter"] = row["name"] in targets or row["name"].endswith("-dlq")
        rows.sort(key=lambda r: (r["dead_letter"], r["name"]))
        return rows

    def event_source_mappings(self) -> list[dict[str, Any]]:
        """Lambda's mappings, with the local pollers' position in each stream where known."""
        from localcloud.patches import streams

        mappings: list[dict[str, Any]] = []
        pages = self.client("lambda").get_paginator("list_event_source_mappings").paginate()
        for page in pages:
            mappings.extend(page.get("EventSourceMappings", []))
        positions = streams.positions()
        for mapping in mappings:
            function = str(mapping.get("FunctionArn", ""))
            source = str(mapping.get("EventSourceArn", ""))
            mapping["positions"] = [
                p for p in positions if p["function_arn"] == function and p["source_arn"] == source
            ]
        mappings.sort(key=lambda m: str(m.get("FunctionArn", "")))
        return mappings

    def alarms(self, view: StackView | None) -> list[dict[str, Any]]:
        """CloudWatch's alarms, and the stack's alarms CloudWatch does not have (moto records
        an AWS::CloudWatch::Alarm of a template without creating it): shown with no state."""
        answer = self.client("cloudwatch").describe_alarms()
        alarms: list[dict[str, Any]] = answer.get("MetricAlarms", []) + answer.get(
            "CompositeAlarms", []
        )
        known = {str(a.get("AlarmName")) for a in alarms}
        declared = view.of_type("AWS::CloudWatch::Alarm") if view is not None else {}
        alarms.extend(
            {"AlarmName": name, "StateValue": "NOT_CREATED", "LogicalId": logical}
            for logical, name in declared.items()
            if name not in known
        )
        alarms.sort(key=lambda a: str(a.get("AlarmName", "")))
        return alarms

    # -- logs and traces --------------------------------------------------------------------

    def function_groups(self, view: StackView) -> list[str]:
        names = view.of_type("AWS::Lambda::Function").values()
        return [f"/aws/lambda/{name}" for name in sorted(names)]

    def invocations(self, groups: list[str]) -> Iterator[Invocation]:
        """Each invocation in the groups' streams, START to REPORT (moto's logs backend)."""
        from moto.logs.models import logs_backends

        backend = logs_backends[ACCOUNT][REGION]
        for group_name in groups:
            group = backend.groups.get(group_name)
            if group is None:
                continue
            for stream_name, stream in list(group.streams.items()):
                current: Invocation | None = None
                for event in list(stream.events):
                    text = str(event.message)
                    if text.startswith("START RequestId: "):
                        request_id = text.split()[2]
                        current = Invocation(group_name, stream_name, request_id, event.timestamp)
                    if current is not None:
                        current.lines.append((int(event.timestamp), text))
                        if text.startswith("REPORT RequestId: "):
                            yield current
                            current = None
                if current is not None:
                    yield current

    def invocation(self, group: str, request_id: str) -> Invocation | None:
        return next(
            (i for i in self.invocations([group]) if i.request_id == request_id),
            None,
        )

    def traces(self, document_id: str, since: datetime | None) -> list[dict[str, Any]]:
        """X-Ray traces annotated with the document, each with its segments (empty if X-Ray
        is not there or has none)."""
        xray = self.client("xray")
        start = since or datetime.fromtimestamp(time.time() - 6 * 3600, UTC)
        summaries = xray.get_trace_summaries(
            StartTime=start,
            EndTime=datetime.now(UTC),
            FilterExpression=f'annotation.document_id = "{document_id}"',
        ).get("TraceSummaries", [])
        ids = [s["Id"] for s in summaries][:20]
        if not ids:
            return []
        traces: list[dict[str, Any]] = xray.batch_get_traces(TraceIds=ids).get("Traces", [])
        return traces

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        traces = self.client("xray").batch_get_traces(TraceIds=[trace_id]).get("Traces", [])
        return traces[0] if traces else None
