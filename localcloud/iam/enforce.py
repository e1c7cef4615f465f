"""IAM enforced on the local endpoint: a WSGI middleware in front of moto, and the service checks.

A request signed with a role session's credentials is classified (`requests.classify`: actions,
resource ARNs, context keys), then each of its needs is evaluated (`policy.evaluate`) against
the role's identity policies and the resource's own policy (bucket, queue, topic, secret,
function). A refusal answers as the service does (its access-denied code, status and message
naming the principal, the action and the resource) and is logged; an allowed request goes on
to moto unchanged. Requests signed with the admin credentials (`make up`, `sls`, tests' set-up)
or not signed at all are not restricted.

Services calling services (S3 and EventBridge invoking a function, SNS delivering to a queue,
API Gateway invoking the api function) are checked with `authorize_service` against the
target's resource policy, as AWS does.

`LOCALCLOUD_IAM=report` turns refusals off for one run: decisions are still made, logged and
audited ("would be denied"), nothing is refused. The default is `enforce`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from localcloud.iam import principals
from localcloud.iam.audit import Audit
from localcloud.iam.policy import Request, Result, evaluate
from localcloud.iam.requests import (
    ALWAYS_ALLOWED,
    Call,
    HttpRequest,
    Need,
    UnclassifiedRequestError,
    classify,
    signer_of,
)

log = logging.getLogger("localcloud.iam")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
MODES = ("enforce", "report")


def mode_from_environment() -> str:
    mode = os.environ.get("LOCALCLOUD_IAM", "enforce").strip().lower() or "enforce"
    if mode not in MODES:
        raise ValueError(f"LOCALCLOUD_IAM must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


@dataclass
class Refusal:
    principal: str
    need: Need
    result: Result
    text: str | None = None  # AWS's own message where it does not name the request

    @property
    def message(self) -> str:
        if self.text is not None:
            return self.text
        resource = self.need.resource
        if self.need.action.startswith("s3:"):
            resource = f'"{resource}"'
        return (
            f"User: {self.principal} is not authorized to perform: {self.need.action} "
            f"on resource: {resource} {self.result.reason}"
        )


class Enforcer:
    """Decides; the middleware and the service-call patches both ask it."""

    def __init__(self, audit: Audit, mode: str = "enforce") -> None:
        self.audit = audit
        self.mode = mode

    @property
    def enforcing(self) -> bool:
        return self.mode == "enforce"

    def _record(self, request: Request, result: Result) -> None:
        self.audit.decided(
            principal=request.principal,
            role_arn=request.role_arn,
            action=request.action,
            resource=request.resource,
            allowed=result.allowed,
            enforced=self.enforcing,
            reason=result.reason,
        )
        if not result.allowed:
            log.warning(
                "%s: %s is not authorized to perform: %s on resource: %s %s",
                "iam refused" if self.enforcing else "iam would refuse",
                request.principal,
                request.action,
                request.resource,
                result.reason,
            )

    def check_session(
        self, principal: principals.Principal, call: Call, context: Mapping[str, Any]
    ) -> Refusal | None:
        """The first need of `call` that the session may not do (None: all allowed)."""
        identity = principals.identity_policies(principal.role_arn)
        self.audit.role_policies(principal.role_arn, identity)
        for need in call.needs:
            if need.action in ALWAYS_ALLOWED:
                continue
            request = Request(
                principal=principal.arn,
                action=need.action,
                resource=need.resource,
                context={**_principal_context(principal), **context, **need.context},
                role_arn=principal.role_arn,
                account_id=principal.account_id,
            )
            result = evaluate(request, identity, resource_policy(need.resource))
            self._record(request, result)
            if not result.allowed:
                return Refusal(principal.arn, need, result)
        return None

    def authorize_service(
        self,
        service: str,
        action: str,
        resource: str,
        *,
        source_arn: str | None = None,
        source_account: str | None = None,
        policy: Mapping[str, Any] | None = None,
    ) -> bool:
        """May `service` (e.g. "s3.amazonaws.com") do `action` on `resource`? Its resource policy
        decides (a function's permissions, a queue's policy). False is logged and audited."""
        context: dict[str, str] = {"aws:SecureTransport": "true", **_time_context()}
        if source_arn:
            context["aws:SourceArn"] = source_arn
        if source_account:
            context["aws:SourceAccount"] = source_account
        request = Request(principal=service, action=action, resource=resource, context=context)
        document = policy if policy is not None else resource_policy(resource)
        result = evaluate(request, (), document)
        self._record(request, result)
        return result.allowed or not self.enforcing


def _time_context() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
    }


def _principal_context(principal: principals.Principal) -> dict[str, str]:
    return {
        "aws:PrincipalArn": principal.role_arn,
        "aws:PrincipalAccount": principal.account_id,
        "aws:PrincipalType": "AssumedRole",
        "aws:userid": f"{principal.role_name}:{principal.session_name}",
        # The local endpoint is loopback: traffic never leaves the machine, so it counts as the
        # TLS that AWS's endpoints require (a bucket policy denying insecure transport allows it).
        "aws:SecureTransport": "true",
        **_time_context(),
    }


# -- resource policies ------------------------------------------------------------------------


def _loads(text: Any) -> dict[str, Any] | None:
    if not text:
        return None
    if isinstance(text, dict):
        return text
    if isinstance(text, bytes):
        text = text.decode()
    try:
        parsed = json.loads(str(text))
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def resource_policy(arn: str) -> dict[str, Any] | None:
    """The resource-based policy AWS evaluates for a request on `arn`, where one exists."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    service, region, account, name = parts[2], parts[3], parts[4], parts[5]
    try:
        if service == "s3":
            from moto.s3.models import s3_backends

            bucket_name = name.split("/", 1)[0]
            for backend in s3_backends.values():
                bucket = backend["aws"].buckets.get(bucket_name)
                if bucket is not None:
                    return _loads(bucket.policy)
            return None
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[account][region].queues.get(name)
            return _loads(queue.policy) if queue is not None else None
        if service == "sns":
            from moto.sns.models import sns_backends

            topic = sns_backends[account][region].topics.get(arn)
            return _loads(topic.policy) if topic is not None else None
        if service == "secretsmanager":
            from moto.secretsmanager.models import secretsmanager_backends

            secret = secretsmanager_backends[account][region].secrets.get(arn)
            return _loads(getattr(secret, "policy", None)) if secret is not None else None
        if service == "lambda":
            return function_policy(arn)
    except (KeyError, AttributeError):
        return None
    return None


def function_policy(function_arn: str) -> dict[str, Any] | None:
    from moto.awslambda.utils import get_backend

    parts = function_arn.split(":")
    try:
        fn = get_backend(parts[4], parts[3]).get_function(function_arn)
    except Exception:  # moto's own not-found type: no function, no policy
        return None
    if not fn.policy.statements:
        return None
    return {"Version": "2012-10-17", "Statement": fn.policy.statements}


# -- the middleware ---------------------------------------------------------------------------


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, and a fresh `wsgi.input` holding it for moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    body = (
        stream.read(length)
        if length > 0
        else (stream.read() if environ.get("wsgi.input_terminated") else b"")
    )
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def http_request(environ: dict[str, Any], *, read_body: bool) -> HttpRequest:
    raw_path = environ.get("RAW_URI", "").split("?", 1)[0] or environ.get("PATH_INFO", "/")
    post = environ.get("localcloud.s3post")
    form = dict(post.get("fields") or {}) if post else None
    if form is not None and post and post.get("key"):
        form["key"] = str(post["key"])  # with ${filename} resolved
    return HttpRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")),
        path=unquote(str(environ.get("PATH_INFO", "/"))),
        raw_path=raw_path,
        query=parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True),
        headers=_headers(environ),
        body=_read_body(environ) if read_body else b"",
        form=form,
    )


def middleware(app: WSGIApp, enforcer: Enforcer) -> WSGIApp:
    def authorised(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = http_request(environ, read_body=False)
        signer = signer_of(request)
        if signer is None or not principals.is_session_key(signer.access_key_id):
            return app(environ, start_response)
        # The body names the operation and its resources, except for S3 object uploads.
        if not (signer.service == "s3" and request.method == "PUT"):
            request.body = _read_body(environ)
        try:
            principal = principals.principal_for(signer.access_key_id)
        except principals.UnknownSessionError as exc:
            return _reply(start_response, *_invalid_token(signer.service, str(exc), request))
        assert principal is not None
        try:
            call = classify(request, signer, principal.account_id)
        except UnclassifiedRequestError as exc:
            need = Need(f"{signer.service}:Unknown", "*")
            refusal = Refusal(
                principal.arn,
                need,
                Result(
                    evaluate(Request(principal.arn, need.action, "*")).decision,
                    f"because localcloud cannot tell which action this request is ({exc})",
                ),
            )
            log.warning("iam refused an unclassified request: %s", exc)
            return _reply(
                start_response, *_access_denied(signer.service, "query", refusal, request)
            )
        context = {
            "aws:SourceIp": str(environ.get("REMOTE_ADDR", "127.0.0.1")),
            "aws:RequestedRegion": signer.region,
        }
        if signer.service == "s3":
            context |= {"s3:authType": signer.auth_type, "s3:signatureversion": "AWS4-HMAC-SHA256"}
        denied = enforcer.check_session(principal, call, context)
        if denied is None and call.operation == "GetObject" and call.service == "s3":
            denied = _missing_object_refusal(enforcer, principal, call, context)
        if denied is not None and enforcer.enforcing:
            return _reply(
                start_response, *_access_denied(call.service, call.protocol, denied, request)
            )
        return app(environ, start_response)

    return authorised


def _object_exists(object_arn: str) -> bool:
    from moto.s3.models import s3_backends

    bucket_name, _, key = object_arn.removeprefix("arn:aws:s3:::").partition("/")
    for backend in s3_backends.values():
        bucket = backend["aws"].buckets.get(bucket_name)
        if bucket is not None:
            found = bucket.keys.get(key)
            return found is not None and type(found).__name__ != "FakeDeleteMarker"
    return False


def _missing_object_refusal(
    enforcer: Enforcer, principal: principals.Principal, call: Call, context: Mapping[str, Any]
) -> Refusal | None:
    """S3 answers a GET or HEAD of a missing key with 404 only to a caller that may list the
    bucket (s3:ListBucket, evaluated without s3:prefix: the request has none); to anyone else
    with 403, so that a caller cannot probe for keys. moto always answered 404."""
    need = call.needs[0]
    if need.context.get("s3:VersionId") or _object_exists(need.resource):
        return None
    bucket_arn = need.resource.split("/", 1)[0]
    listing = Call(
        "s3",
        "ListBucket",
        call.protocol,
        call.region,
        call.account_id,
        (Need("s3:ListBucket", bucket_arn),),
    )
    refusal = enforcer.check_session(principal, listing, context)
    if refusal is None:
        return None
    return Refusal(
        principal.arn,
        need,
        Result(refusal.result.decision, "", refusal.result.policy),
        text="Access Denied",
    )


# -- AWS's error answers ----------------------------------------------------------------------

Answer = tuple[int, list[tuple[str, str]], bytes]

_JSON_TYPES = {
    "sqs": "application/x-amz-json-1.0",
    "dynamodb": "application/x-amz-json-1.0",
    "states": "application/x-amz-json-1.0",
}
# Query-protocol services and the code each uses for a refused action.
_QUERY_CODES = {
    "sns": "AuthorizationError",
    "ses": "AccessDenied",
    "sts": "AccessDenied",
    "monitoring": "AccessDenied",
    "iam": "AccessDenied",
    "cloudformation": "AccessDenied",
}


def _request_id() -> str:
    return str(uuid.uuid4())


def _access_denied(service: str, protocol: str, refusal: Refusal, request: HttpRequest) -> Answer:
    message = refusal.message
    rid = _request_id()
    if service == "s3" or protocol == "rest-xml":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{rid}</RequestId>"
            f"<HostId>{rid}</HostId></Error>"
        ).encode()
        return (
            403,
            [("Content-Type", "application/xml"), ("x-amz-request-id", rid)],
            (b"" if request.method == "HEAD" else body),
        )
    if protocol == "json":
        headers = [
            ("Content-Type", _JSON_TYPES.get(service, "application/x-amz-json-1.1")),
            ("x-amzn-RequestId", rid),
            ("x-amzn-ErrorType", "AccessDeniedException"),
        ]
        if service == "sqs":  # awsQueryCompatible: the query protocol's code, for the SDKs
            headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
        error = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}
        if service in ("sqs", "states", "kinesis", "logs", "secretsmanager", "events"):
            error = {"__type": "AccessDeniedException", "message": message}
        return 400, headers, json.dumps(error).encode()
    if protocol == "rest-json":
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", rid),
            ("x-amzn-ErrorType", "AccessDeniedException"),
        ]
        return 403, headers, json.dumps({"Type": "User", "Message": message}).encode()
    if protocol == "cbor":
        headers = [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", rid),
        ]
        return 403, headers, _cbor_map({"__type": "AccessDenied", "message": message})
    code = _QUERY_CODES.get(service, "AccessDenied")
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()
    return 403, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body


def _invalid_token(service: str, message: str, request: HttpRequest) -> Answer:
    rid = _request_id()
    if service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code>'
            f"<Message>The AWS Access Key Id you provided does not exist in our records."
            f"</Message><RequestId>{rid}</RequestId></Error>"
        ).encode()
        return 403, [("Content-Type", "application/xml")], body
    if request.header("x-amz-target"):
        body = json.dumps({"__type": "UnrecognizedClientException", "message": message}).encode()
        return (
            400,
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", "UnrecognizedClientException"),
            ],
            body,
        )
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()
    return 403, [("Content-Type", "text/xml")], body


def _reply(
    start_response: Callable[..., Any], status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    from http import HTTPStatus

    start_response(
        f"{status} {HTTPStatus(status).phrase}", [*headers, ("Content-Length", str(len(body)))]
    )
    return [body]


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    return _cbor_head(3, len(raw)) + raw


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for code, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | code]) + length.to_bytes(size, "big")
    raise ValueError("too long for CBOR")


def _cbor_map(values: Mapping[str, str]) -> bytes:
    """A CBOR map of text to text (RFC 8949), all a refusal needs to say."""
    return _cbor_head(5, len(values)) + b"".join(
        _cbor_text(k) + _cbor_text(v) for k, v in values.items()
    )


_enforcer: Enforcer | None = None


def install(enforcer: Enforcer) -> None:
    """Make `enforcer` the one the service-call patches ask (set once by the server)."""
    global _enforcer
    _enforcer = enforcer


def current() -> Enforcer | None:
    return _enforcer


def role_may(
    role_arn: str | None, session_name: str, action: str | tuple[str, ...], resource: str
) -> bool:
    """May the Lambda service, acting with a function's execution role, do `action` (or any one
    of a tuple of alternatives, the first granted being recorded)? Its log writes, event source
    polling, dead-letter and on-failure sends. True where no enforcer is installed or the
    function has no role; a refusal is logged and audited."""
    if _enforcer is None or not role_arn or not principals.role_exists(role_arn):
        return True
    account = role_arn.split(":")[4]
    principal = principals.Principal(
        arn=f"arn:aws:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session_name}",
        role_arn=role_arn,
        account_id=account,
        session_name=session_name,
    )
    alternatives = (action,) if isinstance(action, str) else action
    if len(alternatives) > 1:
        identity = principals.identity_policies(role_arn)
        granted = [
            a
            for a in alternatives
            if evaluate(
                Request(principal.arn, a, resource, _principal_context(principal), role_arn),
                identity,
                resource_policy(resource),
            ).allowed
        ]
        alternatives = tuple(granted[:1]) or alternatives[:1]
    call = Call(
        "lambda", alternatives[0], "internal", "", account, (Need(alternatives[0], resource),)
    )
    refusal = _enforcer.check_session(principal, call, {})
    return refusal is None or not _enforcer.enforcing


def service_may(
    service: str, action: str, resource: str, *, source_arn: str, source_account: str
) -> bool:
    """`Enforcer.authorize_service` of the installed enforcer; True where none is installed
    (a patch tested on its own, without the server)."""
    if _enforcer is None:
        return True
    return _enforcer.authorize_service(
        service, action, resource, source_arn=source_arn, source_account=source_account
    )


def role_session(role_arn: str, session_name: str, region: str) -> principals.Credentials:
    """A session of `role_arn` (as Lambda and Step Functions get one), its policies kept for
    the access report."""
    if _enforcer is not None and principals.role_exists(role_arn):
        _enforcer.audit.role_policies(role_arn, principals.identity_policies(role_arn))
    return principals.role_credentials(role_arn, session_name, region)


def function_credentials(fn: Any) -> tuple[str, str, str] | None:
    """The runner's credential source: a session of the function's execution role, named after
    the function as Lambda names it."""
    if not fn.role:
        return None
    session = role_session(fn.role, fn.name, fn.region)
    return session.access_key_id, session.secret_access_key, session.session_token
