"""Move dead-lettered messages back to the queue they came from.

    python -m scripts.redrive --stage dev --queue notify            # StartMessageMoveTask
    python -m scripts.redrive --stage local --queue webhooks --mode copy --max 100
    python -m scripts.redrive --dlq-url URL --source-url URL --mode copy

Two ways, chosen with --mode (default `auto`: the first, and the second where the first is
not available):

- `move-task`: SQS StartMessageMoveTask. SQS moves the messages itself, server-side: no
  message body passes through the operator's machine, nothing is left half-done if this
  process dies, the rate is bounded (--rate), the task can be watched and cancelled in the
  console, and message attributes are kept. It needs the dead-letter queue's
  RedriveAllowPolicy to admit the source (resources/events.yml does), moves everything (no
  limit, no filter), and allows one active task per queue. moto (the local stack) lacks it.
- `copy`: receive, send to the source, delete, ten at a time. Works on any SQS, including
  the local stack, and can stop after --max messages. It is at-least-once: a crash between
  send and delete leaves a copy in both queues, which the consumers absorb (they are
  idempotent per event). A copied message starts with a fresh receive count.

`--stage` gives the region (config/<stage>.yml) and the queue names; `--stage local` is the
running local stack (.local/stack.json). Credentials come from the usual AWS chain.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import stage as target
from scripts.stage import OperatorError

BATCH = 10
# How an SQS without StartMessageMoveTask answers: AWS-compatible emulators name the error;
# moto in server mode raises NotImplementedError, which reaches the client as a bare HTTP
# 500 page (error code "500"; a real AWS failure carries a name such as InternalError).
_UNSUPPORTED = {"UnsupportedOperation", "InvalidAction", "NotImplemented", "404", "500"}


@dataclass(frozen=True)
class Redrive:
    mode: str
    moved: int | None  # None: a move task runs server-side; see `task`
    task: str | None = None


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def copy_back(sqs: Any, dlq_url: str, source_url: str, limit: int | None = None) -> int:
    """Receive from the dead-letter queue, send to the source, delete what was sent."""
    moved = 0
    while limit is None or moved < limit:
        want = BATCH if limit is None else min(BATCH, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not messages:
            break
        entries = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        done = [messages[int(s["Id"])] for s in sent.get("Successful", [])]
        for failure in sent.get("Failed", []):
            print(f"not moved: {failure.get('Code')}: {failure.get('Message')}", file=sys.stderr)
        if done:
            sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        moved += len(done)
        if not done:
            break
    return moved


def start_move_task(sqs: Any, dlq_url: str, source_url: str, rate: int | None) -> str:
    request: dict[str, Any] = {
        "SourceArn": queue_arn(sqs, dlq_url),
        "DestinationArn": queue_arn(sqs, source_url),
    }
    if rate:
        request["MaxNumberOfMessagesPerSecond"] = rate
    return str(sqs.start_message_move_task(**request)["TaskHandle"])


def _unsupported(exc: Exception) -> bool:
    if isinstance(exc, NotImplementedError):
        return True
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code in _UNSUPPORTED


def redrive(
    sqs: Any,
    dlq_url: str,
    source_url: str,
    *,
    mode: str = "auto",
    limit: int | None = None,
    rate: int | None = None,
) -> Redrive:
    if mode == "copy" or (mode == "auto" and limit is not None):
        return Redrive("copy", copy_back(sqs, dlq_url, source_url, limit))
    try:
        return Redrive("move-task", None, start_move_task(sqs, dlq_url, source_url, rate))
    except Exception as exc:
        if mode == "auto" and _unsupported(exc):
            return Redrive("copy", copy_back(sqs, dlq_url, source_url, limit))
        raise


def wait_for_task(sqs: Any, dlq_url: str, poll_seconds: float = 5.0) -> dict[str, Any]:
    source_arn = queue_arn(sqs, dlq_url)
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1)["Results"]
        if tasks and tasks[0]["Status"] != "RUNNING":
            return dict(tasks[0])
        time.sleep(poll_seconds)


QUEUES = ("notify", "webhooks")


def queue_urls(sqs: Any, name: str) -> tuple[str, str]:
    """(dead-letter queue URL, source queue URL) of a fan-out queue named `name`."""
    urls = []
    for queue in (f"{name}-dlq", name):
        try:
            urls.append(str(sqs.get_queue_url(QueueName=queue)["QueueUrl"]))
        except sqs.exceptions.QueueDoesNotExist:
            raise OperatorError(f"no queue {queue} here: is the stage deployed?") from None
    return urls[0], urls[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.redrive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--stage", help="local, dev, prod: its region and queues <service>-<stage>-<queue>[-dlq]"
    )
    parser.add_argument("--queue", choices=QUEUES, help="the fan-out queue (with --stage)")
    parser.add_argument("--service", default=target.SERVICE, help=argparse.SUPPRESS)
    parser.add_argument("--dlq-url", help="instead of --stage/--queue")
    parser.add_argument("--source-url", help="instead of --stage/--queue")
    parser.add_argument("--mode", choices=["auto", "move-task", "copy"], default="auto")
    parser.add_argument("--max", type=int, default=None, help="at most this many (copy mode)")
    parser.add_argument("--rate", type=int, default=None, help="messages/s (move-task mode)")
    parser.add_argument("--wait", action="store_true", help="wait for a move task to finish")
    parser.add_argument("--region", default=None, help="instead of the stage's region")
    parser.add_argument("--stack", type=Path, default=target.STACK_FILE, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    by_url = bool(args.dlq_url and args.source_url)
    if not by_url and not (args.stage and args.queue):
        parser.error("give --stage and --queue, or --dlq-url and --source-url")
    return target.run("redrive", lambda: _redrive(args, by_url))


def _redrive(args: argparse.Namespace, by_url: bool) -> int:
    # A queue URL names its region (https://sqs.<region>.amazonaws.com/<account>/<name>).
    in_url = re.match(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com/", args.dlq_url or "")
    region = args.region or (in_url.group(1) if in_url and not args.stage else None)
    where = target.resolve(args.stage, region, args.stack)
    sqs = where.client("sqs")
    if by_url:
        dlq_url, source_url = args.dlq_url, args.source_url
    else:
        dlq_url, source_url = queue_urls(sqs, f"{args.service}-{args.stage}-{args.queue}")
    try:
        result = redrive(sqs, dlq_url, source_url, mode=args.mode, limit=args.max, rate=args.rate)
    except sqs.exceptions.QueueDoesNotExist:
        raise OperatorError(f"no queue at {dlq_url} or {source_url} in {where.where}") from None
    if result.task:
        print(f"move task started: {result.task}")
        if args.wait:
            task = wait_for_task(sqs, dlq_url)
            print(f"{task['Status']}: {task.get('ApproximateNumberOfMessagesMoved', 0)} moved")
    else:
        print(f"moved {result.moved} message(s) from {dlq_url} to {source_url} ({result.mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
