"""The documents table's `by_status` index (status, updated_at): what the sweep and the
digest read, and only they (a function that never asks keeps this module off its init).

Read-only: every write to the table is `docflow.documents.store`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared import aws

STATUS_INDEX = "by_status"


@dataclass(frozen=True)
class IndexEntry:
    """A document as the `by_status` index shows it (status, updated_at and a few facts)."""

    document_id: str
    status: str
    updated_at: str
    owner: str = ""
    filename: str = ""
    reason: str | None = None


class StatusIndex(aws.Table):
    """Queries on the documents table's `by_status` index (status, updated_at).

    An index rather than a scan: the sweep runs every few minutes and asks for the few
    documents in a non-final status older than a cutoff; a scan would read every document
    ever stored each time, its cost growing with history instead of with stuck documents.
    """

    def _query(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return self._pages(
            "query", f"querying the {STATUS_INDEX} index", {"IndexName": STATUS_INDEX, **request}
        )

    def count(self, status: str, *, since: str | None = None) -> int:
        key = self._key(status, since=since)
        return sum(int(page.get("Count", 0)) for page in self._query({**key, "Select": "COUNT"}))

    def entries(
        self,
        status: str,
        *,
        before: str | None = None,
        since: str | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[IndexEntry]:
        key = self._key(status, before=before, since=since)
        found: list[IndexEntry] = []
        for page in self._query({**key, "ScanIndexForward": not newest_first, "Limit": limit}):
            found.extend(_entry(item) for item in page.get("Items", []))
            if len(found) >= limit:
                break
        return found[:limit]

    @staticmethod
    def _key(status: str, *, before: str | None = None, since: str | None = None) -> dict[str, Any]:
        """The key condition of a query: `status`, updated before or since a time."""
        values: dict[str, Any] = {":status": {"S": status}}
        condition = "#status = :status"
        if before is not None:
            condition += " AND updated_at < :before"
            values[":before"] = {"S": before}
        elif since is not None:
            condition += " AND updated_at >= :since"
            values[":since"] = {"S": since}
        return {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }


def _entry(item: dict[str, Any]) -> IndexEntry:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value is not None else None

    return IndexEntry(
        document_id=text("document_id") or "",
        status=text("status") or "",
        updated_at=text("updated_at") or "",
        owner=text("owner") or "",
        filename=text("filename") or "",
        reason=text("reason"),
    )
