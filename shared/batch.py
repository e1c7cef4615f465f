"""Partial batch responses for SQS, Kinesis and DynamoDB streams.

Each record is handled on its own; a failure is logged and reported as a
`batchItemFailures` entry so the source retries only that record (and, for SQS, moves it to
the dead-letter queue after the configured receives). Requires `ReportBatchItemFailures` on
the event source mapping. For ordered sources (Kinesis, DynamoDB streams) processing stops at
the first failure: the source retries from that sequence number, so later records must not
be acknowledged ahead of it.

A batch in which every record failed is not a partial success: `process_batch` raises
`BatchFailedError`, an invocation error, so Lambda backs off its pollers instead of
redelivering at full speed while a dependency is down (Powertools' batch processor does the
same). The source then retries or dead-letters the records exactly as if each had been
reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.errors import BatchFailedError, DocflowError
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
    count = 0
    for record in records:
        count += 1
        identifier = item_id(record)
        if failures and ordered:
            failures.append({"itemIdentifier": identifier})
            continue
        try:
            handle(record)
        except Exception as exc:
            expected = isinstance(exc, DocflowError)
            log.warning(
                "batch_item_failed",
                item=identifier,
                error=type(exc).__name__,
                reason=str(exc),
                retryable=getattr(exc, "retryable", False),
                # A typed error says all there is to say; anything else keeps its traceback.
                exc_info=not expected,
            )
            failures.append({"itemIdentifier": identifier})
    if count and len(failures) == count:
        raise BatchFailedError(
            f"all {count} records of the batch failed; the source retries them",
            records=count,
        )
    return {"batchItemFailures": failures}


def report(failed_identifiers: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """A partial batch response naming `failed_identifiers` (message ids, sequence numbers).

    For consumers whose unit of work is the whole batch or a window (the stream-to-lake sync
    writes one object per batch): for ordered sources, report from the first record that was
    not durably handled; the source retries from the lowest identifier reported.
    """
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_identifiers]}
