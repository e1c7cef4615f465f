"""SES, with its errors translated: throttling is transient (the SQS item is retried)."""

from __future__ import annotations

from docflow.notify.model import Email
from shared import aws, errors

# SES answers InvalidParameterValue (a common error botocore does not model) for an address it
# cannot send to as it is.
_INVALID_PARAMETER = "InvalidParameterValue"


class SesMailer(aws.Adapter):
    service = "ses"

    def __init__(self, sender: str, client_factory: aws.ClientFactory | None = None) -> None:
        super().__init__(client_factory)
        self.sender = sender

    def send(self, email: Email) -> str:
        client = self._client_factory()
        with aws.translated("sending e-mail through SES"):
            try:
                response = client.send_email(
                    Source=self.sender,
                    Destination={"ToAddresses": [email.to]},
                    Message={
                        "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": email.body, "Charset": "UTF-8"}},
                    },
                )
            except (
                client.exceptions.MessageRejected,
                client.exceptions.MailFromDomainNotVerifiedException,
            ) as exc:
                raise _refused(exc) from exc
            except client.exceptions.ClientError as exc:
                if aws.error_code(exc) != _INVALID_PARAMETER:
                    raise
                raise _refused(exc) from exc
        return str(response["MessageId"])


def _refused(exc: BaseException) -> errors.PermanentError:
    """A message SES can never send as it is: retrying cannot help."""
    return errors.PermanentError(
        f"SES refused the e-mail ({aws.error_code(exc)}); check the sender identity"
    )
