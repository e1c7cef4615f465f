"""The S3 and Step Functions calls intake makes, with AWS errors translated at the call."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from shared import aws, errors

CHUNK_BYTES = 1024 * 1024
_EXECUTION_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class ObjectGoneError(errors.NotFoundError):
    """The object (version) was deleted before intake could read it."""

    code = "object_gone"


class S3Objects:
    def __init__(self, client_factory: Callable[[], Any] = lambda: aws.client("s3")) -> None:
        self._client_factory = client_factory

    @staticmethod
    def _version(version_id: str | None) -> dict[str, str]:
        return {"VersionId": version_id} if version_id else {}

    def size(self, bucket: str, key: str, version_id: str | None) -> int:
        try:
            head = self._client_factory().head_object(
                Bucket=bucket, Key=key, **self._version(version_id)
            )
        except Exception as exc:
            if aws.error_code(exc) in {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}:
                raise ObjectGoneError(f"s3://{bucket}/{key} no longer exists") from exc
            raise aws.translate(exc, f"reading s3://{bucket}/{key}") from exc
        return int(head["ContentLength"])

    def chunks(self, bucket: str, key: str, version_id: str | None) -> Iterator[bytes]:
        try:
            body = self._client_factory().get_object(
                Bucket=bucket, Key=key, **self._version(version_id)
            )["Body"]
        except Exception as exc:
            if aws.error_code(exc) in {"NoSuchKey", "NoSuchVersion", "404"}:
                raise ObjectGoneError(f"s3://{bucket}/{key} no longer exists") from exc
            raise aws.translate(exc, f"reading s3://{bucket}/{key}") from exc
        try:
            while chunk := body.read(CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    def move(self, bucket: str, key: str, version_id: str | None, destination: str) -> None:
        """Copy the object version to `destination`, then delete that version at `key`.

        The delete names the version it copied. A delete without one would lay a delete
        marker over the key in the versioned bucket: it hides whatever version is current
        (an accepted original, a newer upload) and turns it noncurrent, which the lifecycle
        rule then expires. Deleting only the copied version leaves every other version as
        it was, and the version before it current again.
        """
        source: dict[str, str] = {"Bucket": bucket, "Key": key, **self._version(version_id)}
        client = self._client_factory()
        try:
            copied = client.copy_object(Bucket=bucket, Key=destination, CopySource=source)
            # An event without a version id (a replay): S3 names the version it copied.
            copied_version = version_id or copied.get("CopySourceVersionId")
            # No version at all only in an unversioned bucket, where a delete is a delete.
            client.delete_object(Bucket=bucket, Key=key, **self._version(copied_version))
        except Exception as exc:
            if aws.error_code(exc) in {"NoSuchKey", "NoSuchVersion", "404"}:
                raise ObjectGoneError(f"s3://{bucket}/{key} no longer exists") from exc
            raise aws.translate(exc, f"moving s3://{bucket}/{key} to {destination}") from exc

    def read_json(self, bucket: str, key: str) -> Any | None:
        """The JSON document at the key, or None when there is none."""
        try:
            body = self._client_factory().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            if aws.error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise aws.translate(exc, f"reading s3://{bucket}/{key}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise errors.PermanentError(f"s3://{bucket}/{key} is not valid JSON") from exc


def execution_name(document_id: str, delivery_key: str) -> str:
    """Deterministic per object version: a redelivered event names the same execution."""
    digest = hashlib.sha256(delivery_key.encode("utf-8")).hexdigest()[:16]
    return _EXECUTION_NAME_UNSAFE.sub("-", f"{document_id}-{digest}")[:80]


class Executions:
    def __init__(
        self, client_factory: Callable[[], Any] = lambda: aws.client("stepfunctions")
    ) -> None:
        self._client_factory = client_factory

    def start(self, state_machine: str, name: str, payload: dict[str, Any]) -> str:
        """Start (or find, for a duplicate) the named execution; returns its ARN.

        `state_machine` is a name in this account and region, or a full ARN.
        """
        state_machine_arn = (
            state_machine
            if state_machine.startswith("arn:")
            else aws.arn("states", f"stateMachine:{state_machine}")
        )
        client = self._client_factory()
        try:
            return str(
                client.start_execution(
                    stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
                )["executionArn"]
            )
        except Exception as exc:
            if aws.error_code(exc) == "ExecutionAlreadyExists":
                prefix = state_machine_arn.replace(":stateMachine:", ":execution:")
                return f"{prefix}:{name}"
            raise aws.translate(exc, "starting the processing workflow") from exc


class SignatureCache:
    """The stage's signature list from S3, re-read at most every `ttl_seconds`."""

    def __init__(
        self,
        objects: S3Objects,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._objects = objects
        self._ttl = ttl_seconds
        self._clock = clock
        self._cached: tuple[float, Any] | None = None

    def load(self, bucket: str, key: str) -> Any | None:
        now = self._clock()
        if self._cached is None or now - self._cached[0] >= self._ttl:
            self._cached = (now, self._objects.read_json(bucket, key))
        return self._cached[1]
