"""The `by_status` index, sweep bookkeeping on the document, the workflow and the topic."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from docflow.documents.model import Document
from docflow.schedules.model import IndexEntry
from shared import aws, errors

STATUS_INDEX = "by_status"
_EXECUTION_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class StatusIndex:
    """Queries on the documents table's `by_status` index (status, updated_at).

    An index rather than a scan: the sweep runs every few minutes and asks for the few
    documents in a non-final status older than a cutoff; a scan would read every document
    ever stored each time, its cost growing with history instead of with stuck documents.
    """

    def __init__(
        self, table_name: str, client_factory: Callable[[], Any] = lambda: aws.client("dynamodb")
    ) -> None:
        self.table_name = table_name
        self._client_factory = client_factory

    def _query(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        request = {"TableName": self.table_name, "IndexName": STATUS_INDEX, **request}
        try:
            while True:
                response = self._client_factory().query(**request)
                yield response
                if "LastEvaluatedKey" not in response:
                    return
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except Exception as exc:
            if isinstance(exc, errors.DocflowError):
                raise
            raise aws.translate(exc, f"querying the {STATUS_INDEX} index") from exc

    def count(self, status: str, *, since: str | None = None) -> int:
        condition, values = self._condition(status, since=since)
        return sum(
            int(page.get("Count", 0))
            for page in self._query(
                {
                    "KeyConditionExpression": condition,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": values,
                    "Select": "COUNT",
                }
            )
        )

    def entries(
        self,
        status: str,
        *,
        before: str | None = None,
        since: str | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[IndexEntry]:
        condition, values = self._condition(status, before=before, since=since)
        found: list[IndexEntry] = []
        for page in self._query(
            {
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
                "ScanIndexForward": not newest_first,
                "Limit": limit,
            }
        ):
            found.extend(_entry(item) for item in page.get("Items", []))
            if len(found) >= limit:
                break
        return found[:limit]

    @staticmethod
    def _condition(
        status: str, *, before: str | None = None, since: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        values: dict[str, Any] = {":status": {"S": status}}
        condition = "#status = :status"
        if before is not None:
            condition += " AND updated_at < :before"
            values[":before"] = {"S": before}
        elif since is not None:
            condition += " AND updated_at >= :since"
            values[":since"] = {"S": since}
        return condition, values


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


class SweepMarks:
    """How often the sweep re-drove a document, kept on the document's item."""

    def __init__(
        self, table_name: str, client_factory: Callable[[], Any] = lambda: aws.client("dynamodb")
    ) -> None:
        self.table_name = table_name
        self._client_factory = client_factory

    def attempts(self, document_id: str) -> int:
        try:
            item = (
                self._client_factory()
                .get_item(
                    TableName=self.table_name,
                    Key={"document_id": {"S": document_id}},
                    ProjectionExpression="sweep_attempts",
                    ConsistentRead=True,
                )
                .get("Item")
                or {}
            )
        except Exception as exc:
            raise aws.translate(exc, "reading sweep attempts") from exc
        return int(item.get("sweep_attempts", {}).get("N", "0"))

    def claim_redrive(self, document: Document, attempt: int, at: str) -> bool:
        """Record re-drive `attempt` if the document is still as read; False if it moved on.

        `updated_at` moves to now, so the document is not stuck again before its rule's time.
        """
        try:
            self._client_factory().update_item(
                TableName=self.table_name,
                Key={"document_id": {"S": document.document_id}},
                UpdateExpression="SET sweep_attempts = :attempt, updated_at = :at",
                ConditionExpression="#status = :status AND updated_at = :seen",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":attempt": {"N": str(attempt)},
                    ":at": {"S": at},
                    ":status": {"S": str(document.status)},
                    ":seen": {"S": document.updated_at},
                },
            )
        except Exception as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise aws.translate(exc, "recording a re-drive") from exc
        return True

    def record_execution(self, document_id: str, execution_arn: str) -> None:
        try:
            self._client_factory().update_item(
                TableName=self.table_name,
                Key={"document_id": {"S": document_id}},
                UpdateExpression="SET execution_arn = :arn",
                ExpressionAttributeValues={":arn": {"S": execution_arn}},
            )
        except Exception as exc:
            raise aws.translate(exc, "recording the re-driven execution") from exc


class Workflow:
    def __init__(
        self,
        state_machine_arn: str,
        client_factory: Callable[[], Any] = lambda: aws.client("stepfunctions"),
    ) -> None:
        self.state_machine_arn = state_machine_arn
        self._client_factory = client_factory

    def start(self, name: str, payload: dict[str, Any]) -> str:
        name = _EXECUTION_NAME_UNSAFE.sub("-", name)[:80]
        try:
            response = self._client_factory().start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
            )
        except Exception as exc:
            if aws.error_code(exc) == "ExecutionAlreadyExists":
                prefix = self.state_machine_arn.replace(":stateMachine:", ":execution:")
                return f"{prefix}:{name}"
            raise aws.translate(exc, "re-driving the processing workflow") from exc
        return str(response["executionArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        """Stop an execution that may still be running; one already finished is fine."""
        try:
            self._client_factory().stop_execution(
                executionArn=execution_arn, error="docflow.Swept", cause=cause
            )
        except Exception as exc:
            if aws.error_code(exc) in {"ExecutionDoesNotExist", "ExecutionNotRunning"}:
                return
            raise aws.translate(exc, "stopping a stuck execution") from exc


class EventsTopic:
    """Publishes `document.failed` the way the processing workflow does (same event id)."""

    def __init__(
        self, topic_arn: str, client_factory: Callable[[], Any] = lambda: aws.client("sns")
    ) -> None:
        self.topic_arn = topic_arn
        self._client_factory = client_factory

    def failed(self, document_id: str, reason: str, at: str) -> None:
        message = {
            "event_id": f"{document_id}:document.failed",
            "event_type": "document.failed",
            "document_id": document_id,
            "occurred_at": at,
            "reason": reason,
        }
        try:
            self._client_factory().publish(
                TopicArn=self.topic_arn,
                Message=json.dumps(message, separators=(",", ":")),
                MessageAttributes={
                    "event_type": {"DataType": "String", "StringValue": "document.failed"}
                },
            )
        except Exception as exc:
            raise aws.translate(exc, "publishing document.failed") from exc
