"""`python -m docflow_client` against the local stack, run as a user runs it: a process, the
stack's description file, its output and exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack
from tests.openapi_contract import Contract
from tests.processing_samples import csv_bytes

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = Contract.load()


def _client(
    stack_file: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "docflow_client", *argv, "--stack", str(stack_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _json(finished: subprocess.CompletedProcess[str]) -> Any:
    assert finished.returncode in (0, 3), finished.stderr
    return json.loads(finished.stdout)


@pytest.fixture
def stack_file(local_stack: LocalStack, tmp_path: Path) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(local_stack.description))
    return path


def test_upload_and_wait_shows_each_step_and_ends_processed(
    stack_file: Path, tmp_path: Path
) -> None:
    invoices = tmp_path / "invoices.csv"
    invoices.write_bytes(csv_bytes(3, amount="2"))

    finished = _client(stack_file, "upload", str(invoices), "--wait", "--json")

    document = _json(finished)
    assert (finished.returncode, document["status"]) == (0, "processed")
    CONTRACT.check(
        "GET",
        f"/documents/{document['document_id']}",
        200,
        "application/json",
        finished.stdout.encode(),
    )
    progress = finished.stderr.splitlines()
    assert [line.split()[1] for line in progress if line.strip()] == [
        entry["status"] for entry in document["history"]
    ]

    status = _client(stack_file, "status", document["document_id"])
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[0] == f"{document['document_id']}  processed"
    listed = _json(_client(stack_file, "list", "--status", "processed", "--all", "--json"))
    assert document["document_id"] in [item["document_id"] for item in listed["items"]]


def test_a_flagged_document_waits_and_is_approved_with_the_approve_key(
    stack_file: Path, tmp_path: Path
) -> None:
    # 3 x 4,000 = 12,000: over the local stage's approval threshold of 10,000.
    big = tmp_path / "big order.csv"
    big.write_bytes(csv_bytes(3, amount="4000"))
    waiting = _json(_client(stack_file, "upload", str(big), "--wait", "--json"))
    assert waiting["status"] == "awaiting_approval", waiting
    document_id = waiting["document_id"]

    decided = _client(stack_file, "decide", document_id, "approve", "--comment", "ok")
    assert decided.returncode == 0, decided.stderr
    assert decided.stdout.startswith(f"{document_id}  approved; now "), decided.stdout
    final = _client(stack_file, "wait", document_id, "--until", "processed", "--until", "failed")
    assert (final.returncode, final.stdout.strip()) == (
        0,
        f"{document_id}  processed (approved by k-demo-alice-approve-local)",
    ), final.stderr


def test_a_rejected_document_ends_the_wait_with_status_3(stack_file: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "totally-a-spreadsheet.csv"
    renamed.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + bytes(512))

    finished = _client(stack_file, "upload", str(renamed), "--wait")

    assert finished.returncode == 3, finished.stderr
    assert finished.stdout.split()[1] == "rejected"


def test_errors_are_one_line_and_the_environment_overrides_the_stack(
    stack_file: Path, local_stack: LocalStack
) -> None:
    unknown = _client(stack_file, "status", "doc_" + "0" * 32)
    assert (unknown.returncode, unknown.stdout, unknown.stderr.count("\n")) == (1, "", 1)
    assert unknown.stderr.startswith("docflow: 404 not_found: ")

    env = {
        "PATH": "/usr/bin:/bin",
        "DOCFLOW_API_URL": local_stack.api_url,
        "DOCFLOW_API_KEY": "dfk_not_a_key",
    }
    refused = _client(stack_file, "list", env=env)
    assert (refused.returncode, refused.stderr.split(":")[:2]) == (
        1,
        ["docflow", " 401 unauthorized"],
    )
