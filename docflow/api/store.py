"""Presigned uploads, bound to the declared content type and exact size."""

from __future__ import annotations

from typing import Any

from shared import aws


class S3Presigner(aws.Bucket):
    def presigned_post(
        self, key: str, content_type: str, size: int, ttl_seconds: int
    ) -> dict[str, Any]:
        # A presigned POST (not PUT) lets S3 itself enforce the size: the policy's
        # content-length-range admits exactly the declared number of bytes.
        with aws.translated("signing the upload"):
            post = self._client_factory().generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
                ExpiresIn=ttl_seconds,
            )
        return {"method": "POST", "url": post["url"], "fields": post["fields"]}
