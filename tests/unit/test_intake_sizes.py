"""Intake's size checks: the object must hold exactly the bytes its document declared."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from docflow.documents.model import Document, HistoryEntry, Status, incoming_key
from docflow.intake.model import Upload
from docflow.intake.service import Intake, IntakePolicy

CSV = b"id,amount\n1,10.00\n"  # 18 bytes
DOCUMENT_ID = "doc_" + "0" * 32


class FakeStore:
    def __init__(self, document: Document) -> None:
        self.document = document

    def get(self, document_id: str) -> Document | None:
        return self.document if document_id == self.document.document_id else None

    def transition(self, document: Document, to: Status, actor: str, **kwargs: Any) -> Document:
        self.document = dataclasses.replace(
            document,
            status=to,
            reason=kwargs.get("reason"),
            history=(*document.history, HistoryEntry(to, "now", actor, kwargs.get("reason"))),
        )
        return self.document


class FakeObjects:
    def __init__(self, content: bytes) -> None:
        self.content = content
        self.moved_to: list[str] = []

    def size(self, bucket: str, key: str, version_id: str | None) -> int:
        return len(self.content)

    def chunks(self, bucket: str, key: str, version_id: str | None) -> Iterator[bytes]:
        yield self.content

    def move(self, bucket: str, key: str, version_id: str | None, destination: str) -> None:
        self.moved_to.append(destination)


def _intake(declared_size: int, content: bytes) -> tuple[Intake, FakeStore, FakeObjects, Upload]:
    key = incoming_key(DOCUMENT_ID, "ledger.csv")
    document = Document(
        document_id=DOCUMENT_ID,
        owner="alice",
        filename="ledger.csv",
        declared_type="text/csv",
        declared_size=declared_size,
        status=Status.AWAITING_UPLOAD,
        created_at="2026-12-01T00:00:00.000Z",
        updated_at="2026-12-01T00:00:00.000Z",
        object_key=key,
    )
    store, objects = FakeStore(document), FakeObjects(content)
    intake = Intake(
        store=store,  # type: ignore[arg-type]
        objects=objects,  # type: ignore[arg-type]
        policy=IntakePolicy(1024, frozenset({"text/csv"}), "security/signatures.json"),
        actor="intake",
    )
    obj = Upload("bucket", key, len(content), "v1", "v1", f"bucket/{key}#v1")
    return intake, store, objects, obj


@pytest.mark.parametrize(
    ("declared", "content", "reason"),
    [
        (23, CSV, "size_mismatch: declared 23 bytes, the object is 18"),
        (17, CSV, "size_mismatch: declared 17 bytes, the object is 18"),
        (10, b"", "empty_object: the upload is 0 bytes"),
        (10, CSV * 100, "too_large: 1800 bytes exceeds the limit of 1024"),
    ],
)
def test_an_object_of_another_size_than_declared_is_rejected_and_quarantined(
    declared: int, content: bytes, reason: str
) -> None:
    intake, store, objects, obj = _intake(declared, content)
    result = intake.receive(obj)
    assert (result.status, result.reason) == ("rejected", reason)
    assert (store.document.status, store.document.reason) == (Status.REJECTED, reason)
    assert objects.moved_to == [f"quarantine/{DOCUMENT_ID}/ledger.csv"]


def test_an_object_of_exactly_the_declared_size_is_accepted() -> None:
    intake, store, objects, obj = _intake(len(CSV), CSV)
    assert intake.receive(obj).status == "accepted"
    assert store.document.status is Status.ACCEPTED
    assert objects.moved_to == []
