"""What AWS guarantees under concurrency or partial updates, and moto 5.2.5 does not."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from localcloud.patches.context import LocalCloud


def dynamodb_atomic_writes(cloud: LocalCloud) -> None:
    """A DynamoDB write checks its condition and applies its update as one atomic step.

    moto's server answers requests on many threads and evaluates a ConditionExpression, then
    writes, with nothing in between held: two concurrent `status = awaiting_approval` updates
    both passed (two decisions accepted for one document). DynamoDB serialises writes to an
    item, so one of them fails with ConditionalCheckFailedException. One lock for the writes of
    the whole emulator is coarser than AWS's per item, and gives the same outcomes.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def serialised(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def write(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return write

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, serialised(getattr(DynamoDBBackend, name)))


def sqs_attributes_keep_the_policy(cloud: LocalCloud) -> None:
    """SetQueueAttributes changes only the attributes it names; a queue keeps its Policy.

    moto reset the policy on every SetQueueAttributes call that did not carry one, so changing a
    queue's VisibilityTimeout removed the policy that lets SNS deliver to it, and every
    later delivery was refused (the local stack enforces queue policies as AWS does).
    """
    from moto.sqs.models import Queue

    original = Queue._set_attributes

    def set_attributes(self: Queue, attributes: dict[str, Any], now: Any = None) -> None:
        kept = getattr(self, "policy", None)
        if now is None:
            original(self, attributes)
        else:
            original(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = kept

    Queue._set_attributes = set_attributes  # type: ignore[method-assign]
