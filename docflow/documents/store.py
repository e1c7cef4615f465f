"""DynamoDB persistence of document records: the only module that writes the table.

One item per document (`document_id`), with the status history as a list on the item, the
approval (task token, reasons, decision) as a map and the sweep's re-drive count beside them.
Listing by owner and status uses the `by_owner` index, whose sort key
`status_created` (`<status>#<created_at>#<id>`) moves with every status change; the sweep and
the digest query the `by_status` index (`docflow.documents.index`, read-only). Every write is
conditional on the status the document was read in (see `model.TRANSITIONS`), so a stale step
cannot rewind it.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from docflow.documents.model import (
    TRANSITIONS,
    Document,
    HistoryEntry,
    Status,
    now_iso,
)
from shared import aws, errors

OWNER_INDEX = "by_owner"


def to_attr(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (the subset docflow stores)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def from_attr(attr: dict[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "NULL":
        return None
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    return value


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}


def _document(data: dict[str, Any]) -> Document:
    return Document(
        document_id=data["document_id"],
        owner=data["owner"],
        filename=data["filename"],
        declared_type=data["declared_type"],
        declared_size=int(data["declared_size"]),
        status=Status(data["status"]),
        created_at=data["created_at"],
        updated_at=data["updated_at"],
        object_key=data["object_key"],
        history=tuple(HistoryEntry.from_dict(h) for h in data.get("history", [])),
        reason=data.get("reason"),
        detected_type=data.get("detected_type"),
        size=data.get("size"),
        sha256=data.get("sha256"),
        execution_arn=data.get("execution_arn"),
        object_version=data.get("object_version"),
        results=data.get("results") or {},
        submitted_by=data.get("submitted_by"),
    )


def _status_key(status: Status, created_at: str, document_id: str) -> str:
    return f"{status}#{created_at}#{document_id}"


class DocumentStore(aws.Table):
    def create(self, document: Document) -> None:
        data = {
            "document_id": document.document_id,
            "owner": document.owner,
            "filename": document.filename,
            "declared_type": document.declared_type,
            "declared_size": document.declared_size,
            "status": str(document.status),
            "status_created": _status_key(
                document.status, document.created_at, document.document_id
            ),
            "created_at": document.created_at,
            "updated_at": document.updated_at,
            "object_key": document.object_key,
            "history": [h.to_dict() for h in document.history],
            "submitted_by": document.submitted_by,
        }
        with aws.translated("creating document"):
            self._client_factory().put_item(
                TableName=self.table_name,
                Item=to_item(data),
                ConditionExpression="attribute_not_exists(document_id)",
            )

    def _read(self, document_id: str, what: str, **projection: Any) -> dict[str, Any]:
        with aws.translated(what):
            response = self._client_factory().get_item(
                TableName=self.table_name,
                Key={"document_id": {"S": document_id}},
                ConsistentRead=True,
                **projection,
            )
        return from_item(response.get("Item") or {})

    def get(self, document_id: str) -> Document | None:
        data = self._read(document_id, "reading document")
        return _document(data) if data else None

    def get_owned(self, document_id: str, owner: str) -> Document:
        """The owner's document; another owner's looks exactly like a missing one."""
        document = self.get(document_id)
        if document is None or document.owner != owner:
            raise errors.NotFoundError(f"document {document_id} not found")
        return document

    def list_owned(
        self, owner: str, status: Status | None, limit: int, cursor: str | None
    ) -> tuple[list[Document], str | None]:
        names = {"#owner": "owner"}
        values: dict[str, Any] = {":owner": {"S": owner}}
        condition = "#owner = :owner"
        if status is not None:
            condition += " AND begins_with(status_created, :prefix)"
            values[":prefix"] = {"S": f"{status}#"}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": False,
        }
        if cursor:
            request["ExclusiveStartKey"] = _decode_cursor(cursor, owner, status)
        with aws.translated("listing documents"):
            response = self._client_factory().query(**request)
        documents = [_document(from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return documents, _encode_cursor(last) if last else None

    def transition(
        self,
        document: Document,
        to: Status,
        actor: str,
        *,
        reason: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> Document:
        """Move `document` to `to` if it is still in the status it was read in."""
        if to not in TRANSITIONS[document.status]:
            raise errors.ConflictError(
                f"document {document.document_id} cannot go from {document.status} to {to}"
            )
        at = now_iso()
        entry = HistoryEntry(to, at, actor, reason)
        updates: dict[str, Any] = {
            "status": str(to),
            "status_created": _status_key(to, document.created_at, document.document_id),
            "updated_at": at,
            **({"reason": reason} if reason else {}),
            **(fields or {}),
        }
        return self._update(
            document.document_id,
            updates,
            expected={"status": str(document.status)},
            history=entry,
            what=f"moving document {document.document_id} from {document.status} to {to}",
        )

    def _update(
        self,
        document_id: str,
        updates: dict[str, Any],
        *,
        what: str,
        expected: dict[str, str] | None = None,
        history: HistoryEntry | None = None,
    ) -> Document:
        """Set `updates` if every `expected` attribute still holds its value (a ConflictError
        otherwise), appending `history` to the record's history; the record as written."""
        names = {f"#f{i}": name for i, name in enumerate(updates)}
        values = {f":v{i}": to_attr(value) for i, value in enumerate(updates.values())}
        assignments = [f"#f{i} = :v{i}" for i in range(len(updates))]
        if history is not None:
            names["#history"] = "history"
            values[":entry"] = to_attr([history.to_dict()])
            assignments.append("#history = list_append(#history, :entry)")
        conditions = []
        for i, (name, value) in enumerate((expected or {}).items()):
            names[f"#e{i}"] = name
            values[f":e{i}"] = {"S": value}
            conditions.append(f"#e{i} = :e{i}")
        condition = {"ConditionExpression": " AND ".join(conditions)} if conditions else {}
        with aws.translated(what):
            response = self._client_factory().update_item(
                TableName=self.table_name,
                Key={"document_id": {"S": document_id}},
                UpdateExpression="SET " + ", ".join(assignments),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **condition,
            )
        return _document(from_item(response["Attributes"]))

    # -- the approval a document waits on ------------------------------------------------

    def approval(self, document_id: str) -> dict[str, Any]:
        """The approval map on the record (token, reasons, decision), empty when none."""
        approval = self._read(
            document_id,
            f"reading the approval of {document_id}",
            ProjectionExpression="#approval",
            ExpressionAttributeNames={"#approval": "approval"},
        ).get("approval")
        return dict(approval) if isinstance(approval, dict) else {}

    def replace_approval(self, document_id: str, approval: dict[str, Any]) -> None:
        """Store a new token for a document already awaiting approval (a retried request)."""
        self._update(
            document_id,
            {"approval": approval},
            expected={"status": str(Status.AWAITING_APPROVAL)},
            what=f"recording the approval token of {document_id}",
        )

    # -- the sweep's marks ---------------------------------------------------------------

    def sweep_attempts(self, document_id: str) -> int:
        """How often the sweep re-drove the document."""
        data = self._read(
            document_id, "reading sweep attempts", ProjectionExpression="sweep_attempts"
        )
        return int(data.get("sweep_attempts", 0))

    def claim_redrive(self, document: Document, attempt: int, at: str) -> bool:
        """Record re-drive `attempt` if the document is still as read; False if it moved on.

        `updated_at` moves to `at`, so the document is not stuck again before its rule's time;
        its status (and history) stay: a re-drive is no transition.
        """
        try:
            self._update(
                document.document_id,
                {"sweep_attempts": attempt, "updated_at": at},
                expected={"status": str(document.status), "updated_at": document.updated_at},
                what="recording a re-drive",
            )
        except errors.ConflictError:
            return False
        return True

    def record_execution(self, document_id: str, execution_arn: str) -> None:
        """The execution now working on the document, whatever it has done by now."""
        self._update(
            document_id, {"execution_arn": execution_arn}, what="recording the re-driven execution"
        )


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


# A cursor is the index position DynamoDB handed back (LastEvaluatedKey): the three key
# attributes of `by_owner`, all strings, the sort key as `_status_key` builds it. Anything
# else in a `next` parameter was not made here; a real cursor is about 200 characters.
MAX_CURSOR_CHARS = 1024
_CURSOR_ATTRIBUTES = frozenset({"document_id", "owner", "status_created"})
_STATUSES = frozenset(str(status) for status in Status)
_STATUS_KEY = re.compile(
    r"(?P<status>[a-z_]{1,32})#[0-9A-Za-z:.+\-]{1,40}#(?P<id>doc_[0-9a-f]{32})"
)


def _decode_cursor(cursor: str, owner: str, status: Status | None) -> dict[str, Any]:
    """The start key a `next` cursor stands for, validated as a whole, or a 400.

    The key is only a position: the query stays bound to `owner` by its key condition. What
    is checked is that the position is one this very listing could have produced (the
    caller's own, on the status filtered on), so DynamoDB never sees a start key it would
    refuse, and no part of a forged one reaches it.
    """
    key = _cursor_key(cursor) if len(cursor) <= MAX_CURSOR_CHARS else None
    if key is None or key["owner"] != owner:
        raise errors.InvalidInputError(
            "the 'next' cursor is malformed or not yours; pass the 'next' value of your "
            "previous page unchanged, or leave it out to start from the first page"
        )
    if status is not None and not key["status_created"].startswith(f"{status}#"):
        raise errors.InvalidInputError(
            f"the 'next' cursor belongs to a listing of another status than {status}; "
            "keep the query of the page it came from, or leave it out"
        )
    return {name: {"S": value} for name, value in key.items()}


def _cursor_key(cursor: str) -> dict[str, str] | None:
    """The cursor's attributes as plain strings, or None unless it is exactly one we make."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, RecursionError):
        return None
    if not isinstance(decoded, dict) or set(decoded) != _CURSOR_ATTRIBUTES:
        return None
    key: dict[str, str] = {}
    for name, attr in decoded.items():
        if not isinstance(attr, dict) or set(attr) != {"S"} or not isinstance(attr["S"], str):
            return None
        key[name] = attr["S"]
    sort_key = _STATUS_KEY.fullmatch(key["status_created"])
    if (
        sort_key is None
        or sort_key["status"] not in _STATUSES
        or sort_key["id"] != key["document_id"]
    ):
        return None
    return key
