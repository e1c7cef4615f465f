"""docflow's main job, end to end, on the local stack, through its public interfaces only.

`make demo` starts the local stack and deploys it (`make up`), then this script plays a
working day: two owners upload documents through the HTTP API over real HTTP, send the
bytes to the presigned S3 POSTs, and watch each document move through the workflows. It
prints a timeline per document (status, the function that moved it, time since the
previous step) and a summary. Then the log analytics: a short game day (the api function may
not read the documents table for a few requests, which answer 500), the per-route windows the
analytics made of the whole demo's traffic (CloudWatch metrics, from the HTTP API's access log
through its subscription filter and the Kinesis stream) and the alert the alarm topic received.
It exits non-zero if any document ends in a status other than the one expected, or the alert
does not arrive.

    python -m scripts.demo [--stack .local/stack.json] [--timeout 180] [--record]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

from bench.common import write_results
from docflow.intake.scan import EICAR
from docflow.webhooks.model import SIGNATURE_HEADER, verify
from localcloud.stack import stack_client
from scripts import observability

FINAL = {"processed", "rejected", "quarantined", "failed"}
HTTP_TIMEOUT_S = 30


@dataclass
class Case:
    """One document of the scenario and the status it must end in."""

    label: str
    owner: str
    filename: str
    content_type: str
    content: bytes
    expect: str
    decision: str | None = None  # "approve" or "reject" when it waits for approval
    document_id: str = ""
    seen: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    decided: bool = False


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata([(x % 256, y % 256, (x + y) % 256) for y in range(height) for x in range(width)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _invoice_csv(rows: int, amount: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["invoice_id", "customer", "amount", "currency", "date"])
    for i in range(rows):
        writer.writerow([f"INV-{1000 + i}", f"Customer {i % 7}", amount, "EUR", "2026-11-27"])
    return out.getvalue().encode()


def scenario(processing: bool) -> list[Case]:
    done = "processed" if processing else "accepted"
    cases = [
        Case("image", "demo-alice", "site photo.png", "image/png", _png(640, 480), done),
        Case(
            "csv",
            "demo-alice",
            "invoices 2026+Q4.csv",
            "text/csv",
            _invoice_csv(40, "125.50"),
            done,
        ),
        Case(
            "renamed-exe",
            "demo-bob",
            "totally-a-spreadsheet.csv",
            "text/csv",
            b"MZ\x90\x00\x03\x00\x00\x00" + bytes(512),
            "rejected",
        ),
        Case("eicar", "demo-bob", "notes.csv", "text/csv", EICAR, "quarantined"),
    ]
    if processing:
        big = _invoice_csv(20, "9500.00")
        cases += [
            Case(
                "approved", "demo-alice", "large order.csv", "text/csv", big, "processed", "approve"
            ),
            Case(
                "refused", "demo-alice", "larger order.csv", "text/csv", big, "rejected", "reject"
            ),
        ]
    return cases


class Client:
    """Calls the API as a demo owner: with its submit-only key, or its approve-only key for
    decisions (the key that submitted a document may not decide on it)."""

    def __init__(self, api_url: str, keys: dict[tuple[str, str], str]) -> None:
        self.api_url = api_url.rstrip("/")
        self.keys = keys
        self.http = requests.Session()

    def call(
        self, owner: str, method: str, path: str, body: Any = None, role: str = "submit"
    ) -> Any:
        response = self.http.request(
            method,
            f"{self.api_url}{path}",
            headers={"x-api-key": self.keys[(owner, role)]},
            json=body,
            timeout=HTTP_TIMEOUT_S,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def upload(self, case: Case) -> None:
        created = self.call(
            case.owner,
            "POST",
            "/documents",
            {
                "filename": case.filename,
                "content_type": case.content_type,
                "size": len(case.content),
            },
        )
        case.document_id = created["document_id"]
        upload = created["upload"]
        response = self.http.post(
            upload["url"],
            data=upload["fields"],
            files={"file": (case.filename, case.content, case.content_type)},
            timeout=HTTP_TIMEOUT_S,
        )
        if response.status_code not in (200, 201, 204):
            raise RuntimeError(f"upload of {case.label}: {response.status_code} {response.text}")


def _load_stack(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SystemExit(f"{path} not found: start the local stack first (make up)")
    return dict(json.loads(path.read_text()))


def _print_steps(case: Case, started: float) -> None:
    for entry in case.history[case.seen :]:
        previous = case.history[case.seen - 1]["at"] if case.seen else None
        step = _seconds_between(previous, entry["at"]) if previous else 0.0
        reason = f"  ({entry['reason']})" if entry.get("reason") else ""
        print(
            f"  +{time.monotonic() - started:6.2f}s  {case.label:12} {entry['status']:18} "
            f"by {entry['actor']:26} {step:7.3f}s{reason}"
        )
        case.seen += 1


def _seconds_between(earlier: str, later: str) -> float:
    from datetime import datetime

    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return (parse(later) - parse(earlier)).total_seconds()


class WebhookReceiver:
    """A subscriber on loopback that records every delivery (the demo's partner system)."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/docflow"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FanOut:
    """What the operator sees of the events workflows: e-mails, webhooks, the lake."""

    def __init__(self, stack: dict[str, Any]) -> None:
        self.stack = stack
        config = yaml.safe_load(Path(f"config/{stack['stage']}.yml").read_text())
        self.webhooks_config = config["fanout"]["webhooks"]
        self.lake_prefix = config["sync"]["lakePrefix"]
        self.receiver = WebhookReceiver()
        self.emails_before = 0

    def client(self, service: str) -> Any:
        return stack_client(self.stack, service)

    def _emails_sent(self) -> int:
        return int(self.client("ses").get_send_quota()["SentLast24Hours"])

    def subscribe(self) -> None:
        """The operator registers a subscriber (items in the subscribers table, docs/events.md)."""
        self.client("dynamodb").put_item(
            TableName=self.stack["tables"]["SubscribersTable"],
            Item={"subscriber_id": {"S": "demo-partner"}, "url": {"S": self.receiver.url}},
        )
        self.emails_before = self._emails_sent()
        time.sleep(self.webhooks_config["subscribersCacheSeconds"] + 1)

    def unsubscribe(self) -> None:
        """Removes what `subscribe` registered, so later documents are not delivered to a
        receiver that is gone (they would log `webhook_failed` and open its breaker)."""
        dynamodb = self.client("dynamodb")
        for table in ("SubscribersTable", "BreakersTable"):
            if table in self.stack["tables"]:
                dynamodb.delete_item(
                    TableName=self.stack["tables"][table],
                    Key={"subscriber_id": {"S": "demo-partner"}},
                )
        # A function may reuse the subscriber list it read until its cache expires: keep
        # answering until then.
        time.sleep(self.webhooks_config["subscribersCacheSeconds"] + 1)
        self.receiver.stop()
        print("  webhook subscriber 'demo-partner' removed")

    def _lake_records(self, document_ids: set[str]) -> int:
        s3 = self.client("s3")
        bucket = next(
            b["Name"]
            for b in s3.list_buckets()["Buckets"]
            if b["Name"].startswith(f"{self.stack['stack']}-analytics-")
        )
        found = 0
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=self.lake_prefix
        ):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
                found += sum(
                    json.loads(line).get("document_id") in document_ids
                    for line in body.splitlines()
                    if line.strip()
                )
        return found

    def report(self, cases: list[Case], timeout_s: float) -> bool:
        """Waits for one e-mail and one signed webhook per workflow outcome, and lake records."""
        outcomes = [c for c in cases if c.final.get("status") in {"processed"} or c.decision]
        expected = len(outcomes)
        secret_name = self.webhooks_config["signingSecretName"]
        secret = self.client("secretsmanager").get_secret_value(SecretId=secret_name)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (
                len(self.receiver.calls) >= expected
                and self._emails_sent() - self.emails_before >= expected
            ):
                break
            time.sleep(0.5)
        signed = sum(
            verify(
                secret["SecretString"],
                headers.get(SIGNATURE_HEADER.lower(), ""),
                body,
                time.time(),
                600,
            )
            for headers, body in self.receiver.calls
        )
        emails = self._emails_sent() - self.emails_before
        lake = self._lake_records({c.document_id for c in cases})
        print("\nfan-out and sync:")
        print(f"  e-mails to owners (SES)         {emails:3}   expected {expected}")
        print(f"  webhook calls, signature valid  {signed:3}   expected {expected}")
        print(
            f"  lake records (JSON Lines in S3) {lake:3}   at least one per document ({len(cases)})"
        )
        return emails == expected and signed == expected and lake >= len(cases)


class Analytics:
    """What the log analytics made of the demo's traffic, and the page an outage raises."""

    ROUTE = "GET /documents/{id}"

    def __init__(self, stack: dict[str, Any]) -> None:
        self.stack = stack
        config = yaml.safe_load(Path(f"config/{stack['stage']}.yml").read_text())["analytics"]
        self.namespace = str(config["namespace"])
        self.window_s = int(config["windowSeconds"])
        self.outage_requests = int(config["alert"]["minRequests"]) + 5
        self.since = datetime.now(UTC)
        self.since -= timedelta(seconds=self.since.timestamp() % self.window_s)
        topic = observability.stack_resource(self.client, stack["stack"], "AlarmTopic")
        self.inbox = observability.AlarmInbox(self.client, topic, f"{stack['stack']}-demo-pages")

    def client(self, service: str) -> Any:
        return stack_client(self.stack, service)

    def game_day(self, client: Client, case: Case) -> None:
        """Requests for one document while the api function may not read the table."""
        table = self.stack["tables"]["DocumentsTable"]
        table_arn = f"arn:aws:dynamodb:{self.stack['region']}:123456789012:table/{table}"
        # The whole outage inside one window, so that window holds enough requests to judge.
        while time.time() % self.window_s > self.window_s / 2:
            time.sleep(0.2)
        failed = 0
        with observability.ReadOutage(self.client, f"{self.stack['stack']}-api", table_arn):
            for _ in range(self.outage_requests):
                try:
                    client.call(case.owner, "GET", f"/documents/{case.document_id}")
                except RuntimeError:
                    failed += 1
        print(
            "\nlog analytics:\n  game day: the api function may not read the documents table;"
            f" {failed} of {self.outage_requests} reads of {case.document_id} answered 5xx"
        )

    def report(self) -> bool:
        """The closed windows of the demo's traffic, and the alert; False if none arrived."""
        print(f"  waiting for the window to close ({self.window_s} s windows)...")
        alert = self.inbox.wait_for(self.ROUTE, timeout_s=3 * self.window_s + 30)
        rows = observability.window_figures(
            self.client, self.namespace, "docflow", self.since, self.window_s
        )
        print(f"  windows (CloudWatch {self.namespace}, from the HTTP API's access log):")
        for line in observability.format_windows(rows):
            print(line)
        if alert is None:
            print(f"  no alert for {self.ROUTE} reached the alarm topic")
            return False
        window = alert["window"]
        print(
            f"  alert on the alarm topic: {alert['route']}: {'; '.join(alert['reasons'])}"
            f" (window {window['start']} to {window['end']})"
        )
        return True


def run(stack_path: Path, timeout_s: float, record: bool = False) -> int:
    stack = _load_stack(stack_path)
    keys = {
        (entry["owner"], role): entry["key"]
        for entry in stack["api_keys"].values()
        for role in entry["roles"]
    }
    client = Client(stack["api_url"], keys)
    cases = scenario(processing=bool(stack.get("state_machine_arn")))
    fanout = FanOut(stack) if "SubscribersTable" in stack.get("tables", {}) else None
    analytics = Analytics(stack)
    owners = ", ".join(sorted({c.owner for c in cases}))
    print(f"docflow demo: {len(cases)} documents from {owners} through {stack['api_url']}")
    if fanout is not None:
        fanout.subscribe()
        print(f"  webhook subscriber 'demo-partner' listening at {fanout.receiver.url}")
    since = time.time() - 60  # X-Ray selects a trace by its first segment's start
    try:
        failures = _play(client, cases, fanout, timeout_s, record)
        analytics.game_day(client, cases[0])
        failures += not analytics.report()
    finally:
        analytics.inbox.close()
        if fanout is not None:
            fanout.unsubscribe()
    failures += not trace_waterfall(stack, cases, since)
    _console_hint(stack)
    return 1 if failures else 0


def _play(
    client: Client, cases: list[Case], fanout: FanOut | None, timeout_s: float, record: bool
) -> int:
    print()
    started = time.monotonic()
    for case in cases:
        client.upload(case)
        size = len(case.content)
        print(f"  uploaded {case.label:12} {case.document_id}  {case.filename!r} ({size} bytes)")
    print("\ntimeline (elapsed, document, status, function, time since its previous step):")
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        for case in cases:
            if case.final:
                continue
            document = client.call(case.owner, "GET", f"/documents/{case.document_id}")
            case.history = document["history"]
            _print_steps(case, started)
            if document["status"] == "awaiting_approval" and case.decision and not case.decided:
                client.call(
                    case.owner,
                    "POST",
                    f"/documents/{case.document_id}/decision",
                    {"decision": case.decision, "comment": "demo approver"},
                    role="approve",
                )
                case.decided = True
            if document["status"] in FINAL:
                case.final = document
        if all(case.final for case in cases):
            break
        time.sleep(0.3)
    elapsed = time.monotonic() - started
    failures = _summary(cases, elapsed)
    if record:
        _record(cases, elapsed)
    if fanout is not None and not fanout.report(cases, timeout_s=120):
        print("fan-out or sync fell short of what the documents' outcomes should produce")
        failures += 1
    return failures


def trace_waterfall(stack: dict[str, Any], cases: list[Case], since: float) -> bool:
    """One processed document's journey from the X-Ray API: functions, AWS calls, durations.

    Printed, and written as an HTML page under .local/traces/. False when no trace names it.
    """
    from scripts import waterfall

    shown = next(
        (c for c in cases if c.final.get("status") == "processed" and not c.decision), None
    )
    if shown is None:
        return True  # nothing was processed (a stack without the processing workflow)
    print(f"\ntraces of the {shown.label} document (X-Ray, annotation.document_id):")
    xray = waterfall.xray_client(stack)
    deadline = time.monotonic() + 30
    while not waterfall.journey(xray, shown.document_id, since) and time.monotonic() < deadline:
        time.sleep(1)  # the daemon receives segments as the functions finish
    path = waterfall.show(stack, shown.document_id, Path(".local/traces"), since)
    if path is not None:
        print(f"  waterfall page: {path.resolve()}")
    return path is not None


def _record(cases: list[Case], elapsed: float) -> None:
    """How long the scenario took on this machine: bench/results/demo.json."""
    write_results(
        "demo",
        {
            "documents": len(cases),
            "scenario_seconds": round(elapsed, 2),
            "per_document_seconds": {
                case.label: round(
                    _seconds_between(case.history[0]["at"], case.history[-1]["at"]), 2
                )
                for case in cases
                if case.history
            },
        },
    )


def _summary(cases: list[Case], elapsed: float) -> int:
    print(f"\nsummary after {elapsed:.1f}s:")
    failures = 0
    for case in cases:
        last = case.history[-1]["status"] if case.history else "unknown"
        status = case.final.get("status", f"(still {last})")
        ok = status == case.expect
        failures += not ok
        reason = case.final.get("reason", "")
        mark = "ok " if ok else "BAD"
        print(f"  {mark} {case.label:12} {status:12} expected {case.expect:12} {reason}")
    print(f"\n{len(cases) - failures} of {len(cases)} documents ended as expected")
    return failures


def _console_hint(stack: dict[str, Any]) -> None:
    if stack.get("console_url"):
        print(f"\nlocal console (read-only, loopback): {stack['console_url']}/documents")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--stack", type=Path, default=Path(".local/stack.json"))
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument(
        "--record", action="store_true", help="write the timings to bench/results/demo.json"
    )
    args = parser.parse_args(argv)
    return run(args.stack, args.timeout, args.record)


if __name__ == "__main__":
    sys.exit(main())
