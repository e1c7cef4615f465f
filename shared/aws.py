"""AWS clients created on first use, cached per process, with explicit timeouts and retries.

Never create a client at import time: tests install moto before the first call, and the
cold start should not pay for services an invocation does not use. Clients come from one
session per process; `reset()` drops them (tests, SnapStart restores). `Adapter` is the base
of every adapter of one service (`Table`, `Bucket`, `Topic` of one resource): it calls that
client unless it was built with its own `client_factory`.
`translated()` turns botocore failures into docflow's error taxonomy around the call site, so
botocore types never reach handlers; the error-code tables it reads are here.

    with aws.translated("reading document"):
        response = client.get_item(...)

A caller that expects one particular refusal catches the SDK's modelled exception for it
inside the block (`except client.exceptions.ConditionalCheckFailedException`), as Chalice's
`awsclient` does; only refusals botocore does not model are matched by code, in the tables
below (`OBJECT_GONE`, say: HeadObject's bare 404).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from shared import errors

CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 10
MAX_ATTEMPTS = 4

THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
    }
)

ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "AuthorizationErrorException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "KMS.AccessDeniedException",
        "SignatureDoesNotMatch",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    }
)

NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound", "ResourceNotFoundException", "NoSuchBucket"})

CONDITION_FAILED = "ConditionalCheckFailedException"

OBJECT_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
"""S3's answers for an object (version) that is not there: GetObject's NoSuchKey, a deleted
version's NoSuchVersion and HeadObject's bare 404 (a HEAD has no body to name a code), the
last two not modelled by botocore."""


@functools.cache
def _session() -> Any:
    """This process's boto3 session: its clients share the credentials, endpoint rules and
    service models it loads once (a new session per client would parse them again each time)."""
    import boto3

    return boto3.session.Session()


@functools.cache
def client(service: str) -> Any:
    """A boto3 client for `service`, shared by every caller in this process."""
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        # Presigned S3 URLs must use SigV4 and the regional endpoint.
        signature_version="s3v4" if service == "s3" else None,
    )
    return _session().client(service, region_name=region(), config=config)


ClientFactory = Callable[[], Any]


class Adapter:
    """Base of an adapter of one AWS service (`service`): its calls go to `_client_factory()`.

    That is this process's cached client (`client(service)`, created on the first call, never
    at construction) unless the adapter was given a factory of its own: a fake in a test, a
    client of another endpoint in a tool.
    """

    service: ClassVar[str]

    def __init__(self, client_factory: ClientFactory | None = None) -> None:
        self._client_factory: ClientFactory = client_factory or self._shared_client

    def _shared_client(self) -> Any:
        return client(self.service)


class Table(Adapter):
    """An adapter of one DynamoDB table."""

    service = "dynamodb"

    def __init__(self, table_name: str, client_factory: ClientFactory | None = None) -> None:
        super().__init__(client_factory)
        self.table_name = table_name

    def _pages(self, operation: str, what: str, request: dict[str, Any]) -> Iterator[Any]:
        """Each page of a `query` or `scan` of the table, following `LastEvaluatedKey`."""
        request = {"TableName": self.table_name, **request}
        while True:
            with translated(what):
                response = getattr(self._client_factory(), operation)(**request)
            yield response
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class Bucket(Adapter):
    """An adapter of one S3 bucket."""

    service = "s3"

    def __init__(self, bucket: str, client_factory: ClientFactory | None = None) -> None:
        super().__init__(client_factory)
        self.bucket = bucket


class Topic(Adapter):
    """An adapter of one SNS topic."""

    service = "sns"

    def __init__(self, topic_arn: str, client_factory: ClientFactory | None = None) -> None:
        super().__init__(client_factory)
        self.topic_arn = topic_arn


def reset(*, session: bool = True) -> None:
    """Drop the cached clients and account id, and the session with its credentials (after a
    SnapStart restore, say). Tests keep the session (`session=False`) between moto runs: the
    service models it parsed stay valid, and their credentials are always the same dummies."""
    client.cache_clear()
    account_id.cache_clear()
    if session:
        _session.cache_clear()


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@functools.cache
def account_id() -> str:
    """This function's account, from STS (no IAM permission needed), once per process."""
    with translated("looking up the account id"):
        return str(client("sts").get_caller_identity()["Account"])


def arn(service: str, resource: str) -> str:
    """The ARN of `resource` in this account and region, e.g. arn("states", "stateMachine:x").

    Lets a template hand a function a plain name instead of a CloudFormation expression, so
    `sls invoke local` (which resolves only Ref and ImportValue) can run it too.
    """
    here = region()
    partition = (
        "aws-cn"
        if here.startswith("cn-")
        else "aws-us-gov"
        if here.startswith("us-gov-")
        else "aws"
    )
    return f"arn:{partition}:{service}:{here}:{account_id()}:{resource}"


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, or None for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def translate(exc: BaseException, what: str) -> errors.DocflowError:
    """Map a botocore failure while doing `what` onto the taxonomy (raise it `from exc`).

    The message is read by people (an API caller, a document's reason): it says what failed
    in words and never carries the AWS error code or an exception class name. Those stay on
    the chained cause, which the handler boundary logs.
    """
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError

    code = error_code(exc)
    if code in THROTTLING or isinstance(exc, BotoConnectionError | ReadTimeoutError):
        return errors.TransientError(f"{what} failed temporarily")
    if code in NOT_FOUND:
        return errors.NotFoundError(f"{what}: not found")
    if code == CONDITION_FAILED:
        return errors.ConflictError(f"{what}: the item changed or already exists")
    # Whatever is left is docflow's own fault (its role, its configuration, a request it
    # should not have built): nothing the caller did, nothing a retry fixes.
    if code in ACCESS_DENIED:
        return errors.SystemFaultError(f"{what} failed: permission denied")
    if code is not None:
        return errors.SystemFaultError(f"{what} failed: the service refused the request")
    return errors.SystemFaultError(f"{what} failed unexpectedly")


@contextmanager
def translated(
    what: str, *, gone: Callable[[], errors.DocflowError] | None = None
) -> Iterator[None]:
    """Raise what `translate` makes of an SDK failure inside the block, `from` the failure.

    docflow's own errors pass through unchanged (a modelled exception the block turned into
    one, say). `gone` names the error for an S3 object that is not there (`OBJECT_GONE`).
    """
    try:
        yield
    except errors.DocflowError:
        raise
    except Exception as exc:
        if gone is not None and error_code(exc) in OBJECT_GONE:
            raise gone() from exc
        raise translate(exc, what) from exc
