"""The local console in a real browser (headless Debian Chromium driven by Playwright).

A demo-like day on the session's stack: a CSV with a hostile name (processed), a flagged CSV
approved through the API (processed after a task-token wait), an image cut off after its header
(rejected by the Map's caught RejectedError) and the EICAR file (quarantined). Then the browser
reads the console from the URL the stack describes: the documents with their final statuses,
a document's timeline and its execution graph with the visited states, the task-token decision,
an invocation's REPORT line, and the queues page's dead-letter counts against SQS's own.
A screenshot of each page goes to .artifacts/console/.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud import server, stack
from tests.e2e.conftest import FINAL, LocalStack
from tests.e2e.hostile import EICAR
from tests.processing_samples import csv_bytes, image_bytes

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# As the machines' notes say: without the background-networking flags Chromium keeps trying
# hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Test artifacts (gitignored); docs/console/*.png are copies of one run's.
SCREENSHOTS = stack.ROOT / ".artifacts" / "console"
# No "/" (the API refuses it in a name), so the closing tag is left to the browser.
HOSTILE_NAME = '"><script>alert("console")<script><img src=x onerror=alert(1)>.csv'


@pytest.fixture(scope="module")
def day(local_stack: LocalStack) -> dict[str, dict[str, Any]]:
    """The scenario's documents, each in its final status."""
    ids = {
        "hostile": local_stack.upload(HOSTILE_NAME, "text/csv", csv_bytes(5, amount="2")),
        "eicar": local_stack.upload("notes.csv", "text/csv", EICAR),
        "flagged": local_stack.upload("big order.csv", "text/csv", csv_bytes(3, amount="4000")),
    }
    cut = image_bytes(1200, 800)
    ids["cut"] = local_stack.upload("cut.jpg", "image/jpeg", cut[: len(cut) // 3])
    local_stack.wait_status(ids["flagged"], {"awaiting_approval", *FINAL})
    decided = local_stack.api(
        "POST", f"/documents/{ids['flagged']}/decision", json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.text
    return {label: local_stack.wait_status(i, FINAL) for label, i in ids.items()}


@pytest.fixture(scope="module")
def console_url(local_stack: LocalStack) -> str:
    url = local_stack.description.get("console_url")
    assert url, "the stack's description names no console_url"
    return str(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium"
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    tab.close()
    assert dialogs == [], f"a page ran script: {dialogs}"


@pytest.fixture
def visit(page: Any, local_stack: LocalStack, console_url: str) -> Callable[[str], None]:
    """Open a console path, which must answer 200 (a failed page logs why in the stack's log)."""

    def go(path: str) -> None:
        answer = page.goto(f"{console_url}{path}")
        if answer is not None and answer.status == 200:
            return
        log = (local_stack.state_dir / server.LOG_FILE).read_text(errors="replace")
        failed = log[log.rfind("console page") :][:3000] if "console page" in log else ""
        status = None if answer is None else answer.status
        pytest.fail(f"{path} answered {status}: {page.inner_text('body')[:300]}\n{failed}")

    return go


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_documents_page_lists_the_days_documents_with_their_final_statuses(
    day: dict[str, dict[str, Any]], page: Any, visit: Callable[[str], None]
) -> None:
    expected = {"hostile": "processed", "eicar": "quarantined", "flagged": "processed"}
    expected["cut"] = "rejected"
    assert {label: d["status"] for label, d in day.items()} == expected
    visit("/documents")
    for label, document in day.items():
        row = page.locator(f'tr[data-document="{document["document_id"]}"]')
        assert row.locator(".status").inner_text() == expected[label]
    hostile = page.locator(f'tr[data-document="{day["hostile"]["document_id"]}"] td.filename')
    assert hostile.inner_text() == HOSTILE_NAME  # shown as text: escaped, never markup
    assert page.locator("main script, main img").count() == 0
    _shot(page, "documents")

    page.select_option("select[name=status]", "quarantined")
    page.click("button[type=submit]")
    assert "status=quarantined" in page.url
    shown = page.locator("tr[data-document]")
    statuses = {shown.nth(i).locator(".status").inner_text() for i in range(shown.count())}
    assert statuses == {"quarantined"}
    assert page.locator(f'tr[data-document="{day["eicar"]["document_id"]}"]').count() == 1


def test_a_document_page_shows_its_timeline_and_the_states_its_execution_visited(
    day: dict[str, dict[str, Any]], page: Any, visit: Callable[[str], None]
) -> None:
    document = day["flagged"]
    visit(f"/documents/{document['document_id']}")
    steps = page.locator("table.timeline tbody tr")
    shown = [steps.nth(i).locator(".status").inner_text() for i in range(steps.count())]
    assert shown == [entry["status"] for entry in document["history"]]
    assert shown[-1] == "processed"
    assert "awaiting_approval" in shown

    def visited(state: str) -> bool:
        node = page.locator(f'svg.workflow g.state[data-state="{state}"]')
        assert node.count() == 1, state
        return "visited" in (node.get_attribute("class") or "").split()

    for state in ("ExtractMetadata", "Transform", "CheckPolicy", "RequestApproval", "Finalize"):
        assert visited(state), state
    for state in ("Reject", "Compensate", "Failed"):
        assert not visited(state), state
    wait = page.locator("table.waits tbody tr").first
    assert "succeeded" in wait.inner_text()
    assert '"approved"' in wait.inner_text()
    assert page.locator("table.objects").inner_text().count("incoming/") >= 1
    _shot(page, "document")

    page.locator("table.invocations a").first.click()
    assert page.locator("table.loglines tr.report").count() == 1
    assert page.locator("table.loglines tr.report").inner_text().count("REPORT RequestId:") == 1
    _shot(page, "invocation")


def test_the_execution_graph_highlights_the_error_a_catch_took(
    day: dict[str, dict[str, Any]], page: Any, visit: Callable[[str], None]
) -> None:
    visit(f"/documents/{day['cut']['document_id']}")
    execution = page.locator("a", has_text="history and logs")
    execution.click()
    transform = page.locator('svg.workflow g.state[data-state="Transform"]')
    assert "caught" in (transform.get_attribute("class") or "").split()
    reject = page.locator('svg.workflow g.state[data-state="Reject"]')
    assert "visited" in (reject.get_attribute("class") or "").split()
    assert page.locator("table.history").inner_text().count("ExecutionSucceeded") == 1
    _shot(page, "execution")


@pytest.fixture
def dead_letter(local_stack: LocalStack) -> Iterator[str]:
    """A message in the notify dead-letter queue, as a poison notification leaves one there
    (removed afterwards: the campaign counts what it dead-letters itself)."""
    sqs = local_stack.client("sqs")
    url = local_stack.queue_url("notify-dlq")
    sqs.send_message(QueueUrl=url, MessageBody='{"console": "dead-lettered"}')
    yield url.rsplit("/", 1)[-1]
    for _ in range(10):
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        mine = [m for m in received.get("Messages", []) if "dead-lettered" in m["Body"]]
        for message in mine:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if mine:
            break


def test_the_queues_page_shows_each_queues_dead_letter_count(
    local_stack: LocalStack,
    day: dict[str, dict[str, Any]],
    page: Any,
    visit: Callable[[str], None],
    dead_letter: str,
) -> None:
    sqs = local_stack.client("sqs")
    visit("/queues")
    dead_letter_queues = [
        url for url in sqs.list_queues()["QueueUrls"] if url.rsplit("/", 1)[-1].endswith("-dlq")
    ]
    assert dead_letter in {url.rsplit("/", 1)[-1] for url in dead_letter_queues}
    for url in dead_letter_queues:
        name = url.rsplit("/", 1)[-1]
        row = page.locator(f'tr[data-queue="{name}"]')
        assert "dead-letter" in (row.get_attribute("class") or "")
        count = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        assert row.locator("td.visible").inner_text() == count, name
    held = page.locator(f'tr[data-queue="{dead_letter}"]')
    assert "has-dead-letters" in (held.get_attribute("class") or "").split()
    assert int(held.locator("td.visible").inner_text()) >= 1
    assert held.locator("td.oldest").inner_text() != "-"
    streams = page.locator("table.mappings").inner_text()
    assert "docflow-local-documents (table stream)" in streams
    resources = local_stack.client("cloudformation").describe_stack_resources(
        StackName="docflow-local"
    )["StackResources"]
    declared = {
        r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::CloudWatch::Alarm"
    }
    alarms = page.locator("[data-alarm]")
    assert declared
    assert declared <= {alarms.nth(i).get_attribute("data-alarm") for i in range(alarms.count())}
    _shot(page, "queues")
    visit("/workflow")
    assert page.locator("svg.workflow g.state").count() >= 10
    _shot(page, "workflow")


def test_the_console_is_read_only_and_answers_loopback_hosts_only(console_url: str) -> None:
    assert requests.post(f"{console_url}/documents", timeout=10).status_code == 405
    assert requests.delete(f"{console_url}/queues", timeout=10).status_code == 405
    foreign = requests.get(f"{console_url}/documents", headers={"Host": "evil.test"}, timeout=10)
    assert foreign.status_code == 403
    assert requests.get(f"{console_url}/documents", timeout=30).status_code == 200
