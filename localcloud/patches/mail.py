"""SES: the mail the stack sends is written to a file, since it never leaves the machine."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from moto.ses.models import SESBackend

from localcloud.patches.context import LocalCloud

MAIL_FILE = "mail.jsonl"
_lock = threading.Lock()


def sent_mail_log(cloud: LocalCloud) -> None:
    """Every message SES accepts is appended to <state dir>/mail.jsonl, one JSON object a line.

    AWS delivers it; moto keeps it in memory only, where nothing outside the server can read
    it (its /moto-api/data.json fails on SES messages). The file is what the demo and the tests
    read to show and check the mail docflow sent.
    """
    if cloud.state_dir is None:
        return
    path = cloud.state_dir / MAIL_FILE

    def record(kind: str, message: Any, **fields: Any) -> None:
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "kind": kind,
            "message_id": getattr(message, "id", None),
            **fields,
        }
        with _lock, path.open("a", encoding="utf-8") as mail:
            mail.write(json.dumps(entry) + "\n")

    original_send = SESBackend.send_email
    original_raw = SESBackend.send_raw_email
    original_templated = SESBackend.send_templated_email

    def send_email(
        self: SESBackend, source: str, subject: str, body: str, destinations: Any
    ) -> Any:
        message = original_send(self, source, subject, body, destinations)
        record(
            "email", message, source=source, destinations=destinations, subject=subject, body=body
        )
        return message

    def send_raw_email(self: SESBackend, source: str, destinations: Any, raw_data: str) -> Any:
        message = original_raw(self, source, destinations, raw_data)
        record("raw", message, source=source, destinations=destinations, raw=raw_data)
        return message

    def send_templated_email(self: SESBackend, *args: Any, **kwargs: Any) -> Any:
        message = original_templated(self, *args, **kwargs)
        record("templated", message, arguments=[str(a) for a in args])
        return message

    SESBackend.send_email = send_email  # type: ignore[method-assign]
    SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]
    SESBackend.send_templated_email = send_templated_email  # type: ignore[method-assign]
