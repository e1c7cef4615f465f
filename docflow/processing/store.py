"""The S3, DynamoDB, SNS and Step Functions calls processing makes, errors translated here."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from docflow.documents.model import now_iso
from docflow.documents.store import from_item, to_attr
from docflow.processing.model import EventType
from shared import aws, errors

CHUNK_BYTES = 1024 * 1024
_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})


class Objects:
    """Source objects in, renditions out, and removal of a document's outputs."""

    def __init__(self, client_factory: Callable[[], Any] = lambda: aws.client("s3")) -> None:
        self._client_factory = client_factory

    @staticmethod
    def _version(version_id: str | None) -> dict[str, str]:
        return {"VersionId": version_id} if version_id else {}

    def _body(self, bucket: str, key: str, version_id: str | None, **extra: Any) -> Any:
        try:
            return self._client_factory().get_object(
                Bucket=bucket, Key=key, **self._version(version_id), **extra
            )["Body"]
        except Exception as exc:
            if aws.error_code(exc) in _GONE:
                raise errors.PermanentError(
                    f"source_gone: s3://{bucket}/{key} (version {version_id}) no longer exists"
                ) from exc
            raise aws.translate(exc, f"reading s3://{bucket}/{key}") from exc

    def read(self, bucket: str, key: str, version_id: str | None) -> bytes:
        body = self._body(bucket, key, version_id)
        try:
            return bytes(body.read())
        except Exception as exc:
            raise aws.translate(exc, f"reading s3://{bucket}/{key}") from exc
        finally:
            body.close()

    def chunks(
        self, bucket: str, key: str, version_id: str | None, first_bytes: int | None = None
    ) -> Iterator[bytes]:
        extra = {"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {}
        body = self._body(bucket, key, version_id, **extra)
        try:
            while chunk := body.read(CHUNK_BYTES):
                yield chunk
        except errors.DocflowError:
            raise
        except Exception as exc:
            raise aws.translate(exc, f"reading s3://{bucket}/{key}") from exc
        finally:
            body.close()

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        try:
            self._client_factory().put_object(
                Bucket=bucket, Key=key, Body=data, ContentType=content_type
            )
        except Exception as exc:
            raise aws.translate(exc, f"writing s3://{bucket}/{key}") from exc

    def upload(self, bucket: str, key: str, stream: IO[bytes], content_type: str) -> None:
        """Upload a (possibly large) file object; multipart above the transfer threshold."""
        stream.seek(0)
        try:
            self._client_factory().upload_fileobj(
                stream, bucket, key, ExtraArgs={"ContentType": content_type}
            )
        except Exception as exc:
            raise aws.translate(exc, f"writing s3://{bucket}/{key}") from exc

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every version (and delete marker) under `prefix`; the number removed."""
        client = self._client_factory()
        removed = 0
        try:
            paginator = client.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                targets = [
                    {"Key": item["Key"], "VersionId": item["VersionId"]}
                    for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if targets:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": targets, "Quiet": True})
                    removed += len(targets)
        except Exception as exc:
            raise aws.translate(exc, f"removing s3://{bucket}/{prefix}") from exc
        return removed


class Events:
    """Publishes document events on the events topic, `event_type` as a message attribute."""

    def __init__(
        self, topic_arn: str, client_factory: Callable[[], Any] = lambda: aws.client("sns")
    ) -> None:
        self.topic_arn = topic_arn
        self._client_factory = client_factory

    def publish(self, event_type: EventType, document_id: str, detail: dict[str, Any]) -> str:
        message = {
            # Deterministic: a retried task publishes the same event id, consumers dedupe on it.
            "event_id": f"{document_id}:{event_type}",
            "event_type": str(event_type),
            "document_id": document_id,
            "occurred_at": now_iso(),
            **detail,
        }
        try:
            response = self._client_factory().publish(
                TopicArn=self.topic_arn,
                Message=json.dumps(message, separators=(",", ":"), default=str),
                MessageAttributes={
                    "event_type": {"DataType": "String", "StringValue": str(event_type)}
                },
            )
        except Exception as exc:
            raise aws.translate(exc, f"publishing {event_type}") from exc
        return str(response["MessageId"])


class Approvals:
    """The task token of a document waiting for a decision, kept on its record."""

    def __init__(
        self, table_name: str, client_factory: Callable[[], Any] = lambda: aws.client("dynamodb")
    ) -> None:
        self.table_name = table_name
        self._client_factory = client_factory

    def replace_token(self, document_id: str, approval: dict[str, Any]) -> None:
        """Store a new token for a document already awaiting approval (a retried request)."""
        try:
            self._client_factory().update_item(
                TableName=self.table_name,
                Key={"document_id": {"S": document_id}},
                UpdateExpression="SET #approval = :approval",
                ConditionExpression="#status = :waiting",
                ExpressionAttributeNames={"#approval": "approval", "#status": "status"},
                ExpressionAttributeValues={
                    ":approval": to_attr(approval),
                    ":waiting": {"S": "awaiting_approval"},
                },
            )
        except Exception as exc:
            raise aws.translate(exc, f"recording the approval token of {document_id}") from exc

    def get(self, document_id: str) -> dict[str, Any]:
        """The approval map on the record (token, reasons, decision), empty when none."""
        try:
            response = self._client_factory().get_item(
                TableName=self.table_name,
                Key={"document_id": {"S": document_id}},
                ProjectionExpression="#approval",
                ExpressionAttributeNames={"#approval": "approval"},
                ConsistentRead=True,
            )
        except Exception as exc:
            raise aws.translate(exc, f"reading the approval of {document_id}") from exc
        approval = from_item(response.get("Item") or {}).get("approval")
        return dict(approval) if isinstance(approval, dict) else {}


class ApprovalExpiredError(errors.ConflictError):
    """The workflow stopped waiting for this decision (timed out or already resumed)."""

    status_code = 410
    code = "approval_expired"


class ApprovalTokenInvalidError(errors.ConflictError):
    """Step Functions does not recognise the recorded token."""

    status_code = 410
    code = "approval_token_invalid"


class Tasks:
    """Resumes a waiting execution with the decision."""

    def __init__(
        self, client_factory: Callable[[], Any] = lambda: aws.client("stepfunctions")
    ) -> None:
        self._client_factory = client_factory

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        try:
            self._client_factory().send_task_success(taskToken=token, output=json.dumps(output))
        except Exception as exc:
            code = aws.error_code(exc)
            if code == "TaskTimedOut":
                raise ApprovalExpiredError(
                    "the approval expired: the workflow no longer waits for this decision"
                ) from exc
            if code in {"InvalidToken", "TaskDoesNotExist"}:
                raise ApprovalTokenInvalidError(
                    f"the recorded approval token was not accepted ({code}); "
                    "the workflow will reject the document when its approval times out"
                ) from exc
            raise aws.translate(exc, "sending the decision to the workflow") from exc
