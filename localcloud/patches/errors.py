"""Operations moto does not implement answer with an AWS error, not an HTML 500 page."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from moto.core.responses import BaseResponse

from localcloud.patches.context import LocalCloud

CODE = "UnsupportedOperation"


def unsupported_operations(cloud: LocalCloud) -> None:
    """An operation the emulator lacks fails with 400 UnsupportedOperation, once, with its name.

    moto raised NotImplementedError, which its server turned into an HTML 500 page: SDKs retry
    a 500 (slowly) and then report an unparseable error. AWS answers an operation a service
    does not support with a 400 and an error code clients can test for, and callers with a
    fallback (scripts/redrive.py: StartMessageMoveTask, else copy) take it.
    """
    original = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        try:
            return original(self)
        except NotImplementedError as exc:
            message = f"localcloud: {exc}"
            headers: dict[str, Any] = dict(self.response_headers)
            headers["status"] = 400
            is_json = (
                "json" in str(self.headers.get("Content-Type", ""))
                or "X-Amz-Target" in self.headers
            )
            if is_json:
                headers["x-amzn-ErrorType"] = CODE
                body = json.dumps({"__type": CODE, "message": message})
            else:
                body = (
                    "<ErrorResponse><Error><Type>Sender</Type>"
                    f"<Code>{CODE}</Code><Message>{escape(message)}</Message>"
                    "</Error><RequestId>localcloud</RequestId></ErrorResponse>"
                )
            return 400, headers, body

    BaseResponse.call_action = call_action  # type: ignore[method-assign]
