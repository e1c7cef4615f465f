"""A hostile-input campaign against the local stack (issue 11, item 7).

Hundreds of distinct inputs (tests/e2e/hostile.py: families x variations, deterministic) go
through the public API, the presigned uploads, straight into the fan-out queues, onto the
events topic and into the log stream, with duplicate deliveries and cross-owner attempts.
The campaign runs once per session (a module fixture, uploads batched concurrently and their
statuses polled together); each test then checks one invariant over everything it saw and
reports every violation at once:

- no HTTP input gets a 5xx, an error answer is JSON, and a documented contract's status holds;
- every uploaded document reaches a final status within BOUND_SECONDS, with a reason free of
  exception class names, tracebacks and memory addresses, and a client's bad file never ends
  `failed`;
- every poison message is dead-lettered (or, for the topic, filtered out), nothing is stuck in
  a source queue, no legitimate event is dead-lettered, the analytics consumer never fails a
  batch over a malformed record;
- duplicate deliveries (S3 events, SNS envelopes, racing decisions) have one effect;
- no owner sees, decides on or overwrites another owner's document.
"""

from __future__ import annotations

import builtins
import json
import re
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from tests.e2e import hostile
from tests.e2e.conftest import FINAL, STACK_PREFIX, LocalStack, retry_throttled, role_for
from tests.functional.events.conftest import Receiver
from tests.processing_samples import csv_bytes

pytestmark = pytest.mark.e2e

PREFIX = STACK_PREFIX
BOUND_SECONDS = 180.0  # from upload to a final status, per document
QUEUE_VISIBILITY_SECONDS = "5"  # sped up from 190 s: poison reaches its dead-letter queue in time
MIN_DISTINCT_INPUTS = 300
WORKERS = 8
# Exception class names (built-in ones too, and decimal's signals), tracebacks, reprs, addresses.
_EXCEPTION_NAMES = sorted(
    {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    | {"Overflow", "InvalidOperation", "DivisionByZero", "ConversionSyntax"}
)
LEAKY_REASON = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?:Error|Exception)\b|Traceback|0x[0-9a-fA-F]{6,}|<class '|"
    r" object at |\b(?:" + "|".join(_EXCEPTION_NAMES) + r")\b"
)


@dataclass
class Report:
    """What the campaign saw: violations per invariant, inputs per family, timings."""

    violations: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    inputs: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def violate(self, invariant: str, message: str) -> None:
        self.violations[invariant].append(message)

    def count(self, family: str, names: Iterable[str]) -> None:
        self.inputs[family] += len(set(names))

    def check(self, invariant: str) -> None:
        found = self.violations.get(invariant, [])
        assert not found, f"{len(found)} violation(s) of {invariant}:\n" + "\n".join(
            f"  - {line}" for line in found
        )


def _parallel(
    items: Iterable[Any], work: Callable[[Any], Any], workers: int = WORKERS
) -> list[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, items))


def _short(value: Any, limit: int = 240) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# ---- HTTP ---------------------------------------------------------------------------------


def _raw_http(
    url: str, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    """A request with headers as given (requests would fix a malformed Content-Length)."""
    parts = urlsplit(url)
    lines = [
        f"{method} {parts.path.rstrip('/')}{path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Connection: close",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=60) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        conn.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, payload


def _send(local: LocalStack, case: hostile.HttpCase, fill: dict[str, str]) -> tuple[int, bytes]:
    return retry_throttled(lambda: _send_once(local, case, fill), lambda answer: answer[0])


def _send_once(
    local: LocalStack, case: hostile.HttpCase, fill: dict[str, str]
) -> tuple[int, bytes]:
    path = case.path
    for placeholder, value in fill.items():
        path = path.replace(placeholder, value)
    headers = dict(case.headers)
    if case.owner is not None:
        headers.setdefault("x-api-key", local.key(case.owner, role_for(case.path)))
    if case.raw:
        return _raw_http(local.api_url, case.method, path, headers, case.body or b"")
    encoded = {
        name: value.encode("utf-8", "surrogatepass").decode("latin-1")
        for name, value in headers.items()
    }
    answer = requests.request(
        case.method, f"{local.api_url}{path}", data=case.body, headers=encoded, timeout=60
    )
    return answer.status_code, answer.content


def _check_http(report: Report, case: hostile.HttpCase, status: int, body: bytes) -> str | None:
    answer = _short(body.decode("utf-8", "replace"), 160)
    shown = f"{case.name}: {case.method} {_short(case.path, 80)} -> {status} {answer}"
    if status >= 500 or status == 0:
        report.violate("no_5xx", shown)
        return None
    if status >= 400:
        try:
            message = json.dumps(json.loads(body))
        except ValueError:
            report.violate("http_contract", f"{shown} (error answer is not JSON)")
        else:
            if LEAKY_REASON.search(message):
                report.violate("http_contract", f"{shown} (an exception name in the answer)")
    if status not in case.expect:
        report.violate("http_contract", f"{shown} (expected one of {sorted(case.expect)})")
    if status == 201:
        try:
            return str(json.loads(body)["document_id"])
        except (ValueError, KeyError, TypeError):
            report.violate("http_contract", f"{shown} (201 without a document_id)")
    return None


# ---- uploads ------------------------------------------------------------------------------


@dataclass
class Upload:
    case: hostile.UploadCase
    document_id: str | None = None
    owner: str = "demo-alice"
    key: str | None = None
    started: float = 0.0
    upload_status: int | None = None
    final: dict[str, Any] | None = None
    final_after: float | None = None
    form: dict[str, Any] | None = None


def _create(
    local: LocalStack, filename: str, content_type: str, size: int, owner: str
) -> dict[str, Any]:
    created = local.api(
        "POST",
        "/documents",
        owner,
        json={"filename": filename, "content_type": content_type, "size": size},
    )
    if created.status_code != 201:
        raise AssertionError(f"creating {filename!r}: {created.status_code} {created.text}")
    return dict(created.json())


def _do_upload(local: LocalStack, upload: Upload) -> Upload:
    case = upload.case
    size = case.declared_size if case.declared_size is not None else len(case.body)
    try:
        document = _create(local, case.filename, case.content_type, size, upload.owner)
    except AssertionError as exc:
        upload.upload_status = -1
        upload.final = {"status": "not_created", "reason": str(exc)}
        return upload
    upload.document_id = document["document_id"]
    form = dict(document["upload"]["fields"])
    upload.key = form["key"]
    upload.form = {"url": document["upload"]["url"], "fields": dict(form)}
    upload.started = time.monotonic()
    if case.mode == "admin_put":
        local.client("s3").put_object(
            Bucket=local.description["documents_bucket"],
            Key=upload.key,
            Body=case.body,
            ContentType=case.content_type,
        )
        upload.upload_status = 200
        return upload
    if case.mode == "tamper_key":
        form["key"] = f"incoming/{uuid.uuid4().hex}/{case.filename}"
    elif case.mode == "tamper_type":
        form["Content-Type"] = "image/png"
    sent = requests.post(
        document["upload"]["url"],
        data=form,
        files={"file": (case.filename, case.body, case.content_type)},
        timeout=60,
    )
    upload.upload_status = sent.status_code
    return upload


def _poll_final(local: LocalStack, uploads: list[Upload], deadline: float) -> None:
    """Statuses of every pending upload, polled together until final or past the deadline."""
    pending = [u for u in uploads if u.document_id and u.final is None and not u.case.refused]
    while pending and time.monotonic() < deadline:

        def look(upload: Upload) -> None:
            answer = local.api("GET", f"/documents/{upload.document_id}", upload.owner)
            if answer.status_code == 200 and answer.json().get("status") in FINAL:
                upload.final = answer.json()
                upload.final_after = time.monotonic() - upload.started

        _parallel(pending, look)
        pending = [u for u in pending if u.final is None]
        if pending:
            time.sleep(2)


def _check_uploads(local: LocalStack, report: Report, uploads: list[Upload]) -> None:
    for upload in uploads:
        case = upload.case
        where = (
            f"{case.name} ({case.filename!r} declared {case.content_type}, "
            f"{len(case.body)} bytes, {case.mode})"
        )
        if upload.document_id is None:
            report.violate("documents_final", f"{where}: could not be created: {upload.final}")
            continue
        if case.refused:
            if upload.upload_status is None or not 400 <= upload.upload_status < 500:
                report.violate(
                    "uploads_refused",
                    f"{where}: S3 answered {upload.upload_status}, expected a 4xx refusal",
                )
            answer = local.api("GET", f"/documents/{upload.document_id}", upload.owner)
            status = (
                answer.json().get("status") if answer.status_code == 200 else answer.status_code
            )
            if status != "awaiting_upload":
                report.violate(
                    "uploads_refused", f"{where}: document is {status}, expected awaiting_upload"
                )
            continue
        if upload.upload_status is None or upload.upload_status >= 300:
            report.violate("uploads_refused", f"{where}: upload answered {upload.upload_status}")
            continue
        final = upload.final
        if final is None:
            answer = local.api("GET", f"/documents/{upload.document_id}", upload.owner)
            shown = answer.json().get("status") if answer.status_code == 200 else answer.status_code
            report.violate(
                "documents_final",
                f"{where}: {upload.document_id} still {shown} after {BOUND_SECONDS:.0f} s",
            )
            continue
        status, reason = final.get("status"), final.get("reason")
        line = f"{where}: {upload.document_id} ended {status}, reason {_short(reason)}"
        if status != "processed" and not (isinstance(reason, str) and reason.strip()):
            report.violate("reasons_clean", f"{line} (no reason)")
        if isinstance(reason, str) and LEAKY_REASON.search(reason):
            report.violate(
                "reasons_clean", f"{line} (exception name, traceback or address in the reason)"
            )
        if status == "failed" and case.client_caused:
            report.violate(
                "client_problems_rejected", f"{line} (a client's file must end rejected)"
            )
        if status not in case.expect:
            report.violate("documents_outcome", f"{line} (expected {sorted(case.expect)})")


# ---- queues, topic, stream ------------------------------------------------------------------


def _drain(local: LocalStack, name: str) -> list[dict[str, Any]]:
    """Every message in a dead-letter queue (received, then deleted: they are the campaign's)."""
    sqs, url = local.client("sqs"), local.queue_url(name)
    messages: list[dict[str, Any]] = []
    empty = 0
    while empty < 2:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        empty = 0 if got else empty + 1
        messages += got
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def _case_of(message: dict[str, Any]) -> str | None:
    attribute = (message.get("MessageAttributes") or {}).get("campaign_case")
    if attribute:
        return str(attribute["StringValue"])
    found = re.search(r"campaign-case:(sns\.[a-z_]+)", message.get("Body", ""))
    if found:
        return found.group(1)
    try:
        attributes = json.loads(message["Body"]).get("MessageAttributes") or {}
        return str(attributes["campaign_case"]["Value"])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def _send_messages(local: LocalStack) -> list[hostile.MessageCase]:
    sqs, sns = local.client("sqs"), local.client("sns")
    topic = next(
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(f":{PREFIX}-events")
    )
    cases = hostile.queue_cases() + hostile.topic_cases()
    for case in cases:
        if case.target == "topic":
            attributes = {
                name: {"DataType": "String", "StringValue": value}
                for name, value in case.attributes.items()
            }
            attributes["campaign_case"] = {"DataType": "String", "StringValue": case.name}
            sns.publish(TopicArn=topic, Message=case.body, MessageAttributes=attributes)
        else:
            sqs.send_message(
                QueueUrl=local.queue_url(case.target),
                MessageBody=case.body,
                MessageAttributes={
                    "campaign_case": {"DataType": "String", "StringValue": case.name}
                },
            )
    return cases


def _check_messages(
    local: LocalStack, report: Report, cases: list[hostile.MessageCase], deadline: float
) -> None:
    while time.monotonic() < deadline and (
        local.queue_depth("notify") or local.queue_depth("webhooks")
    ):
        time.sleep(2)
    for queue in ("notify", "webhooks"):
        left = local.queue_depth(queue)
        if left:
            report.violate(
                "messages_accounted", f"{queue}: {left} message(s) still in the source queue"
            )
    dead = {queue: _drain(local, f"{queue}-dlq") for queue in ("notify", "webhooks")}
    for queue in ("notify", "webhooks"):
        # The topic's own dead letters (a subscription's redrive policy), where they exist:
        # a message there never reached its queue.
        try:
            undelivered = _drain(local, f"{queue}-delivery-dlq")
        except ClientError as exc:
            if "NonExistentQueue" in str(exc) or "QueueDoesNotExist" in str(exc):
                continue
            raise
        for message in undelivered:
            report.violate(
                "messages_accounted",
                f"the topic could not deliver to {queue} ({_case_of(message) or 'an event'}): "
                f"{_short(message['Body'], 200)}",
            )
    found: dict[str, set[str]] = {queue: set() for queue in dead}
    for queue, messages in dead.items():
        for message in messages:
            name = _case_of(message)
            if name is None:
                report.violate(
                    "messages_accounted",
                    f"{queue}-dlq holds a message the campaign did not send as poison: "
                    f"{_short(message['Body'], 300)}",
                )
            else:
                found[queue].add(name)
    counts = {queue: len(names) for queue, names in found.items()}
    report.notes.append(f"dead-lettered: {counts}")
    for case in cases:
        queues = ("notify", "webhooks") if case.target == "topic" else (case.target,)
        for queue in queues:
            there = case.name in found[queue]
            if case.expect == "dlq" and not there:
                report.violate(
                    "messages_accounted",
                    f"{case.name} -> {queue}: consumed without effect, expected dead-lettered "
                    f"({_short(case.body, 120)})",
                )
            if case.expect in {"filtered", "processed"} and there:
                report.violate(
                    "messages_accounted",
                    f"{case.name} -> {queue}: dead-lettered, expected {case.expect}",
                )


def _put_stream(local: LocalStack) -> list[hostile.StreamCase]:
    kinesis = local.client("kinesis")
    stream = f"{PREFIX}-logs"
    cases = hostile.stream_cases()
    for case in cases:
        kinesis.put_record(StreamName=stream, Data=case.data, PartitionKey=case.name)
    return cases


def _check_stream(local: LocalStack, report: Report, dlq_before: int, since_ms: int) -> None:
    dlq_after = local.queue_depth("analytics-dlq")
    if dlq_after != dlq_before:
        report.violate(
            "analytics_counts_malformed",
            f"analytics-dlq went from {dlq_before} to {dlq_after}: a batch with malformed "
            "records failed "
            "(documented: counted, never fatal)",
        )
    logs = local.client("logs")
    group = f"/aws/lambda/{PREFIX}-analytics"
    events: list[dict[str, Any]] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, startTime=since_ms
        ):
            events += page.get("events", [])
    except logs.exceptions.ResourceNotFoundException:
        pass
    errors = [
        e["message"]
        for e in events
        if re.search(
            r'"level": ?"(ERROR|CRITICAL)"|Traceback|Task timed out|Runtime\.|errorType',
            e["message"],
        )
    ]
    for message in errors[:10]:
        report.violate(
            "analytics_counts_malformed", f"analytics logged: {_short(message.strip(), 300)}"
        )


# ---- duplicates and owners ------------------------------------------------------------------


def _mail(local: LocalStack) -> list[dict[str, Any]]:
    path = Path(local.description["mail_log"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mails_for(local: LocalStack, document_id: str) -> list[dict[str, Any]]:
    return [m for m in _mail(local) if document_id in json.dumps(m)]


def _executions(local: LocalStack) -> Counter[str]:
    sfn = local.client("stepfunctions")
    names: Counter[str] = Counter()
    for machine in local.description["state_machines"].values():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
            for execution in page["executions"]:
                names[execution["name"]] += 1
    return names


def _redeliver_s3_event(local: LocalStack, upload: Upload, times: int = 3) -> None:
    s3 = local.client("s3")
    bucket = local.description["documents_bucket"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix=upload.key).get("Versions", [])
    first = min(versions, key=lambda v: v["LastModified"])
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-12-02T00:00:00.000Z",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": requests.utils.quote(upload.key or "", safe="/"),
                        "size": first["Size"],
                        "eTag": first["ETag"].strip('"'),
                        "versionId": first["VersionId"],
                        "sequencer": "00CAMPAIGN",
                    },
                },
            }
        ]
    }
    lam = local.client("lambda")
    for _ in range(times):
        lam.invoke(
            FunctionName=f"{PREFIX}-intake",
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )


def _list_all(local: LocalStack, owner: str) -> set[str]:
    ids: set[str] = set()
    cursor: str | None = None
    for _ in range(200):
        params = {"limit": "100", **({"next": cursor} if cursor else {})}
        answer = local.api("GET", "/documents", owner, params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids |= {item["document_id"] for item in body["items"]}
        cursor = body.get("next")
        if not cursor:
            break
    return ids


# ---- the campaign ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def campaign(local_stack: LocalStack) -> Report:
    local = local_stack
    report = Report()
    started = time.monotonic()
    since_ms = int(time.time() * 1000)
    sqs = local.client("sqs")
    receiver = Receiver()
    subscribers = f"{PREFIX}-webhook-subscribers"
    local.client("dynamodb").put_item(
        TableName=subscribers, Item={"subscriber_id": {"S": "campaign"}, "url": {"S": receiver.url}}
    )
    saved = {}
    for queue in ("notify", "webhooks"):
        url = local.queue_url(queue)
        saved[url] = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout", "Policy"]
        )["Attributes"]
        # The queue policy goes with it: moto's SetQueueAttributes drops a policy the request
        # does not name (AWS keeps it), and then the topic could no longer deliver.
        sqs.set_queue_attributes(
            QueueUrl=url,
            Attributes={**saved[url], "VisibilityTimeout": QUEUE_VISIBILITY_SECONDS},
        )
    try:
        _run(local, report, receiver, since_ms)
    finally:
        for url, attributes in saved.items():
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        local.client("dynamodb").delete_item(
            TableName=subscribers, Key={"subscriber_id": {"S": "campaign"}}
        )
        receiver.stop()
    report.seconds = time.monotonic() - started
    print(
        f"\ncampaign: {sum(report.inputs.values())} distinct inputs {dict(report.inputs)} "
        f"in {report.seconds:.0f} s"
    )
    for note in report.notes:
        print(f"campaign: {note}")
    for invariant, found in sorted(report.violations.items()):
        print(f"campaign: {invariant}: {len(found)} violation(s)")
    return report


def _run(local: LocalStack, report: Report, receiver: Receiver, since_ms: int) -> None:
    analytics_dlq_before = local.queue_depth("analytics-dlq")

    # Poison first: the consumers work through it while the uploads are processed.
    message_cases = _send_messages(local)
    stream_cases = _put_stream(local)
    report.count("queues", [c.name for c in message_cases if c.target != "topic"])
    report.count("topic", [c.name for c in message_cases if c.target == "topic"])
    report.count("stream", [c.name for c in stream_cases])

    # Documents the HTTP cases aim at, and every hostile upload, all at once.
    good_csv = csv_bytes(3, amount="2")
    anchors = {
        "alice_doc": Upload(
            hostile.UploadCase(
                "anchor.alice",
                "anchor.csv",
                "text/csv",
                good_csv,
                frozenset({"processed"}),
                client_caused=False,
            )
        ),
        "bob_doc": Upload(
            hostile.UploadCase(
                "anchor.bob",
                "anchor.csv",
                "text/csv",
                good_csv,
                frozenset({"processed"}),
                client_caused=False,
            ),
            owner="demo-bob",
        ),
        "alice_flagged": Upload(
            hostile.UploadCase(
                "anchor.flagged",
                "flagged.csv",
                "text/csv",
                csv_bytes(3, amount="4000"),
                frozenset({"processed", "rejected"}),
                client_caused=False,
            )
        ),
    }
    upload_cases = hostile.upload_cases()
    uploads = [Upload(case) for case in upload_cases]
    report.count("uploads", [c.name for c in upload_cases])
    _parallel([*anchors.values(), *uploads], lambda u: _do_upload(local, u))

    # The flagged one must wait for its approver before the HTTP cases run.
    flagged = anchors["alice_flagged"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # A poll, not a probe: an answer other than 200 (a local timeout under load) is asked
        # again; the invariants below judge the document's final state.
        answer = local.api("GET", f"/documents/{flagged.document_id}")
        if answer.status_code == 200 and answer.json().get("status") in {
            "awaiting_approval",
            *FINAL,
        }:
            break
        time.sleep(1)
    _poll_final(local, [anchors["alice_doc"], anchors["bob_doc"]], time.monotonic() + 120)
    fill = {f"{{{name}}}": str(u.document_id) for name, u in anchors.items()}

    # HTTP: cases aimed at the flagged document first (its approval expires after 60 s).
    http_cases = hostile.http_cases()
    report.count("http", [c.name for c in http_cases])
    first = [c for c in http_cases if hostile.ALICE_FLAGGED in c.path]
    rest = [c for c in http_cases if hostile.ALICE_FLAGGED not in c.path]
    created: list[str] = []

    def run_http(case: hostile.HttpCase) -> None:
        try:
            status, body = _send(local, case, fill)
        except (requests.RequestException, OSError) as exc:
            report.violate(
                "no_5xx",
                f"{case.name}: {case.method} {case.path} -> no answer ({type(exc).__name__})",
            )
            return
        document_id = _check_http(report, case, status, body)
        if document_id:
            created.append(document_id)

    _parallel(first, run_http)
    waiting = local.api("GET", f"/documents/{flagged.document_id}").json()
    if waiting["status"] != "awaiting_approval":
        report.violate(
            "owners_isolated",
            f"alice's flagged document is {waiting['status']} ({waiting.get('reason')}) "
            "after bob's decisions, expected awaiting_approval",
        )

    # Racing decisions by the owner: exactly one wins.
    decisions = ["approve", "reject"] * 3
    answers = _parallel(
        decisions,
        lambda d: local.api(
            "POST", f"/documents/{flagged.document_id}/decision", json={"decision": d}
        ),
        workers=6,
    )
    codes = Counter(a.status_code for a in answers)
    report.inputs["duplicates"] += 1
    if codes.get(200) != 1 or codes.get(409) != len(decisions) - 1:
        report.violate(
            "no_duplicate_effect",
            f"6 racing decisions answered {dict(codes)}, expected one 200 and five 409",
        )
    winner = next(
        (d for d, a in zip(decisions, answers, strict=True) if a.status_code == 200), None
    )
    flagged.case = hostile.UploadCase(
        "anchor.flagged",
        "flagged.csv",
        "text/csv",
        b"",
        frozenset({"processed" if winner == "approve" else "rejected"}),
        client_caused=False,
    )

    _parallel(rest, run_http)
    report.notes.append(
        f"HTTP phase done after {time.monotonic() - uploads[0].started:.0f} s since the uploads"
    )

    # Duplicate deliveries: intake's S3 event x3, an SNS envelope x3 into each fan-out queue.
    alice_doc, bob_doc = anchors["alice_doc"], anchors["bob_doc"]
    executions_before = _executions(local)
    _redeliver_s3_event(local, alice_doc)
    report.inputs["duplicates"] += 1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _mails_for(local, str(bob_doc.document_id)):
        time.sleep(1)
    mails_before = len(_mails_for(local, str(bob_doc.document_id)))
    hooks_before = sum(1 for r in receiver.requests if bob_doc.document_id in r["body"].decode())
    envelope = hostile._envelope(
        {"document_id": bob_doc.document_id, "event_type": "document.processed"},
        message_id=f"campaign-duplicate-{uuid.uuid4().hex}",
    )
    for queue in ("notify", "webhooks"):
        for _ in range(3):
            local.client("sqs").send_message(QueueUrl=local.queue_url(queue), MessageBody=envelope)
    report.inputs["duplicates"] += 2

    # Every document to its final status, polled together.
    everything = [*anchors.values(), *uploads]
    _poll_final(local, everything, max(u.started for u in everything if u.started) + BOUND_SECONDS)
    for upload in everything:
        if (
            upload.final is not None
            and upload.final_after is not None
            and upload.final_after > BOUND_SECONDS
        ):
            upload.final = None
    _check_uploads(local, report, everything)

    # A second upload to an accepted (processed) document: the original must stay current.
    late = next(u for u in uploads if u.case.name == "upload.valid.plus_space_name")
    report.inputs["uploads"] += 1
    if late.final and late.final.get("status") == "processed" and late.form:
        s3, bucket = local.client("s3"), local.description["documents_bucket"]
        original = s3.get_object(Bucket=bucket, Key=late.key)["Body"].read()
        replacement = original.replace(b",2\n", b",3\n")
        sent = requests.post(
            late.form["url"],
            data=late.form["fields"],
            files={"file": (late.case.filename, replacement, "text/csv")},
            timeout=60,
        )
        if sent.status_code >= 300:
            report.notes.append(f"late re-upload refused by S3: {sent.status_code}")
        else:
            prefix = f"quarantine/{late.document_id}/late/"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not s3.list_objects_v2(
                Bucket=bucket, Prefix=prefix
            ).get("KeyCount"):
                time.sleep(1)
            try:
                current = s3.get_object(Bucket=bucket, Key=late.key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                current = None
            listed = s3.list_object_versions(Bucket=bucket, Prefix=late.key)
            markers = [m for m in listed.get("DeleteMarkers", []) if m["IsLatest"]]
            if current != original or markers:
                report.violate(
                    "nothing_lost",
                    f"upload.late_reupload: after a second upload to processed "
                    f"{late.document_id}, the key {late.key!r} reads "
                    f"{'a delete marker' if markers else _short(current)}, "
                    "expected the accepted original",
                )
            status = local.api("GET", f"/documents/{late.document_id}").json().get("status")
            if status != "processed":
                report.violate(
                    "nothing_lost",
                    f"upload.late_reupload: document {late.document_id} went to {status}",
                )

    # An object under incoming/ with no document: moved to quarantine/unregistered/.
    s3, bucket = local.client("s3"), local.description["documents_bucket"]
    orphans = [
        f"incoming/{uuid.uuid4().hex}/orphan.csv",
        f"incoming/{uuid.uuid4().hex}/a+b c.csv",
        "incoming/no-slash.csv",
    ]
    for key in orphans:
        s3.put_object(Bucket=bucket, Key=key, Body=good_csv)
    report.count("uploads", [f"s3.orphan.{i}" for i in range(len(orphans))])

    # Messages and stream records: every one accounted for.
    _check_messages(local, report, message_cases, time.monotonic() + 90)
    _check_stream(local, report, analytics_dlq_before, since_ms)

    # Duplicates had one effect.
    executions = _executions(local)
    again = executions - executions_before
    if any(name.startswith(str(alice_doc.document_id)) for name in again):
        report.violate(
            "no_duplicate_effect",
            f"intake's S3 event x3 for {alice_doc.document_id} started {dict(again)}",
        )
    for upload in everything:
        if upload.document_id:
            runs = sum(c for n, c in executions.items() if n.startswith(upload.document_id))
            if runs > 1:
                report.violate(
                    "no_duplicate_effect",
                    f"{upload.case.name}: {upload.document_id} has {runs} executions",
                )
    mails_after = len(_mails_for(local, str(bob_doc.document_id)))
    hooks_after = sum(1 for r in receiver.requests if bob_doc.document_id in r["body"].decode())
    if mails_after != mails_before + 1:
        report.violate(
            "no_duplicate_effect",
            f"one SNS envelope x3 into notify: {mails_after - mails_before} e-mails, expected 1",
        )
    if hooks_after != hooks_before + 1:
        report.violate(
            "no_duplicate_effect",
            f"one SNS envelope x3 into webhooks: {hooks_after - hooks_before} calls, expected 1",
        )
    for upload in everything:
        if not upload.document_id or upload is bob_doc:
            continue
        mails = _mails_for(local, upload.document_id)
        subjects = Counter(m.get("subject") for m in mails)
        for subject, count in subjects.items():
            if count > 1:
                report.violate(
                    "no_duplicate_effect",
                    f"{upload.case.name}: {count} e-mails {subject!r} for {upload.document_id}",
                )
        others = {e["owner"] for e in local.description["api_keys"].values()} - {upload.owner}
        for mail in mails:
            if any(f"{other}@" in json.dumps(mail.get("destinations")) for other in others):
                report.violate(
                    "owners_isolated",
                    f"{upload.case.name}: e-mail for {upload.document_id} went to "
                    f"{mail.get('destinations')}",
                )
        calls: dict[str, list[float]] = {}
        for r in receiver.requests:
            if upload.document_id in r["body"].decode():
                calls.setdefault(json.loads(r["body"]).get("event_type"), []).append(r["at"])
        for event_type, times in calls.items():
            if len(times) > 1:
                gaps = ", ".join(f"{later - times[0]:.1f} s" for later in times[1:])
                report.violate(
                    "no_duplicate_effect",
                    f"{upload.case.name}: {len(times)} webhook calls {event_type} "
                    f"for {upload.document_id} (again after {gaps})",
                )

    # Nothing lost on the way out: every processed document told its owner once, and the
    # subscriber once (the fan-out queues are fed by the topic, through their queue policy).
    processed = [
        u
        for u in everything
        if u.document_id and u.final and u.final.get("status") == "processed" and u is not bob_doc
    ]

    def delivered(upload: Upload) -> tuple[int, int]:
        mails = [
            m
            for m in _mails_for(local, str(upload.document_id))
            if f"{upload.owner}@" in json.dumps(m.get("destinations"))
        ]
        calls = [r for r in receiver.requests if str(upload.document_id) in r["body"].decode()]
        return len(mails), len(calls)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(delivered(u) != (1, 1) for u in processed):
        time.sleep(2)
    for upload in processed:
        mails, calls = delivered(upload)
        if (mails, calls) != (1, 1):
            report.violate(
                "events_delivered",
                f"{upload.case.name}: processed {upload.document_id} gave {mails} e-mail(s) to "
                f"{upload.owner} and {calls} webhook call(s), expected 1 and 1",
            )

    # Owners: bob lists none of alice's documents, alice none of bob's.
    alice_ids = {
        u.document_id for u in everything if u.owner == "demo-alice" and u.document_id
    } | set(created)
    bob_ids = {str(bob_doc.document_id)}
    seen_by_bob, seen_by_alice = _list_all(local, "demo-bob"), _list_all(local, "demo-alice")
    for leaked in sorted(alice_ids & seen_by_bob):
        report.violate("owners_isolated", f"bob's listing shows alice's document {leaked}")
    for leaked in sorted(bob_ids & seen_by_alice):
        report.violate("owners_isolated", f"alice's listing shows bob's document {leaked}")
    for document_id in created:
        if local.api("GET", f"/documents/{document_id}", "demo-bob").status_code != 404:
            report.violate(
                "owners_isolated",
                f"bob can read {document_id}, created by alice with unknown fields",
            )
    for key in orphans:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and s3.list_objects_v2(Bucket=bucket, Prefix=key).get(
            "KeyCount"
        ):
            time.sleep(1)
        kept = [
            listed["Key"]
            for listed in s3.list_objects_v2(Bucket=bucket, Prefix="quarantine/unregistered/").get(
                "Contents", []
            )
            if listed["Key"].endswith(key)
        ]
        if s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount") or not kept:
            report.violate(
                "documents_outcome",
                f"orphan object {key!r} (no document): still under incoming/ or not kept under "
                "quarantine/unregistered/",
            )


# ---- the invariants -------------------------------------------------------------------------


def test_the_campaign_tries_at_least_300_distinct_hostile_inputs(campaign: Report) -> None:
    total = sum(campaign.inputs.values())
    assert total >= MIN_DISTINCT_INPUTS, dict(campaign.inputs)
    assert set(campaign.inputs) == {"http", "uploads", "queues", "topic", "stream", "duplicates"}


def test_no_http_input_gets_a_5xx(campaign: Report) -> None:
    campaign.check("no_5xx")


def test_every_http_answer_follows_the_contract(campaign: Report) -> None:
    campaign.check("http_contract")


def test_every_uploaded_document_is_final_within_the_bound(campaign: Report) -> None:
    campaign.check("documents_final")


def test_every_reason_is_free_of_exception_names_and_addresses(campaign: Report) -> None:
    campaign.check("reasons_clean")


def test_a_client_caused_problem_never_ends_failed(campaign: Report) -> None:
    campaign.check("client_problems_rejected")


def test_every_document_ends_as_documented(campaign: Report) -> None:
    campaign.check("documents_outcome")


def test_uploads_s3_refuses_leave_the_document_waiting(campaign: Report) -> None:
    campaign.check("uploads_refused")


def test_every_poison_message_is_dead_lettered_and_none_is_stuck(campaign: Report) -> None:
    campaign.check("messages_accounted")


def test_the_analytics_consumer_counts_malformed_records_without_failing(campaign: Report) -> None:
    campaign.check("analytics_counts_malformed")


def test_every_processed_document_yields_one_email_and_one_webhook(campaign: Report) -> None:
    campaign.check("events_delivered")


def test_duplicate_deliveries_have_one_effect(campaign: Report) -> None:
    campaign.check("no_duplicate_effect")


def test_no_owner_affects_another_owners_documents(campaign: Report) -> None:
    campaign.check("owners_isolated")


def test_nothing_is_lost_by_a_late_upload(campaign: Report) -> None:
    campaign.check("nothing_lost")
