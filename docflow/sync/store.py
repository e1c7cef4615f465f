"""The analytics bucket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import aws


class LakeBucket:
    def __init__(
        self, bucket: str, client_factory: Callable[[], Any] = lambda: aws.client("s3")
    ) -> None:
        self.bucket = bucket
        self._client_factory = client_factory

    def put(self, key: str, body: bytes) -> None:
        with aws.translated(f"writing s3://{self.bucket}/{key}"):
            self._client_factory().put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson"
            )
