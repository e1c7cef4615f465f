"""The analytics bucket."""

from __future__ import annotations

from shared import aws


class LakeBucket(aws.Bucket):
    def put(self, key: str, body: bytes) -> None:
        with aws.translated(f"writing s3://{self.bucket}/{key}"):
            self._client_factory().put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson"
            )
