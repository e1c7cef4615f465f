"""What the log analytics made of the API traffic, read as an operator reads it on AWS.

The HTTP API's access log reaches the analytics function through its subscription filter and
the Kinesis stream; at each window's end the function writes per-route figures as embedded
metrics (CloudWatch extracts them) and pages the alarm topic when a route crosses its
threshold. Everything here goes through the public APIs of the endpoint it is given:

- `AlarmInbox`: an SQS queue subscribed to the alarm topic, as an on-call tool would be;
- `ReadOutage`: a game day, an explicit Deny of the documents table's reads for the api
  function's role (put with IAM, removed after), so its reads answer 500;
- `window_figures`: the per-route metrics of recent windows (GetMetricData).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

Client = Callable[[str], Any]

ROUTE_METRICS = (
    ("Requests", "Sum"),
    ("Errors", "Sum"),
    ("ErrorRate", "Maximum"),
    ("LatencyP50", "Maximum"),
    ("LatencyP95", "Maximum"),
    ("LatencyP99", "Maximum"),
)
OUTAGE_POLICY = "game-day-documents-read-outage"


def stack_resource(client: Client, stack_name: str, logical_id: str) -> str:
    answer = client("cloudformation").describe_stack_resource(
        StackName=stack_name, LogicalResourceId=logical_id
    )
    return str(answer["StackResourceDetail"]["PhysicalResourceId"])


class _Closed:
    """Closed when the `with` block it was entered for ends, however it ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AlarmInbox(_Closed):
    """An SQS queue subscribed to the alarm topic; `alerts()` are the analytics' pages so far."""

    def __init__(self, client: Client, topic_arn: str, name: str) -> None:
        self._sqs, self._sns = client("sqs"), client("sns")
        self.topic_arn = topic_arn
        self.queue_url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        # The topic may send to the queue, for this topic only (as SNS requires).
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        self._sqs.set_queue_attributes(
            QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)}
        )
        self.subscription_arn = self._sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        self._received: list[dict[str, Any]] = []

    def alerts(self) -> list[dict[str, Any]]:
        """Every analytics alert received so far (other pages on the topic are left out)."""
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return list(self._received)
            for message in messages:
                envelope = json.loads(message["Body"])
                try:
                    body = json.loads(envelope.get("Message", ""))
                except ValueError:
                    body = None
                if isinstance(body, dict) and body.get("source") == "docflow.analytics":
                    self._received.append(body)
                self._sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def wait_for(
        self, route: str, timeout_s: float, interval_s: float = 1.0
    ) -> dict[str, Any] | None:
        """The first alert about `route`, or None after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = next((a for a in self.alerts() if a.get("route") == route), None)
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(interval_s)

    def close(self) -> None:
        self._sns.unsubscribe(SubscriptionArn=self.subscription_arn)
        self._sqs.delete_queue(QueueUrl=self.queue_url)


class ReadOutage(_Closed):
    """A game day: the api function's role may not read the documents table until it ends.

    An explicit Deny wins over the role's grants, so GET /documents/{id} answers 500 (the
    caller sees a generic message; the log keeps the AccessDenied cause)."""

    def __init__(self, client: Client, function_name: str, table_arn: str) -> None:
        self._iam = client("iam")
        role_arn = client("lambda").get_function_configuration(FunctionName=function_name)["Role"]
        self.role_name = str(role_arn).rsplit("/", 1)[-1]
        self.table_arn = table_arn

    def __enter__(self) -> Self:
        deny = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": self.table_arn}
            ],
        }
        self._iam.put_role_policy(
            RoleName=self.role_name, PolicyName=OUTAGE_POLICY, PolicyDocument=json.dumps(deny)
        )
        return self

    def close(self) -> None:
        """Ends the game day: the role reads the table again."""
        self._iam.delete_role_policy(RoleName=self.role_name, PolicyName=OUTAGE_POLICY)


@dataclass(frozen=True)
class RouteWindow:
    """One route's figures in one window, as the analytics put them into CloudWatch."""

    window_start: datetime
    route: str
    figures: dict[str, float]


def window_figures(
    client: Client, namespace: str, service: str, since: datetime, window_s: int
) -> list[RouteWindow]:
    """Every route's figures in the windows that started at or after `since`, oldest first."""
    cloudwatch = client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace=namespace, MetricName="Requests")["Metrics"]
    routes = sorted(
        {
            d["Value"]
            for m in listed
            for d in m["Dimensions"]
            if d["Name"] == "Route" and {"Name": "Service", "Value": service} in m["Dimensions"]
        }
    )
    found: dict[tuple[datetime, str], dict[str, float]] = {}
    for route in routes:
        dimensions = [{"Name": "Route", "Value": route}, {"Name": "Service", "Value": service}]
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": f"m{index}",
                    "Label": name,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": name,
                            "Dimensions": dimensions,
                        },
                        "Period": window_s,
                        "Stat": stat,
                    },
                }
                for index, (name, stat) in enumerate(ROUTE_METRICS)
            ],
            StartTime=since,
            EndTime=datetime.now(UTC) + timedelta(seconds=window_s),
        )
        for result in answer["MetricDataResults"]:
            for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                start = stamp.astimezone(UTC)
                if start >= since:
                    found.setdefault((start, route), {})[result["Label"]] = float(value)
    return [RouteWindow(start, route, figures) for (start, route), figures in sorted(found.items())]


def format_windows(rows: list[RouteWindow]) -> list[str]:
    """The windows as the demo prints them: one line per route and window."""
    lines = [
        f"  {'window (UTC)':8}  {'route':30} {'requests':>8} {'5xx':>5} {'5xx %':>6}"
        f" {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    ]
    for row in rows:
        f = row.figures
        lines.append(
            f"  {row.window_start:%H:%M:%S}      {row.route:30} {f.get('Requests', 0):8.0f}"
            f" {f.get('Errors', 0):5.0f} {f.get('ErrorRate', 0):6.1f}"
            f" {f.get('LatencyP50', 0):7.0f} {f.get('LatencyP95', 0):7.0f}"
            f" {f.get('LatencyP99', 0):7.0f}"
        )
    return lines
