"""The documents bucket: an upload's object in, renditions out, quarantine, removal.

One adapter for every package that touches document objects (intake, processing), so they
agree on what "gone" means: any of `shared.aws.OBJECT_GONE` is an `ObjectGoneError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from docflow.documents.errors import ObjectGoneError
from shared import aws, errors

CHUNK_BYTES = 1024 * 1024


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def _gone(bucket: str, key: str, version_id: str | None) -> Callable[[], ObjectGoneError]:
    return lambda: ObjectGoneError(
        f"source_gone: s3://{bucket}/{key} (version {version_id}) no longer exists"
    )


class S3Objects(aws.Adapter):
    service = "s3"

    def size(self, bucket: str, key: str, version_id: str | None) -> int:
        with aws.translated(f"reading s3://{bucket}/{key}", gone=_gone(bucket, key, version_id)):
            head = self._client_factory().head_object(
                Bucket=bucket, Key=key, **_version(version_id)
            )
        return int(head["ContentLength"])

    def _body(self, bucket: str, key: str, version_id: str | None, **extra: Any) -> Any:
        with aws.translated(f"reading s3://{bucket}/{key}", gone=_gone(bucket, key, version_id)):
            return self._client_factory().get_object(
                Bucket=bucket, Key=key, **_version(version_id), **extra
            )["Body"]

    def read(self, bucket: str, key: str, version_id: str | None) -> bytes:
        body = self._body(bucket, key, version_id)
        try:
            with aws.translated(f"reading s3://{bucket}/{key}"):
                return bytes(body.read())
        finally:
            body.close()

    def chunks(
        self, bucket: str, key: str, version_id: str | None, first_bytes: int | None = None
    ) -> Iterator[bytes]:
        """The object in chunks of `CHUNK_BYTES`, or only its first `first_bytes` bytes."""
        extra = {"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {}
        body = self._body(bucket, key, version_id, **extra)
        try:
            while True:
                with aws.translated(f"reading s3://{bucket}/{key}"):
                    chunk = body.read(CHUNK_BYTES)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    def read_json(self, bucket: str, key: str) -> Any | None:
        """The JSON document at the key, or None when there is none."""
        try:
            data = self.read(bucket, key, None)
        except ObjectGoneError:
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise errors.PermanentError(f"s3://{bucket}/{key} is not valid JSON") from exc

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        with aws.translated(f"writing s3://{bucket}/{key}"):
            self._client_factory().put_object(
                Bucket=bucket, Key=key, Body=data, ContentType=content_type
            )

    def upload(self, bucket: str, key: str, stream: IO[bytes], content_type: str) -> None:
        """Upload a (possibly large) file object; multipart above the transfer threshold."""
        stream.seek(0)
        with aws.translated(f"writing s3://{bucket}/{key}"):
            self._client_factory().upload_fileobj(
                stream, bucket, key, ExtraArgs={"ContentType": content_type}
            )

    def move(self, bucket: str, key: str, version_id: str | None, destination: str) -> None:
        """Copy the object version to `destination`, then delete that version at `key`.

        The delete names the version it copied. A delete without one would lay a delete
        marker over the key in the versioned bucket: it hides whatever version is current
        (an accepted original, a newer upload) and turns it noncurrent, which the lifecycle
        rule then expires. Deleting only the copied version leaves every other version as
        it was, and the version before it current again.
        """
        source: dict[str, str] = {"Bucket": bucket, "Key": key, **_version(version_id)}
        client = self._client_factory()
        with aws.translated(
            f"moving s3://{bucket}/{key} to {destination}", gone=_gone(bucket, key, version_id)
        ):
            copied = client.copy_object(Bucket=bucket, Key=destination, CopySource=source)
            # An event without a version id (a replay): S3 names the version it copied.
            copied_version = version_id or copied.get("CopySourceVersionId")
            # No version at all only in an unversioned bucket, where a delete is a delete.
            client.delete_object(Bucket=bucket, Key=key, **_version(copied_version))

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every version (and delete marker) under `prefix`; the number removed."""
        client = self._client_factory()
        removed = 0
        with aws.translated(f"removing s3://{bucket}/{prefix}"):
            paginator = client.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                targets = [
                    {"Key": item["Key"], "VersionId": item["VersionId"]}
                    for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if targets:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": targets, "Quiet": True})
                    removed += len(targets)
        return removed
