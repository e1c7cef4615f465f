"""Subscribers and breaker state in DynamoDB, and the HTTP client that delivers.

The HTTP client is the standard library's `http.client`, so no runtime dependency is added:
the connect timeout bounds the TCP (and TLS) handshake, the read timeout every wait for the
subscriber's answer after that; a subscriber that hangs costs at most their sum.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from docflow.webhooks.errors import SubscriberError
from docflow.webhooks.model import BreakerState, Subscriber
from shared import aws, errors

MAX_RESPONSE_BYTES = 64 * 1024


class Subscribers(aws.Table):
    """Every subscriber in the table, re-read at most every `ttl_seconds` (the list is small)."""

    def __init__(
        self,
        table_name: str,
        ttl_seconds: float = 60.0,
        client_factory: aws.ClientFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(table_name, client_factory)
        self._ttl = ttl_seconds
        self._clock = clock
        self._cached: tuple[float, list[Subscriber]] | None = None

    def all(self) -> list[Subscriber]:
        now = self._clock()
        if self._cached is None or now - self._cached[0] >= self._ttl:
            self._cached = (now, self._scan())
        return self._cached[1]

    def _scan(self) -> list[Subscriber]:
        return [
            _subscriber(item)
            for page in self._pages("scan", "reading webhook subscribers", {})
            for item in page.get("Items", [])
        ]

    def put(self, subscriber: Subscriber) -> None:
        item: dict[str, Any] = {
            "subscriber_id": {"S": subscriber.subscriber_id},
            "url": {"S": subscriber.url},
            "enabled": {"BOOL": subscriber.enabled},
        }
        if subscriber.event_types:
            item["event_types"] = {"SS": sorted(subscriber.event_types)}
        with aws.translated("storing a webhook subscriber"):
            self._client_factory().put_item(TableName=self.table_name, Item=item)
        self._cached = None


def _subscriber(item: Mapping[str, Any]) -> Subscriber:
    try:
        return Subscriber(
            subscriber_id=item["subscriber_id"]["S"],
            url=item["url"]["S"],
            event_types=frozenset(item.get("event_types", {}).get("SS", [])),
            enabled=item.get("enabled", {}).get("BOOL", True),
        )
    except KeyError as exc:
        raise errors.PermanentError(f"subscriber item lacks {exc}; fix the table entry") from exc


class BreakerStore(aws.Table):
    """Breaker state per subscriber; writes are conditional on the version read (optimistic)."""

    def load(self, subscriber_id: str) -> BreakerState:
        with aws.translated("reading breaker state"):
            item = (
                self._client_factory()
                .get_item(
                    TableName=self.table_name,
                    Key={"subscriber_id": {"S": subscriber_id}},
                    ConsistentRead=True,
                )
                .get("Item")
            )
        if not item:
            return BreakerState(subscriber_id)
        return BreakerState(
            subscriber_id=subscriber_id,
            state=item["state"]["S"],
            failures=int(item["failures"]["N"]),
            opened_at=float(item["opened_at"]["N"]),
            trial_until=float(item["trial_until"]["N"]),
            version=int(item["version"]["N"]),
        )

    def save(self, state: BreakerState) -> bool:
        """Store `state` if nobody changed it since it was read; False when somebody did."""
        stored = replace(state, version=state.version + 1)
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(subscriber_id)"}
            if state.version == 0
            else {
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(state.version)}},
            }
        )
        client = self._client_factory()
        with aws.translated("storing breaker state"):
            try:
                client.put_item(
                    TableName=self.table_name,
                    Item={
                        "subscriber_id": {"S": stored.subscriber_id},
                        "state": {"S": stored.state},
                        "failures": {"N": str(stored.failures)},
                        "opened_at": {"N": repr(stored.opened_at)},
                        "trial_until": {"N": repr(stored.trial_until)},
                        "version": {"N": str(stored.version)},
                    },
                    **condition,
                )
            except client.exceptions.ConditionalCheckFailedException:
                return False
        return True


class HttpSender:
    def __init__(
        self, connect_timeout: float, read_timeout: float, *, allow_http: bool = False
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.allow_http = allow_http

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST `body` to `url`; the status code, or SubscriberError when none came back."""
        parts = urlsplit(url)
        if parts.scheme not in ({"https", "http"} if self.allow_http else {"https"}):
            raise errors.PermanentError(f"subscriber URL scheme {parts.scheme!r} is not allowed")
        if not parts.hostname:
            raise errors.PermanentError("subscriber URL has no host")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname, parts.port, timeout=self.connect_timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.connect()
            if connection.sock is not None:
                connection.sock.settimeout(self.read_timeout)
            connection.request("POST", path, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)
            return int(response.status)
        except TimeoutError as exc:
            raise SubscriberError(f"{parts.hostname} timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise SubscriberError(f"{parts.hostname}: {type(exc).__name__}") from exc
        finally:
            connection.close()
