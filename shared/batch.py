"""Partial batch responses for SQS, Kinesis and DynamoDB streams.

Each record is handled on its own; a failure is logged and reported as a
`batchItemFailures` entry so the source retries only that record (and, for SQS, moves it to
the dead-letter queue after the configured receives). Requires `ReportBatchItemFailures` on
the event source mapping. For ordered sources (Kinesis, DynamoDB streams) processing stops at
the first failure: the source retries from that sequence number, so later records must not
be acknowledged ahead of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.logging import get_logger

log = get_logger(__name__)


def process_batch[R](
    records: Iterable[R],
    handle: Callable[[R], Any],
    item_id: Callable[[R], str],
    *,
    ordered: bool = False,
) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    for record in records:
        identifier = item_id(record)
        if failures and ordered:
            failures.append({"itemIdentifier": identifier})
            continue
        try:
            handle(record)
        except Exception as exc:
            log.warning(
                "batch_item_failed",
                item=identifier,
                error=type(exc).__name__,
                reason=str(exc),
                exc_info=not getattr(exc, "retryable", False),
            )
            failures.append({"itemIdentifier": identifier})
    return {"batchItemFailures": failures}


def report(failed_identifiers: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """A partial batch response naming `failed_identifiers` (message ids, sequence numbers).

    For consumers whose unit of work is the whole batch or a window (the stream-to-lake sync
    writes one object per batch): for ordered sources, report from the first record that was
    not durably handled; the source retries from the lowest identifier reported.
    """
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_identifiers]}
