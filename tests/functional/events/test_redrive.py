from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scripts import redrive
from tests.functional.events.conftest import EventsStack, Receiver, drain
from tests.functional.events.test_webhooks import publish_processed, subscribe
from tests.support import fresh_import


def test_dead_lettered_deliveries_return_to_their_queue_and_reach_the_recovered_subscriber(
    events_stack: EventsStack, receivers: Callable[[], Receiver]
) -> None:
    webhooks = fresh_import("handlers.webhooks")
    down = receivers()
    down.mode = "fail"
    subscribe(events_stack, "erp", down.url)
    messages_in = 12
    publish_processed(events_stack, messages_in)
    drain(events_stack, "webhooks", webhooks.handler)
    assert events_stack.count("webhooks-dlq") == messages_in

    down.mode = "ok"
    webhooks.dispatcher.breaker._clock = lambda: 2_000_000_000.0  # the open period is over
    sqs = events_stack.client("sqs")
    result = redrive.redrive(
        sqs, events_stack.queues["webhooks-dlq"].url, events_stack.queues["webhooks"].url
    )
    drain(events_stack, "webhooks", webhooks.handler)

    assert (result.mode, result.moved) == ("copy", messages_in)  # moto lacks the move task
    assert events_stack.count("webhooks-dlq") == 0
    delivered = {r["headers"]["X-Docflow-Event-Id"] for r in down.requests}
    assert len(delivered) == messages_in == len(down.requests)


def test_copy_stops_after_the_limit(events_stack: EventsStack) -> None:
    sqs = events_stack.client("sqs")
    dlq, source = events_stack.queues["notify-dlq"].url, events_stack.queues["notify"].url
    for index in range(15):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=f"message {index}",
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": "x"}},
        )

    result = redrive.redrive(sqs, dlq, source, limit=11)

    assert (result.mode, result.moved) == ("copy", 11)
    assert (events_stack.count("notify-dlq"), events_stack.count("notify")) == (4, 11)
    moved = sqs.receive_message(QueueUrl=source, MessageAttributeNames=["All"])["Messages"][0]
    assert moved["MessageAttributes"]["event_type"]["StringValue"] == "x"


class MoveTaskSqs:
    """An SQS that has StartMessageMoveTask, recording what it was asked."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> Any:  # noqa: N803
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:1:{QueueUrl.rsplit('/', 1)[1]}"}}

    def start_message_move_task(self, **request: Any) -> Any:
        self.requests.append(request)
        return {"TaskHandle": "task-1"}


def test_where_sqs_has_move_tasks_the_move_happens_server_side() -> None:
    sqs = MoveTaskSqs()

    result = redrive.redrive(
        sqs, "https://q/docflow-dev-notify-dlq", "https://q/docflow-dev-notify", rate=50
    )

    assert result == redrive.Redrive("move-task", None, "task-1")
    assert sqs.requests == [
        {
            "SourceArn": "arn:aws:sqs:us-east-1:1:docflow-dev-notify-dlq",
            "DestinationArn": "arn:aws:sqs:us-east-1:1:docflow-dev-notify",
            "MaxNumberOfMessagesPerSecond": 50,
        }
    ]


def test_an_sqs_that_answers_the_move_task_with_a_bare_500_page_gets_the_copy(
    events_stack: EventsStack,
) -> None:
    from botocore.exceptions import ClientError

    real = events_stack.client("sqs")

    class EmulatorSqs:
        """moto in server mode: StartMessageMoveTask is an HTTP 500 page, the rest works."""

        def start_message_move_task(self, **request: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "500", "Message": "<html>"}}, "StartMessageMoveTask"
            )

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    dlq, source = events_stack.queues["notify-dlq"].url, events_stack.queues["notify"].url
    real.send_message(QueueUrl=dlq, MessageBody="poison")

    result = redrive.redrive(EmulatorSqs(), dlq, source)

    assert (result.mode, result.moved) == ("copy", 1)
    assert (events_stack.count("notify-dlq"), events_stack.count("notify")) == (0, 1)
