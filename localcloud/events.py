"""`python -m localcloud event KIND ...`: events for `sls invoke local`, from the running stack.

Each event has the shape AWS delivers to the function (S3 notification, HTTP API payload 2.0,
SQS records carrying SNS envelopes, DynamoDB stream records, a Kinesis tumbling window,
EventBridge scheduled events) and is filled with what the local stack really holds: document
ids, the demo owners' API keys of the role the route needs, the bucket, queue, topic, stream
and rule ARNs. So invoking it does what the trigger would:

    intake                      an uploaded object of the owner's newest document (intake finds
                                it; a version it already took in answers `duplicate`)
    api list|get|create         a request with the owner's submit key (200, 200, 201)
    decision approve|reject     decides the owner's document awaiting approval (approve key)
    sqs notify|webhooks         a document event as the fan-out queue delivers it
    stream sync|analytics       a change of a document / access log lines from the log stream
    schedule digest|sweep       the rule's scheduled event

`event samples` rewrites events/ (the same shapes with placeholder values, no stack needed).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import botocore.exceptions
import yaml

from docflow.documents.events import SUBSCRIBED, EventType
from localcloud.stack import stack_client

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT / "events"
DEFAULT_OWNER = "demo-alice"
# Which function each kind's events go to (`sls invoke local -f ...`).
FUNCTIONS = {
    "intake": ("intake",),
    "api": ("api",),
    "decision": ("api",),
    "sqs": ("notify", "webhooks"),
    "stream": ("sync", "analytics"),
    "schedule": ("digest", "sweep"),
}
API_ACTIONS = ("list", "get", "create")
DECISIONS = ("approve", "reject")
# The event each final status publishes (the sqs sample's default event type).
EVENT_TYPES = {
    "processed": EventType.PROCESSED,
    "rejected": EventType.REJECTED,
    "failed": EventType.FAILED,
}
SNS_SENDER_ID = "AIDAIT2UOQQY3AUEKVGXU"  # the SenderId SQS shows on messages SNS delivered


class EventError(Exception):
    """The stack cannot fill this event; the message says what to do, in one line."""


# ---- the AWS event shapes (pure: values in, event out) ----------------------------------


def s3_object_created(
    *,
    region: str,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str,
    at: datetime,
    request_id: str,
) -> dict[str, Any]:
    """S3's `ObjectCreated:Post` notification (a presigned POST upload), key URL-encoded."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _iso(at),
                "eventName": "ObjectCreated:Post",
                "userIdentity": {"principalId": "AWS:AROAEXAMPLE:api"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": request_id[:16].upper(),
                    "x-amz-id-2": base64.b64encode(request_id.encode()).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "intake",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag,
                        "versionId": version_id,
                        "sequencer": f"{int(at.timestamp() * 1000):018X}",
                    },
                },
            }
        ]
    }


def http_request(
    *,
    method: str,
    route_key: str,
    path: str,
    api_key: str,
    api_id: str,
    domain: str,
    account: str,
    at: datetime,
    request_id: str,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) request, as localcloud's gateway and AWS build it."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": domain,
            "user-agent": "curl/8.5.0",
            "x-amzn-trace-id": f"Root=1-{int(at.timestamp()):08x}-{request_id[:24]}",
            "x-api-key": api_key,
            "x-forwarded-for": "127.0.0.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": account,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8.5.0",
            },
            "requestId": request_id[:16],
            "routeKey": route_key,
            "stage": "$default",
            "time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(at.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def sqs_sns_notification(
    *,
    region: str,
    queue_arn: str,
    topic_arn: str,
    subscription_arn: str,
    message: dict[str, Any],
    at: datetime,
    message_id: str,
    sns_message_id: str,
) -> dict[str, Any]:
    """One SQS record whose body is the SNS envelope (subscriptions without raw delivery);
    the `event_type` message attribute is in the envelope, as SNS puts it."""
    sent = int(at.timestamp() * 1000)
    body = json.dumps(
        {
            "Type": "Notification",
            "MessageId": sns_message_id,
            "TopicArn": topic_arn,
            "Message": json.dumps(message, separators=(",", ":")),
            "Timestamp": _iso(at),
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem",
            "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            "MessageAttributes": {
                "event_type": {"Type": "String", "Value": str(message["event_type"])}
            },
        },
        indent=2,
    )
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": base64.b64encode(f"{message_id}#{sent}".encode()).decode(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(sent),
                    "SenderId": SNS_SENDER_ID,
                    "ApproximateFirstReceiveTimestamp": str(sent + 20),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        ]
    }


def dynamodb_stream_change(
    *,
    region: str,
    stream_arn: str,
    keys: dict[str, Any],
    new_image: dict[str, Any],
    old_image: dict[str, Any] | None,
    at: datetime,
    event_id: str,
    sequence_number: str,
) -> dict[str, Any]:
    """One DynamoDB stream record of a table streaming NEW_AND_OLD_IMAGES (INSERT or MODIFY)."""
    images = {"NewImage": new_image, **({"OldImage": old_image} if old_image else {})}
    return {
        "Records": [
            {
                "eventID": event_id,
                "eventName": "MODIFY" if old_image else "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": {
                    "ApproximateCreationDateTime": int(at.timestamp()),
                    "Keys": keys,
                    **images,
                    "SequenceNumber": sequence_number,
                    "SizeBytes": len(json.dumps(images)),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": stream_arn,
            }
        ]
    }


def kinesis_window(
    *,
    region: str,
    stream_arn: str,
    account: str,
    lines: list[dict[str, Any]],
    at: datetime,
    window_seconds: int,
    first_sequence: int,
    lines_per_record: int = 10,
) -> dict[str, Any]:
    """The last invocation of a tumbling window: Kinesis records as the HTTP API access log's
    subscription filter writes them (CloudWatch Logs DATA_MESSAGE payloads, gzip JSON, of up
    to `lines_per_record` lines each); the function folds the lines and, since it is final,
    publishes the window's metrics."""
    shard = "shardId-000000000000"
    start = at - timedelta(seconds=at.timestamp() % window_seconds)
    # The stream is <service>-<stage>-logs; its access log group /aws/http-api/<service>-<stage>.
    prefix = stream_arn.rsplit("/", 1)[-1].removesuffix("-logs")
    stamp = int(at.timestamp() * 1000)
    records = []
    for index, first in enumerate(range(0, len(lines), lines_per_record)):
        sequence = str(first_sequence + index)
        payload = {
            "messageType": "DATA_MESSAGE",
            "owner": account,
            "logGroup": f"/aws/http-api/{prefix}",
            "logStream": "$default",
            "subscriptionFilters": [f"{prefix}-access-log-analytics"],
            "logEvents": [
                {"id": str(first + offset), "timestamp": stamp, "message": json.dumps(line)}
                for offset, line in enumerate(lines[first : first + lines_per_record])
            ],
        }
        # mtime=0: the same event gives the same bytes (the samples in events/ stay stable).
        data = gzip.compress(json.dumps(payload).encode(), mtime=0)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "$default",
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(data).decode(),
                    "approximateArrivalTimestamp": round(at.timestamp(), 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard}:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{account}:role/docflow-analytics",
                "awsRegion": region,
                "eventSourceARN": stream_arn,
            }
        )
    return {
        "Records": records,
        "window": {
            "start": _iso(start),
            "end": _iso(start + timedelta(seconds=window_seconds)),
        },
        "state": {},
        "shardId": shard,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForWindow": True,
        "isWindowTerminatedEarly": False,
    }


def scheduled(
    *, region: str, account: str, rule_arn: str, at: datetime, event_id: str
) -> dict[str, Any]:
    """EventBridge's `Scheduled Event` for a rule."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def access_lines(routes: list[str]) -> list[dict[str, Any]]:
    """A window's worth of access lines in the HTTP API stage's format (serverless.yml
    provider.logs.httpApi: every value a string, "-" where API Gateway has none)."""
    lines = []
    for index in range(20):
        route = routes[index % len(routes)]
        lines.append(
            {
                "requestId": f"sample{index:010d}=",
                "routeKey": route,
                "status": "500" if index == 7 else "200",
                "responseLatency": str(12 + index),
                "owner": "-",
            }
        )
    return lines


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---- what the running stack holds -------------------------------------------------------


@dataclass
class StackView:
    """The names, ARNs, keys and documents the events are filled with.

    `load` reads them from the running local stack; the samples in events/ use placeholders.
    """

    region: str
    account: str
    bucket: str
    documents_table: str
    api_id: str
    api_domain: str
    topic_arn: str
    queue_arns: dict[str, str]
    subscription_arns: dict[str, str]
    documents_stream_arn: str
    log_stream_arn: str
    rule_arns: dict[str, str]
    api_keys: dict[str, dict[str, Any]]
    window_seconds: int = 60
    documents: Callable[[], list[dict[str, Any]]] = list
    item: Callable[[str], dict[str, Any] | None] = lambda document_id: None
    head: Callable[[str, str], dict[str, Any] | None] = lambda key, version: None
    routes: list[str] = field(
        default_factory=lambda: [
            "POST /documents",
            "GET /documents/{id}",
            "GET /documents",
            "POST /documents/{id}/decision",
        ]
    )

    @classmethod
    def load(cls, state_dir: Path) -> StackView:
        stack_file = state_dir / "stack.json"
        try:
            stack = json.loads(stack_file.read_text())
        except FileNotFoundError:
            raise EventError(
                f"no {stack_file}: start the local stack with `make up` first"
            ) from None
        return cls.from_stack(stack)

    @classmethod
    def from_stack(cls, stack: dict[str, Any]) -> StackView:
        """From a stack description (what `make up` writes to stack.json)."""
        return _from_stack(stack)

    def key(self, owner: str, role: str, not_key_id: str | None = None) -> tuple[str, str]:
        """(name, key) of a demo key of `owner` with `role` (never the key `not_key_id`)."""
        for name, entry in sorted(self.api_keys.items()):
            mine = entry["owner"] == owner and entry["key_id"] != not_key_id
            if mine and role in entry["roles"]:
                return name, str(entry["key"])
        owners = sorted({str(e["owner"]) for e in self.api_keys.values()})
        raise EventError(
            f"no {role} key for owner {owner!r} in stack.json (owners: {', '.join(owners)})"
        )


def _from_stack(stack: dict[str, Any]) -> StackView:
    from docflow.documents.store import from_item

    cfn = stack_client(stack, "cloudformation")
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=stack["stack"])["StackResources"]
        if r.get("PhysicalResourceId")
    }
    account = str(stack_client(stack, "sts").get_caller_identity()["Account"])
    sqs, sns, events = (stack_client(stack, service) for service in ("sqs", "sns", "events"))
    queue_arns = {
        name: str(
            sqs.get_queue_attributes(QueueUrl=resources[logical], AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        )
        for name, logical in (("notify", "NotifyQueue"), ("webhooks", "WebhooksQueue"))
    }
    topic_arn = resources["EventsTopic"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    by_endpoint = {s["Endpoint"]: s["SubscriptionArn"] for s in subscriptions}
    rules = {}
    for function in ("digest", "sweep"):
        logical = next(k for k in resources if k.startswith(f"{function.capitalize()}EventsRule"))
        physical = resources[logical]
        rules[function] = (
            physical
            if physical.startswith("arn:")
            else str(events.describe_rule(Name=physical)["Arn"])
        )
    table = stack["tables"]["DocumentsTable"]
    dynamodb, s3 = stack_client(stack, "dynamodb"), stack_client(stack, "s3")
    described = dynamodb.describe_table(TableName=table)["Table"]
    kinesis = stack_client(stack, "kinesis")
    log_stream = kinesis.describe_stream_summary(StreamName=resources["LogStream"])
    domain = urlsplit(stack["api_url"]).netloc
    config = yaml.safe_load((ROOT / "config" / f"{stack['stage']}.yml").read_text())

    def documents() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items += [from_item(item) for item in page["Items"]]
        return sorted(items, key=lambda d: str(d.get("created_at", "")), reverse=True)

    def item(document_id: str) -> dict[str, Any] | None:
        found = dynamodb.get_item(TableName=table, Key={"document_id": {"S": document_id}})
        return dict(found["Item"]) if "Item" in found else None

    def head(key: str, version: str) -> dict[str, Any] | None:
        try:
            return dict(
                s3.head_object(Bucket=stack["documents_bucket"], Key=key, VersionId=version)
            )
        except s3.exceptions.ClientError:
            return None

    return StackView(
        region=stack["region"],
        account=account,
        bucket=stack["documents_bucket"],
        documents_table=table,
        api_id=resources.get("HttpApi", "local"),
        api_domain=domain,
        topic_arn=topic_arn,
        queue_arns=queue_arns,
        subscription_arns={
            n: by_endpoint.get(a, f"{topic_arn}:local") for n, a in queue_arns.items()
        },
        documents_stream_arn=str(described["LatestStreamArn"]),
        log_stream_arn=str(log_stream["StreamDescriptionSummary"]["StreamARN"]),
        rule_arns=rules,
        api_keys=dict(stack["api_keys"]),
        window_seconds=int(config["analytics"]["windowSeconds"]),
        documents=documents,
        item=item,
        head=head,
    )


# ---- the events, filled ---------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    name: str  # file name without .json
    function: str
    event: dict[str, Any]
    summary: str


@dataclass(frozen=True)
class Request:
    kind: str
    action: str | None = None  # api: list|get|create; decision: approve|reject; else function
    owner: str = DEFAULT_OWNER
    document_id: str | None = None
    event_type: str | None = None


@dataclass(frozen=True)
class Ids:
    """Where the events' times and unique ids come from (fixed for the samples)."""

    at: Callable[[], datetime] = lambda: datetime.now(UTC)
    new: Callable[[], str] = lambda: str(uuid.uuid4())


def generate(request: Request, view: StackView, ids: Ids = Ids()) -> Generated:
    builders: dict[str, Callable[[Request, StackView, Ids], Generated]] = {
        "intake": _intake,
        "api": _api,
        "decision": _decision,
        "sqs": _sqs,
        "stream": _stream,
        "schedule": _schedule,
    }
    return builders[request.kind](request, view, ids)


def _document(
    request: Request,
    view: StackView,
    wanted: Callable[[dict[str, Any]], bool],
    what: str,
) -> dict[str, Any]:
    if request.document_id:
        documents = [d for d in view.documents() if d.get("document_id") == request.document_id]
        if not documents:
            raise EventError(f"no document {request.document_id} in {view.documents_table}")
        if not wanted(documents[0]):
            raise EventError(
                f"document {request.document_id} is {documents[0].get('status')}: not {what}"
            )
        return documents[0]
    for document in view.documents():
        if document.get("owner") == request.owner and wanted(document):
            return document
    raise EventError(
        f"no document of {request.owner} {what}: run `make demo` (it uploads some), "
        "or pass --document ID"
    )


def _intake(request: Request, view: StackView, ids: Ids) -> Generated:
    def uploaded(document: dict[str, Any]) -> bool:
        version = document.get("object_version")
        return bool(version) and view.head(str(document["object_key"]), str(version)) is not None

    document = _document(request, view, uploaded, "with its upload still under incoming/")
    key, version = str(document["object_key"]), str(document["object_version"])
    head = view.head(key, version) or {}
    event = s3_object_created(
        region=view.region,
        bucket=view.bucket,
        key=key,
        size=int(head.get("ContentLength", document.get("declared_size", 0))),
        etag=str(head.get("ETag", "")).strip('"'),
        version_id=version,
        at=ids.at(),
        request_id=ids.new().replace("-", ""),
    )
    return Generated(
        "intake",
        "intake",
        event,
        f"ObjectCreated for {key} (version {version}; the document is {document['status']})",
    )


def _api(request: Request, view: StackView, ids: Ids) -> Generated:
    action = request.action or "list"
    name, key = view.key(request.owner, "submit")
    common: dict[str, Any] = {
        "api_key": key,
        "api_id": view.api_id,
        "domain": view.api_domain,
        "account": view.account,
        "at": ids.at(),
        "request_id": ids.new().replace("-", ""),
    }
    if action == "list":
        event = http_request(
            method="GET",
            route_key="GET /documents",
            path="/documents",
            query={"limit": "10"},
            **common,
        )
        what = "GET /documents?limit=10"
    elif action == "get":
        document = _document(request, view, lambda d: True, "at all")
        path = f"/documents/{document['document_id']}"
        event = http_request(
            method="GET",
            route_key="GET /documents/{id}",
            path=path,
            path_parameters={"id": str(document["document_id"])},
            **common,
        )
        what = f"GET {path}"
    else:
        body = {"filename": "invoice 2026+Q4.csv", "content_type": "text/csv", "size": 120}
        event = http_request(
            method="POST", route_key="POST /documents", path="/documents", body=body, **common
        )
        what = "POST /documents (a 120-byte CSV)"
    return Generated(f"api-{action}", "api", event, f"{what} with {name}")


def _decision(request: Request, view: StackView, ids: Ids) -> Generated:
    decision = request.action or "approve"
    document = _document(
        request, view, lambda d: d.get("status") == "awaiting_approval", "awaiting approval"
    )
    owner = str(document["owner"])
    # Separation of duties: the key that submitted the document may not decide on it.
    name, key = view.key(owner, "approve", not_key_id=document.get("submitted_by"))
    document_id = str(document["document_id"])
    path = f"/documents/{document_id}/decision"
    event = http_request(
        method="POST",
        route_key="POST /documents/{id}/decision",
        path=path,
        path_parameters={"id": document_id},
        body={"decision": decision, "comment": "decided with a sample event"},
        api_key=key,
        api_id=view.api_id,
        domain=view.api_domain,
        account=view.account,
        at=ids.at(),
        request_id=ids.new().replace("-", ""),
    )
    return Generated("decision", "api", event, f"POST {path} ({decision}) with {name}")


def _sqs(request: Request, view: StackView, ids: Ids) -> Generated:
    function = request.action or "notify"
    if request.event_type:
        document = _document(request, view, lambda d: True, "at all")
    else:
        document = _document(
            request,
            view,
            lambda d: d.get("status") in EVENT_TYPES,
            "in a final status",
        )
    status = str(document["status"])
    event_type = str(request.event_type or EVENT_TYPES[status])
    at = ids.at()
    message: dict[str, Any] = {
        # A fresh event id: the deployed consumers already handled the document's own one
        # (`<document>:<type>`); invoking this file twice still acts once (idempotency).
        "event_id": f"{document['document_id']}:{event_type}:{ids.new()[:8]}",
        "event_type": event_type,
        "document_id": document["document_id"],
        "occurred_at": _iso(at),
        "owner": document["owner"],
        "filename": document.get("filename"),
        "status": status,
    }
    if event_type == EventType.PROCESSED:
        message["results"] = document.get("results") or {}
    else:
        reason = str(document.get("reason") or "sample")
        message.update(reason=reason, reason_code=reason.split(":", 1)[0])
    event = sqs_sns_notification(
        region=view.region,
        queue_arn=view.queue_arns[function],
        topic_arn=view.topic_arn,
        subscription_arn=view.subscription_arns[function],
        message=message,
        at=at,
        message_id=ids.new(),
        sns_message_id=ids.new(),
    )
    return Generated(
        f"sqs-{function}",
        function,
        event,
        f"{event_type} for {document['document_id']} from the {function} queue",
    )


def _stream(request: Request, view: StackView, ids: Ids) -> Generated:
    function = request.action or "sync"
    at = ids.at()
    sequence = int(at.timestamp() * 1_000_000)
    if function == "analytics":
        event = kinesis_window(
            region=view.region,
            stream_arn=view.log_stream_arn,
            account=view.account,
            lines=access_lines(view.routes),
            at=at,
            window_seconds=view.window_seconds,
            first_sequence=sequence,
        )
        return Generated(
            "stream-analytics",
            "analytics",
            event,
            f"the final batch of a {view.window_seconds} s window: 20 access lines, 1 error",
        )
    document = _document(request, view, lambda d: True, "at all")
    new_image = view.item(str(document["document_id"])) or {}
    history = document.get("history") or []
    old_image = None
    if len(history) > 1:
        # The change that gave the document its current status.
        old_image = {**new_image, "status": {"S": str(history[-2]["status"])}}
    event = dynamodb_stream_change(
        region=view.region,
        stream_arn=view.documents_stream_arn,
        keys={"document_id": {"S": str(document["document_id"])}},
        new_image=new_image,
        old_image=old_image,
        at=at,
        event_id=ids.new().replace("-", ""),
        sequence_number=str(10**20 + sequence),  # 21 digits, as DynamoDB streams number
    )
    return Generated(
        "stream-sync",
        "sync",
        event,
        f"{'MODIFY' if old_image else 'INSERT'} of {document['document_id']} "
        f"(status {document['status']})",
    )


def _schedule(request: Request, view: StackView, ids: Ids) -> Generated:
    function = request.action or "digest"
    event = scheduled(
        region=view.region,
        account=view.account,
        rule_arn=view.rule_arns[function],
        at=ids.at(),
        event_id=ids.new(),
    )
    return Generated(
        f"schedule-{function}", function, event, f"a tick of {view.rule_arns[function]}"
    )


# ---- the samples in events/ -----------------------------------------------------------

_SAMPLE_ID = "doc_00000000000000000000000000000000"
_SAMPLE_AT = datetime(2026, 11, 27, 14, 45, tzinfo=UTC)
_SAMPLE_ITEM = {
    "document_id": _SAMPLE_ID,
    "owner": DEFAULT_OWNER,
    "filename": "invoice 2026+Q4.csv",
    "declared_type": "text/csv",
    "declared_size": 120,
    "status": "processed",
    "created_at": "2026-11-27T14:44:00.000Z",
    "updated_at": "2026-11-27T14:45:00.000Z",
    "object_key": f"incoming/{_SAMPLE_ID}/invoice 2026+Q4.csv",
    "object_version": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
    "submitted_by": "k-demo-alice-submit-local",
    "results": {"rows": 3},
    "history": [
        {"status": "awaiting_upload", "at": "2026-11-27T14:44:00.000Z", "actor": "api"},
        {"status": "processing", "at": "2026-11-27T14:44:30.000Z", "actor": "processing"},
        {"status": "processed", "at": "2026-11-27T14:45:00.000Z", "actor": "processing"},
    ],
}


def sample_view() -> StackView:
    """Placeholder values: the events/ samples show the shapes; `event KIND` fills them."""
    from docflow.documents.store import to_item

    region, account = "us-east-1", "123456789012"
    arn = f"arn:aws:sqs:{region}:{account}"
    topic = f"arn:aws:sns:{region}:{account}:docflow-local-events"
    waiting = {**_SAMPLE_ITEM, "status": "awaiting_approval"}
    key = "REPLACE_WITH_A_KEY_FROM_.local/stack.json"
    return StackView(
        region=region,
        account=account,
        bucket=f"docflow-local-documents-{account}-{region}",
        documents_table="docflow-local-documents",
        api_id="abc123",
        api_domain="abc123.execute-api.us-east-1.amazonaws.com",
        topic_arn=topic,
        queue_arns={q: f"{arn}:docflow-local-{q}" for q in ("notify", "webhooks")},
        subscription_arns={
            q: f"{topic}:00000000-0000-0000-0000-00000000000{i}"
            for i, q in enumerate(("notify", "webhooks"))
        },
        documents_stream_arn=(
            f"arn:aws:dynamodb:{region}:{account}:table/docflow-local-documents/stream/"
            "2026-11-27T00:00:00.000"
        ),
        log_stream_arn=f"arn:aws:kinesis:{region}:{account}:stream/docflow-local-logs",
        rule_arns={
            f: f"arn:aws:events:{region}:{account}:rule/docflow-local-{f.capitalize()}"
            "EventsRuleSchedule1-EXAMPLE"
            for f in ("digest", "sweep")
        },
        api_keys={
            f"{DEFAULT_OWNER}-{role}": {
                "key_id": f"k-{DEFAULT_OWNER}-{role}-local",
                "key": key,
                "owner": DEFAULT_OWNER,
                "roles": [role],
            }
            for role in ("submit", "approve")
        },
        documents=lambda: [_SAMPLE_ITEM, waiting],
        item=lambda document_id: to_item(_SAMPLE_ITEM),
        head=lambda key, version: {
            "ContentLength": 120,
            "ETag": '"0123456789abcdef0123456789abcdef"',
        },
    )


SAMPLE_REQUESTS = (
    Request("intake"),
    *(Request("api", action) for action in API_ACTIONS),
    Request("decision", "approve"),
    *(Request("sqs", function) for function in FUNCTIONS["sqs"]),
    *(Request("stream", function) for function in FUNCTIONS["stream"]),
    *(Request("schedule", function) for function in FUNCTIONS["schedule"]),
)


def samples() -> dict[str, dict[str, Any]]:
    """file name -> event, for every kind (what events/ holds)."""
    counter = iter(range(1, 1000))
    ids = Ids(at=lambda: _SAMPLE_AT, new=lambda: str(uuid.UUID(int=next(counter))))
    view = sample_view()
    return {
        f"{generated.name}.json": generated.event
        for generated in (generate(request, view, ids) for request in SAMPLE_REQUESTS)
    }


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2) + "\n"


# ---- command line ---------------------------------------------------------------------


def add_parser(commands: Any, state_dir: Path) -> None:
    """The `event` subcommand of `python -m localcloud`."""
    parser = commands.add_parser(
        "event",
        help="write an event for `sls invoke local`, filled from the running stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "kind", choices=[*FUNCTIONS, "samples"], help="the trigger (samples: rewrite events/)"
    )
    parser.add_argument(
        "action",
        nargs="?",
        help="api: list|get|create; decision: approve|reject; sqs: notify|webhooks; "
        "stream: sync|analytics; schedule: digest|sweep",
    )
    parser.add_argument("--owner", default=DEFAULT_OWNER, help="a demo owner of stack.json")
    parser.add_argument("--document", help="a document id (default: the owner's newest that fits)")
    parser.add_argument(
        "--event-type",
        choices=sorted(str(event_type) for event_type in SUBSCRIBED),
        help="sqs: the document event (default: from the document's status)",
    )
    parser.add_argument(
        "--out", help="where to write (default .local/events/<name>.json; - for stdout)"
    )
    parser.add_argument("--state-dir", type=Path, default=state_dir)


def main(args: argparse.Namespace) -> int:
    if args.kind == "samples":
        out = Path(args.out) if args.out else SAMPLES_DIR
        out.mkdir(parents=True, exist_ok=True)
        written = samples()
        for name, event in written.items():
            (out / name).write_text(render(event))
        print(f"localcloud event: wrote {len(written)} samples to {out}")
        return 0
    allowed = {"api": API_ACTIONS, "decision": DECISIONS}.get(args.kind, FUNCTIONS[args.kind])
    if args.action is not None and args.action not in allowed:
        print(
            f"localcloud event {args.kind}: {args.action!r} is not one of {', '.join(allowed)}",
            file=sys.stderr,
        )
        return 2
    request = Request(args.kind, args.action, args.owner, args.document, args.event_type)
    try:
        generated = generate(request, StackView.load(args.state_dir))
    except EventError as exc:
        print(f"localcloud event {args.kind}: {exc}", file=sys.stderr)
        return 1
    except botocore.exceptions.EndpointConnectionError:
        print(
            f"localcloud event {args.kind}: the local stack of {args.state_dir} does not answer: "
            "start it with `make up`",
            file=sys.stderr,
        )
        return 1
    if args.out == "-":
        sys.stdout.write(render(generated.event))
        return 0
    path = Path(args.out) if args.out else args.state_dir / "events" / f"{generated.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(generated.event))
    print(f"{path}: {generated.summary}")
    print(f"  npx sls invoke local --stage local -f {generated.function} -p {path}")
    return 0
