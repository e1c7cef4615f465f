"""SQS event sources: Lambda's poller, instead of moto's invocation inside SendMessage."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from moto.sqs.models import Queue, sqs_backends

from localcloud.patches.context import LocalCloud
from localcloud.patches.polling import Poller
from localcloud.xray import context as xray_context

log = logging.getLogger("localcloud.sqs")


def _record(message: Any, queue: Queue) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": "AIDALOCALCLOUD",
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    trace_header = (message.system_attributes or {}).get("AWSTraceHeader") or {}
    if trace_header.get("StringValue"):
        attributes["AWSTraceHeader"] = trace_header["StringValue"]
    if queue.fifo_queue:
        attributes["MessageGroupId"] = message.group_id
        attributes["MessageDeduplicationId"] = message.deduplication_id
    message_attributes = {
        name: {
            "dataType": value.get("DataType"),
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
        }
        for name, value in message.message_attributes.items()
    }
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }


class SqsPoller(Poller):
    """Polls every queue that has an enabled event source mapping, as Lambda's pollers do.

    A batch goes to the function synchronously. Success deletes the batch; with
    ReportBatchItemFailures only the messages not named in batchItemFailures are deleted; a
    function error deletes nothing. Undeleted messages become visible again after the queue's
    visibility timeout, and moto's receive moves them to the dead-letter queue once their
    receive count reaches the redrive policy's maxReceiveCount.
    """

    thread_name = "sqs-poller"
    stop_on = (RuntimeError,)  # the pool is shut down: the server is stopping

    def __init__(self) -> None:
        self._busy: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sqs-poller")
        super().__init__()

    def _poll_once(self) -> None:
        for account_id, regions in list(sqs_backends.items()):
            for region, backend in list(regions.items()):
                for queue in list(backend.queues.values()):
                    for function_arn, mapping in list(queue.lambda_event_source_mappings.items()):
                        if not mapping.enabled:
                            continue
                        key = (queue.queue_arn, function_arn)
                        with self._lock:
                            if key in self._busy:
                                continue
                            self._busy.add(key)
                        self._pool.submit(self._deliver, account_id, region, queue, mapping, key)

    def _deliver(
        self, account_id: str, region: str, queue: Queue, mapping: Any, key: tuple[str, str]
    ) -> None:
        from moto.awslambda.utils import get_backend

        from localcloud.iam import deploytime, enforce
        from localcloud.patches import awslambda

        # Poll again at once only after a non-empty batch (there may be more); an empty
        # queue waits for the next tick or a SendMessage, or the poller spins a core.
        got_messages = False
        try:
            fn = get_backend(account_id, region).get_function(mapping.function_arn)
            # Lambda's poller receives and deletes with the function's role.
            if not all(
                enforce.role_may(fn.role, fn.function_name, action, queue.queue_arn)
                for action in deploytime.QUEUE_READS
            ):
                return
            backend = sqs_backends[account_id][region]
            messages = backend.receive_message(
                queue.name,
                int(mapping.batch_size or 10),
                0,
                int(queue.visibility_timeout),  # type: ignore[attr-defined]  # set from attributes
            )
            if not messages:
                return
            got_messages = True
            event = {"Records": [_record(m, queue) for m in messages]}
            result = awslambda._run(fn, json.dumps(event))
            if result.function_error:
                return
            failed: set[str] = set()
            if "ReportBatchItemFailures" in (mapping.function_response_types or []):
                answer = json.loads(result.payload) if result.payload else None
                if isinstance(answer, dict):
                    failed = {
                        str(item.get("itemIdentifier"))
                        for item in answer.get("batchItemFailures") or []
                    }
            for message in messages:
                if message.id not in failed:
                    backend.delete_message(queue.name, str(message.receipt_handle))
        except Exception:
            log.exception("SQS delivery from %s failed", queue.name)
        finally:
            with self._lock:
                self._busy.discard(key)
            if got_messages:
                self._wake.set()


def event_source_poller(cloud: LocalCloud) -> None:
    """SQS messages reach a mapped function through a poller, after SendMessage has returned.

    moto received and invoked inside SendMessage (the sender waited for the consumer), and a
    failed batch was only retried when another message arrived. AWS polls continuously.
    """
    poller = SqsPoller()
    original = Queue.add_message
    swap = threading.Lock()

    def add_message(self: Queue, message: Any) -> None:
        # SQS keeps the sender's X-Amzn-Trace-Id (SNS passes its publisher's) as the message's
        # AWSTraceHeader, unless the sender set that attribute itself.
        header = xray_context.current()
        if header and "AWSTraceHeader" not in (message.system_attributes or {}):
            message.system_attributes = {
                **(message.system_attributes or {}),
                "AWSTraceHeader": {"DataType": "String", "StringValue": header},
            }
        # moto's add_message invokes the mapped functions itself; hide them from it.
        with swap:
            mappings = self.lambda_event_source_mappings
            self.lambda_event_source_mappings = {}
            try:
                original(self, message)
            finally:
                self.lambda_event_source_mappings = mappings
        poller.wake()

    Queue.add_message = add_message  # type: ignore[method-assign]
