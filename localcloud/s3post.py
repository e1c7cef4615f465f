"""S3 browser-based uploads (POST Object) checked as S3 checks them; moto checks nothing.

A POST form carries the object, its key and fields, a base64 POST policy and the policy's
signature. S3 stores the object only if the signature is the credential's (SigV4: HMAC-SHA256
of the policy with the key derived from the secret, date, region and "s3"; SigV2: HMAC-SHA1),
the policy has not expired, every condition holds (`eq`, `starts-with`, exact-match objects,
`content-length-range` against the file's real size), and every form field but
`x-amz-signature` (SigV2: `AWSAccessKeyId`, `signature`), `file`, `policy` and `x-ignore-*` is
named by a condition. Each refusal answers with S3's status, code and message (as recorded
from AWS: LocalStack's snapshot tests of presigned POSTs, users' reports of S3's answers).

The middleware buffers the body, hands moto a fresh `wsgi.input` with the same bytes, and puts
what it parsed in `environ["localcloud.s3post"]` for the IAM check of `s3:PutObject`:
{"bucket", "key" (with `${filename}` resolved), "fields" (lower-case names), "file_size",
"access_key_id", "security_token"}. `parse` does the same for a middleware that runs first.

Not emulated: anonymous uploads to publicly writable buckets (refused as S3 refuses them on a
bucket that is not), the session token's validity (the IAM check has the credentials), a
credential scope whose region is not the bucket's, and fields placed after the file part,
which S3 ignores and moto still reads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import ipaddress
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

ENVIRON_KEY = "localcloud.s3post"
SIGV4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-signature", "x-amz-date")
SIGV2_FIELDS = ("awsaccesskeyid", "signature")
# S3 names a missing field as the documentation spells it.
_FIELD_SPELLING = {
    "x-amz-algorithm": "X-Amz-Algorithm",
    "x-amz-credential": "X-Amz-Credential",
    "x-amz-signature": "X-Amz-Signature",
    "x-amz-date": "X-Amz-Date",
    "awsaccesskeyid": "AWSAccessKeyId",
    "signature": "Signature",
}
# Fields no condition needs to name (SigV4 documentation; SigV2 exempts its own two fields).
_NOT_COVERED_BY_POLICY = frozenset({"x-amz-signature", "file", "policy"})
_NOT_COVERED_BY_SIGV2_POLICY = frozenset({"awsaccesskeyid", "signature", "file", "policy"})
_EXPIRATION_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PostForm:
    """What a POST upload carries, up to and including its file part."""

    bucket: str
    fields: dict[str, str]  # lower-case name -> first value, in form order
    file_size: int | None  # None: no file part
    file_name: str | None = None

    @property
    def key(self) -> str:
        """The object key S3 stores: `${filename}` replaced by the uploaded file's name."""
        return self.fields.get("key", "").replace("${filename}", self.file_name or "")

    def environ_view(self) -> dict[str, Any]:
        credential = self.fields.get("x-amz-credential") or self.fields.get("awsaccesskeyid", "")
        return {
            "bucket": self.bucket,
            "key": self.key,
            "fields": dict(self.fields),
            "file_size": self.file_size,
            "access_key_id": credential.split("/", 1)[0],
            "security_token": self.fields.get("x-amz-security-token"),
        }


@dataclass
class PostRefusedError(Exception):
    """S3's error answer: status, code, message and the code's extra elements, in order."""

    status: int
    code: str
    message: str
    details: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.message}")


# -- what a POST upload is, and its form -----------------------------------------------------


def _bucket_of(environ: Mapping[str, Any]) -> str | None:
    """The bucket a POST addresses: path style `/<bucket>`, or virtual host `<bucket>.<host>`."""
    path = str(environ.get("PATH_INFO", "/")).strip("/")
    if path:
        return path if "/" not in path else None
    host = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        first, dot, _ = host.partition(".")
        return first if dot and first else None
    return None


def is_post_upload(environ: Mapping[str, Any]) -> bool:
    """A browser-based upload: an unsigned multipart/form-data POST to a bucket."""
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and str(environ.get("CONTENT_TYPE", "")).lower().startswith("multipart/form-data")
        and not environ.get("HTTP_AUTHORIZATION")
        and _bucket_of(environ) is not None
    )


def _read_body(environ: dict[str, Any]) -> bytes:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ["wsgi.input"]
    if raw.isdigit():
        length = int(raw)
        body = stream.read(length) if length else b""
        if len(body) < length:
            raise PostRefusedError(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length "
                "HTTP header",
            )
    elif not raw and environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        raise PostRefusedError(
            411, "MissingContentLength", "You must provide the Content-Length HTTP header."
        )
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _malformed() -> PostRefusedError:
    return PostRefusedError(
        400,
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )


def _parts(body: bytes, boundary: bytes) -> Iterable[tuple[str, str | None, bytes]]:
    """(name, filename, content) of each part, in order."""
    decoder = MultipartDecoder(boundary)
    decoder.receive_data(body)
    decoder.receive_data(None)
    current: tuple[str, str | None] | None = None
    content = bytearray()
    while True:
        try:
            event = decoder.next_event()
        except ValueError as exc:
            raise _malformed() from exc
        if isinstance(event, Field | File):
            current = (event.name, event.filename if isinstance(event, File) else None)
            content = bytearray()
        elif isinstance(event, Data):
            content.extend(event.data)
            if not event.more_data and current is not None:
                yield current[0], current[1], bytes(content)
                current = None
        elif isinstance(event, Epilogue):
            return
        elif isinstance(event, NeedData):
            raise _malformed()


def _parse_form(environ: dict[str, Any], bucket: str) -> PostForm:
    body = _read_body(environ)
    _, options = parse_options_header(str(environ.get("CONTENT_TYPE", "")))
    boundary = options.get("boundary")
    if not boundary:
        raise _malformed()
    fields: dict[str, str] = {}
    for name, filename, content in _parts(body, boundary.encode("latin-1")):
        lowered = name.lower()
        if lowered == "file":
            # The file must be the last field: S3 ignores whatever follows it.
            return PostForm(bucket, fields, len(content), filename)
        fields.setdefault(lowered, content.decode("utf-8", errors="replace"))
    return PostForm(bucket, fields, None)


def parse(environ: dict[str, Any]) -> PostForm | None:
    """The POST upload this request is (parsed once per request), or None for any other request.

    Raises PostRefusedError for a body S3 cannot read as a form.
    """
    cached = environ.get(f"{ENVIRON_KEY}.form")
    if isinstance(cached, PostForm):
        return cached
    if not is_post_upload(environ):
        return None
    form = _parse_form(environ, str(_bucket_of(environ)))
    environ[f"{ENVIRON_KEY}.form"] = form
    environ[ENVIRON_KEY] = form.environ_view()
    return form


# -- S3's checks ------------------------------------------------------------------------------


def _invalid_argument(name: str, message: str, value: str = "") -> PostRefusedError:
    return PostRefusedError(
        400, "InvalidArgument", message, [("ArgumentName", name), ("ArgumentValue", value)]
    )


def _missing_field(name: str) -> PostRefusedError:
    spelled = _FIELD_SPELLING.get(name, name)
    return _invalid_argument(
        spelled,
        f"Bucket POST must contain a field named '{spelled}'.  "
        "If it is specified, please check the order of the fields.",
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sigv4_signature(secret: str, credential: str, policy: str) -> str | None:
    """The SigV4 POST signature of `policy` for this credential scope; None if malformed."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return None
    _, date, region, service, terminator = parts
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for scope in (region, service, terminator):
        key = _hmac(key, scope)
    return hmac.new(key, policy.encode("utf-8"), hashlib.sha256).hexdigest()


def sigv2_signature(secret: str, policy: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), policy.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _check_signature(form: PostForm, secret_for: Callable[[str], str | None], sigv4: bool) -> None:
    policy = form.fields["policy"]
    if sigv4:
        credential = form.fields["x-amz-credential"]
        access_key_id, provided = credential.split("/", 1)[0], form.fields["x-amz-signature"]
    else:
        access_key_id, provided = form.fields["awsaccesskeyid"], form.fields["signature"]
    secret = secret_for(access_key_id)
    if secret is None:
        raise PostRefusedError(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            [("AWSAccessKeyId", access_key_id)],
        )
    expected = (
        sigv4_signature(secret, credential, policy) if sigv4 else sigv2_signature(secret, policy)
    )
    if expected is None or not hmac.compare_digest(expected, provided):
        raise PostRefusedError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            [
                ("AWSAccessKeyId", access_key_id),
                ("StringToSign", policy),
                ("SignatureProvided", provided),
                ("StringToSignBytes", " ".join(f"{b:02x}" for b in policy.encode("utf-8"))),
            ],
        )


def _invalid_policy(message: str) -> PostRefusedError:
    return PostRefusedError(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


def _decode_policy(policy: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _invalid_policy("Invalid JSON.") from exc
    if not isinstance(document, dict):
        raise _invalid_policy("Invalid JSON.")
    if "expiration" not in document:
        raise _invalid_policy("Policy missing expiration.")
    if not isinstance(document.get("conditions"), list):
        raise _invalid_policy("Policy missing conditions.")
    return document


def _expiration(value: Any) -> datetime:
    for pattern in _EXPIRATION_FORMATS:
        try:
            return datetime.strptime(str(value), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise _invalid_policy(f"Invalid 'expiration' value: '{value}'")


def _condition_failed(condition: Iterable[Any]) -> PostRefusedError:
    # S3 quotes the condition as a JSON array of strings, exact-match objects as "eq".
    text = json.dumps([str(part) for part in condition], ensure_ascii=False)
    return PostRefusedError(
        403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {text}"
    )


def _size_refusal(form: PostForm, low: int, high: int) -> PostRefusedError | None:
    size = form.file_size or 0
    if size < low:
        return PostRefusedError(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            [("ProposedSize", str(size)), ("MinSizeAllowed", str(low))],
        )
    if size > high:
        return PostRefusedError(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            [("ProposedSize", str(size)), ("MaxSizeAllowed", str(high))],
        )
    return None


def _field_value(form: PostForm, name: str) -> str | None:
    # Condition names match fields whatever their case; values match exactly.
    return form.bucket if name.lower() == "bucket" else form.fields.get(name.lower())


def _check_condition(form: PostForm, condition: Any) -> str | None:
    """Raises S3's refusal if the condition fails; returns the field it covers, if any."""
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise _invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                "specified."
            )
        ((name, value),) = condition.items()
        if _field_value(form, str(name)) != str(value):
            raise _condition_failed(["eq", f"${name}", value])
        return str(name).lower()
    if not isinstance(condition, list) or len(condition) != 3:
        raise _condition_failed(condition if isinstance(condition, list) else [condition])
    operator, name, value = condition
    if operator == "content-length-range":
        try:
            low, high = int(name), int(value)
        except (TypeError, ValueError):
            raise _condition_failed(condition) from None
        refusal = _size_refusal(form, low, high)
        if refusal is not None:
            raise refusal
        return None
    if operator not in ("eq", "starts-with") or not str(name).startswith("$"):
        raise _condition_failed(condition)
    field_name = str(name)[1:]
    actual = _field_value(form, field_name)
    if operator == "eq":
        holds = actual == str(value)
    else:
        holds = value == "" or (actual is not None and actual.startswith(str(value)))
    if not holds:
        raise _condition_failed(condition)
    return field_name.lower()


def check(form: PostForm, secret_for: Callable[[str], str | None], now: datetime) -> None:
    """Raise PostRefusedError with S3's answer if S3 would refuse this upload."""
    if not form.fields.get("key"):
        raise _invalid_argument(
            "key",
            "Bucket POST must contain a field named 'key'.  "
            "If it is specified, please check the order of the fields.",
        )
    if form.file_size is None:
        raise _invalid_argument("file", "POST requires exactly one file upload per request.", "0")
    sigv4 = any(name in form.fields for name in SIGV4_FIELDS)
    sigv2 = not sigv4 and any(name in form.fields for name in SIGV2_FIELDS)
    if "policy" not in form.fields or not (sigv4 or sigv2):
        # Without a signed policy the upload is anonymous: refused unless the bucket is
        # publicly writable, which no bucket of this stack is.
        raise PostRefusedError(403, "AccessDenied", "Access Denied")
    for name in SIGV4_FIELDS if sigv4 else SIGV2_FIELDS:
        if name not in form.fields:
            raise _missing_field(name)
    _check_signature(form, secret_for, sigv4)
    document = _decode_policy(form.fields["policy"])
    if now > _expiration(document["expiration"]):
        raise PostRefusedError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    covered = {_check_condition(form, condition) for condition in document["conditions"]}
    exempt = _NOT_COVERED_BY_POLICY if sigv4 else _NOT_COVERED_BY_SIGV2_POLICY
    for name in form.fields:
        if name in exempt or name.startswith("x-ignore-") or name in covered:
            continue
        raise PostRefusedError(
            403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {name}"
        )


# -- the middleware -------------------------------------------------------------------------


def error_body(refusal: PostRefusedError, request_id: str, host_id: str) -> bytes:
    elements = [("Code", refusal.code), ("Message", refusal.message), *refusal.details]
    elements += [("RequestId", request_id), ("HostId", host_id)]
    inner = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in elements)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()


def _refuse(start_response: StartResponse, refusal: PostRefusedError) -> list[bytes]:
    request_id = uuid.uuid4().hex[:16].upper()
    host_id = base64.b64encode(uuid.uuid4().bytes * 2).decode()
    body = error_body(refusal, request_id, host_id)
    from http import HTTPStatus

    start_response(
        f"{refusal.status} {HTTPStatus(refusal.status).phrase}",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
            ("x-amz-id-2", host_id),
        ],
    )
    return [body]


def _secret_for(access_key_id: str) -> str | None:
    from localcloud.iam import principals

    return principals.secret_for(access_key_id)


def middleware(
    app: WSGIApp,
    secret_for: Callable[[str], str | None] = _secret_for,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> WSGIApp:
    """Answer a POST upload S3 would refuse with S3's error; pass every other request on."""

    def checked(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            form = parse(environ)
            if form is not None:
                check(form, secret_for, clock())
        except PostRefusedError as refusal:
            return _refuse(start_response, refusal)
        return app(environ, start_response)

    return checked
