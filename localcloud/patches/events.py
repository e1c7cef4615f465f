"""Event sources: S3 and SNS invoke Lambda asynchronously, with the event shapes AWS sends."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from moto.s3 import notifications
from moto.sns.models import Subscription

from localcloud.iam import enforce
from localcloud.patches import awslambda
from localcloud.patches.context import LocalCloud

log = logging.getLogger("localcloud.events")


def s3_notification_async(cloud: LocalCloud) -> None:
    """S3 invokes the function asynchronously, with the whole S3 event record.

    AWS queues the event (the upload's PUT returns at once) and retries a failed invocation as any
    asynchronous one; moto ran the function inside the PUT request. AWS's record also carries the
    object's versionId (on a versioned bucket), sequencer, userIdentity, requestParameters and
    responseElements, which moto leaves out; intake's per-version idempotency needs versionId.
    """
    original_event = notifications._get_s3_event

    def get_s3_event(
        event_name: str, bucket: Any, key: Any, notification_id: str
    ) -> dict[str, Any]:
        event = original_event(event_name, bucket, key, notification_id)
        record = event["Records"][0]
        record.update(
            {
                "userIdentity": {"principalId": "AWS:LOCALCLOUD"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": "LOCALCLOUD",
                    "x-amz-id-2": "LOCALCLOUD",
                },
            }
        )
        record["s3"]["bucket"]["ownerIdentity"] = {"principalId": "LOCALCLOUD"}
        obj = record["s3"]["object"]
        # S3 URL-encodes the key as a form value but keeps "/" (moto encoded it as %2F).
        obj["key"] = quote_plus(key.name, safe="/")
        if getattr(bucket, "is_versioned", False) and key.version_id not in (None, "null"):
            obj["versionId"] = key.version_id
        # S3's sequencer orders events for one key: hex, increasing with each write.
        obj["sequencer"] = f"{int(key.last_modified.timestamp() * 1_000_000):016X}"
        return event

    def invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(account_id, region_name).get_function(fn_arn)
        except Exception:
            log.warning("S3 notification target %s does not exist", fn_arn)
            return
        # S3 invokes only where the function's resource policy lets this bucket do it.
        bucket = event_body["Records"][0]["s3"]["bucket"]["arn"]
        if not enforce.service_may(
            "s3.amazonaws.com",
            "lambda:InvokeFunction",
            fn.function_arn,
            source_arn=bucket,
            source_account=account_id,
        ):
            return
        awslambda.invoke_async(fn, json.dumps(event_body))

    notifications._get_s3_event = get_s3_event
    notifications._invoke_awslambda = invoke_awslambda


def _sns_attributes(message_attributes: dict[str, Any] | None) -> dict[str, Any]:
    result = {}
    for name, attribute in (message_attributes or {}).items():
        kind = attribute.get("DataType") or attribute.get("Type") or "String"
        value = (
            attribute.get("StringValue") or attribute.get("BinaryValue") or attribute.get("Value")
        )
        result[name] = {"Type": kind, "Value": value}
    return result


def sns_lambda_event(cloud: LocalCloud) -> None:
    """SNS invokes a subscribed function asynchronously with the real notification record.

    moto sends placeholder values (TopicArn "arn:aws:sns:EXAMPLE", fixed MessageId, test
    attributes) and runs the function inside the Publish call; AWS sends the topic, message id,
    subject, timestamp and message attributes, and queues the invocation.
    """
    original = Subscription.publish

    def publish(
        self: Subscription,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if self.protocol == "sqs" and not enforce.service_may(
            "sns.amazonaws.com",
            "sqs:SendMessage",
            self.endpoint,
            source_arn=self.topic.arn,
            source_account=self.account_id,
        ):
            return None  # SNS drops what the queue's policy refuses (NumberOfNotificationsFailed)
        if self.protocol != "lambda":
            return original(
                self,
                message,
                message_id,
                subject,
                message_attributes,
                group_id,
                deduplication_id,
                message_structure,
            )
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            message_attributes, message
        ):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        from moto.awslambda.utils import get_backend

        region = self.endpoint.split(":")[3]
        fn = get_backend(self.account_id, region).get_function(self.endpoint)
        if not enforce.service_may(
            "sns.amazonaws.com",
            "lambda:InvokeFunction",
            fn.function_arn,
            source_arn=self.topic.arn,
            source_account=self.account_id,
        ):
            return None
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": self.arn,
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": message_id,
                        "TopicArn": self.topic.arn,
                        "Subject": subject,
                        "Message": message,
                        "Timestamp": stamp,
                        "SignatureVersion": "1",
                        "Signature": "LOCALCLOUD",
                        "SigningCertUrl": "https://localhost/localcloud.pem",
                        "UnsubscribeUrl": f"https://localhost/?Action=Unsubscribe&SubscriptionArn={self.arn}",
                        "MessageAttributes": _sns_attributes(message_attributes),
                    },
                }
            ]
        }
        awslambda.invoke_async(fn, json.dumps(event))
        return None

    Subscription.publish = publish  # type: ignore[method-assign]
