"""SES, with its errors translated: throttling is transient (the SQS item is retried)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docflow.notify.model import Email
from shared import aws, errors

# SES answers these for a message that can never be sent as it is.
_PERMANENT = frozenset({"MessageRejected", "MailFromDomainNotVerified", "InvalidParameterValue"})


class SesMailer:
    def __init__(
        self, sender: str, client_factory: Callable[[], Any] = lambda: aws.client("ses")
    ) -> None:
        self.sender = sender
        self._client_factory = client_factory

    def send(self, email: Email) -> str:
        try:
            response = self._client_factory().send_email(
                Source=self.sender,
                Destination={"ToAddresses": [email.to]},
                Message={
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": email.body, "Charset": "UTF-8"}},
                },
            )
        except Exception as exc:
            if aws.error_code(exc) in _PERMANENT:
                raise errors.PermanentError(
                    f"SES refused the e-mail ({aws.error_code(exc)}); check the sender identity"
                ) from exc
            raise aws.translate(exc, "sending e-mail through SES") from exc
        return str(response["MessageId"])
