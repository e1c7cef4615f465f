"""The processing workflow on the local stack: uploads through the API, the real state machine.

Stage `local` config: approval over a CSV total of 10,000, approval timeout 60 s.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import FINAL, LocalStack, wait_for
from tests.processing_samples import csv_bytes, image_bytes

pytestmark = pytest.mark.e2e


def _outputs(local: LocalStack, document_id: str) -> list[str]:
    s3 = local.client("s3")
    listed = s3.list_object_versions(
        Bucket=local.description["documents_bucket"], Prefix=f"processed/{document_id}/"
    )
    return sorted(v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []))


def _wait_no_outputs(local: LocalStack, document_id: str) -> None:
    """Reject marks the document, then removes its outputs in the same task: wait for both."""
    wait_for(lambda: not _outputs(local, document_id), timeout=60)


def test_an_image_is_processed_into_a_thumbnail_and_a_web_rendition(
    local_stack: LocalStack,
) -> None:
    document_id = local_stack.upload("photo.jpg", "image/jpeg", image_bytes(1200, 800))
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "processed", final
    assert set(final["results"]["outputs"]) == {"thumbnail", "web"}
    prefix = f"processed/{document_id}/"
    assert _outputs(local_stack, document_id) == [
        prefix + "manifest.json",
        prefix + "thumbnail.webp",
        prefix + "web.webp",
    ]


def test_a_csv_is_processed_into_json_lines(local_stack: LocalStack) -> None:
    document_id = local_stack.upload("ledger.csv", "text/csv", csv_bytes(50, amount="3"))
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "processed", final
    records = final["results"]["outputs"]["records"]
    assert (records["valid_rows"], records["total_amount"]) == (50, "150")


def _flagged(local: LocalStack) -> str:
    # 3 x 4,000 = 12,000: over the local threshold of 10,000.
    document_id = local.upload("big.csv", "text/csv", csv_bytes(3, amount="4000"))
    waiting = local.wait_status(document_id, {"awaiting_approval", *FINAL})
    assert waiting["status"] == "awaiting_approval", waiting
    assert "token" not in str(waiting)
    return document_id


def test_a_flagged_csv_is_processed_once_approved(local_stack: LocalStack) -> None:
    document_id = _flagged(local_stack)
    answer = local_stack.api(
        "POST", f"/documents/{document_id}/decision", json={"decision": "approve"}
    )
    assert answer.status_code == 200, answer.text
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "processed", final
    assert final["results"]["approval"]["decision"] == "approved"
    again = local_stack.api(
        "POST", f"/documents/{document_id}/decision", json={"decision": "approve"}
    )
    assert (again.status_code, again.json()["error"]) == (409, "already_decided")


def test_a_flagged_csv_rejected_by_the_approver_leaves_no_output(local_stack: LocalStack) -> None:
    document_id = _flagged(local_stack)
    answer = local_stack.api(
        "POST",
        f"/documents/{document_id}/decision",
        json={"decision": "reject", "comment": "over budget"},
    )
    assert answer.status_code == 200, answer.text
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "rejected", final
    assert final["reason"].startswith("rejected_by_approver")
    _wait_no_outputs(local_stack, document_id)


def test_an_approval_nobody_gives_expires_and_rejects(local_stack: LocalStack) -> None:
    document_id = local_stack.unattended_approval
    final = local_stack.wait_status(document_id, FINAL, timeout=240)
    assert final["status"] == "rejected", final
    assert final["reason"].startswith("approval_expired")
    assert "awaiting_approval" in [entry["status"] for entry in final["history"]], final
    _wait_no_outputs(local_stack, document_id)


def test_an_image_cut_off_after_its_header_is_rejected_without_outputs(
    local_stack: LocalStack,
) -> None:
    # A JPEG whose header reads fine (extract passes) but whose pixel data is cut off: the
    # client's file, so `rejected` with its reason code, and no rendition left behind.
    data = image_bytes(1200, 800)
    document_id = local_stack.upload("cut.jpg", "image/jpeg", data[: len(data) // 3])
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "rejected", final
    assert final["reason"].startswith("corrupt_image: "), final
    _wait_no_outputs(local_stack, document_id)
