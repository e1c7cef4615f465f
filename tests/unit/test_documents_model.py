from __future__ import annotations

import pytest

from docflow.documents.model import (
    FINAL_STATUSES,
    TRANSITIONS,
    Status,
    incoming_key,
    parse_incoming_key,
)

DOC = "doc_0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("filename", ["a.csv", "with space.png", "plus+sign.csv", "Zürich ü.pdf"])
def test_incoming_keys_round_trip(filename: str) -> None:
    assert parse_incoming_key(incoming_key(DOC, filename)) == (DOC, filename)


@pytest.mark.parametrize(
    "key", ["other/doc.csv", f"incoming/{DOC}", f"incoming/{DOC}/", "incoming/not-an-id/x.csv"]
)
def test_keys_outside_the_layout_are_not_documents(key: str) -> None:
    assert parse_incoming_key(key) is None


def test_final_statuses_have_no_way_out() -> None:
    assert all(TRANSITIONS[status] == frozenset() for status in FINAL_STATUSES)


def test_every_status_is_reachable_from_awaiting_upload() -> None:
    seen, frontier = {Status.AWAITING_UPLOAD}, [Status.AWAITING_UPLOAD]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(Status)
