"""A loopback HTTP API gateway serving the deployed AWS::ApiGatewayV2 routes like API Gateway.

It reads what CloudFormation created (routes, integrations, authorizers; kept by the
cfn-apigatewayv2 patch), builds payload format 2.0 events, runs Lambda authorizers (simple
and IAM-policy responses) and the integrated function through the same runner as every other
invocation, and maps the answer back to HTTP as an HTTP API does. Requests go to the API whose id
prefixes the Host header (`<apiId>.execute-api.localhost`), else to the most recently deployed API.
Bodies over API Gateway's 10 MB and events or answers over Lambda's 6 MB are refused as they
are there (`localcloud.limits`). Each request, answered or refused, writes one access log line
to the stage's log group in the stage's format (`AccessLogSettings`, its `$context.*`
variables substituted as API Gateway does, "-" where a value is unknown), so subscriptions on
that group see the traffic.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from localcloud import limits, throttle
from localcloud.patches.cloudformation import HTTP_APIS

StartResponse = Callable[..., Any]
TEXT_TYPES = re.compile(
    r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|.*\+json|.*\+xml)"
)
_FUNCTION_IN_URI = re.compile(r"functions/(arn:[^/]+)/invocations")
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_-]+)*)")


class _ReplyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _select_api(host: str) -> tuple[str, dict[str, Any]]:
    if not HTTP_APIS:
        raise _ReplyError(404, "Not Found")
    prefix = host.split(".", 1)[0]
    if prefix in HTTP_APIS:
        return prefix, HTTP_APIS[prefix]
    api_id = list(HTTP_APIS)[-1]
    return api_id, HTTP_APIS[api_id]


def _route_pattern(path: str) -> tuple[re.Pattern[str], int]:
    """A route path as a regex, and its specificity (literal segments count most)."""
    score = 0
    parts = []
    for segment in path.strip("/").split("/") if path.strip("/") else []:
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
            score += 10
        else:
            parts.append(re.escape(segment))
            score += 100
    return re.compile("^/" + "/".join(parts) + "/?$"), score


def match_route(
    routes: Iterable[dict[str, Any]], method: str, path: str
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The route API Gateway would pick: most specific path, then a named method over ANY."""
    best: tuple[int, dict[str, Any], dict[str, str]] | None = None
    default = None
    for route in routes:
        key = route.get("RouteKey", "")
        if key == "$default":
            default = route
            continue
        route_method, _, route_path = key.partition(" ")
        if route_method not in (method, "ANY"):
            continue
        pattern, score = _route_pattern(route_path)
        found = pattern.match(path)
        if found:
            score = score * 2 + (1 if route_method == method else 0)
            if best is None or score > best[0]:
                best = (score, route, {k: v for k, v in found.groupdict().items()})
    if best is not None:
        return best[1], best[2]
    return (default, {}) if default is not None else None


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def new_request_id() -> str:
    return base64.b32encode(uuid.uuid4().bytes)[:16].decode()


def build_event(
    api_id: str,
    api: dict[str, Any],
    route_key: str,
    environ: dict[str, Any],
    path_parameters: dict[str, str],
    body: bytes = b"",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends for this request with this body."""
    headers = _headers(environ)
    raw_query = environ.get("QUERY_STRING", "")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = now or datetime.now(UTC)
    domain = headers.get("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": environ.get("PATH_INFO", "/"),
        "rawQueryString": raw_query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"},
        "requestContext": {
            "accountId": api.get("account", "123456789012"),
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": environ["REQUEST_METHOD"],
                "path": environ.get("PATH_INFO", "/"),
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id or new_request_id(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if TEXT_TYPES.match(headers.get("content-type", "")):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def _function_arn(uri: str) -> str:
    found = _FUNCTION_IN_URI.search(uri)
    return found.group(1) if found else uri


def _source_arn(event: dict[str, Any], resource: str) -> str:
    context = event["requestContext"]
    region = context.get("region") or "us-east-1"
    return f"arn:aws:execute-api:{region}:{context['accountId']}:{context['apiId']}/{resource}"


def _invoke(
    function_arn: str, event: dict[str, Any], source_arn: str
) -> tuple[dict[str, Any] | Any, bool]:
    from moto.awslambda.utils import get_backend

    from localcloud.iam import enforce
    from localcloud.patches import awslambda

    parts = function_arn.split(":")
    fn = get_backend(parts[4], parts[3]).get_function(function_arn)
    # API Gateway invokes only where the function's resource policy lets this API do it; an
    # HTTP API answers a refused integration with a 500.
    if not enforce.service_may(
        "apigateway.amazonaws.com",
        "lambda:InvokeFunction",
        fn.function_arn,
        source_arn=source_arn,
        source_account=parts[4],
    ):
        raise _ReplyError(500, "Internal Server Error")
    payload = json.dumps(event)
    if len(payload.encode()) > limits.LAMBDA_SYNC_REQUEST_MAX:
        # Lambda refuses the event (RequestEntityTooLargeException) and runs nothing; an HTTP
        # API answers that with 413 (as AWS's own Lambda test tool emulates it).
        raise _ReplyError(413, "Request Entity Too Large")
    result = awslambda._run(fn, payload)
    if len(result.payload) > limits.LAMBDA_SYNC_RESPONSE_MAX:
        return None, True  # Lambda's Function.ResponseSizeTooLarge, a function error: 500
    return json.loads(result.payload), result.function_error is not None


def _authorize(api: dict[str, Any], route: dict[str, Any], event: dict[str, Any]) -> None:
    if route.get("AuthorizationType", "NONE") != "CUSTOM":
        if route.get("AuthorizationType", "NONE") not in ("NONE", None):
            raise _ReplyError(
                501,
                f"localcloud gateway: {route['AuthorizationType']} authorizers are not emulated",
            )
        return
    authorizer = api["authorizers"].get(route.get("AuthorizerId"), {})
    identity_sources = authorizer.get("IdentitySource", [])
    if isinstance(identity_sources, str):
        identity_sources = [identity_sources]
    identity = []
    for source in identity_sources:
        kind, _, name = source.removeprefix("$request.").partition(".")
        value = (
            event["headers"] if kind == "header" else event.get("queryStringParameters", {})
        ).get(name.lower() if kind == "header" else name)
        if value is None:
            raise _ReplyError(
                401, "Unauthorized"
            )  # API Gateway answers before calling the authorizer
        identity.append(value)
    request = {
        **{k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")},
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{api.get('region', 'us-east-1')}:{api.get('account')}:"
        f"{event['requestContext']['apiId']}/$default/{event['requestContext']['http']['method']}"
        f"{event['rawPath']}",
        "identitySource": identity,
    }
    answer, failed = _invoke(
        _function_arn(authorizer.get("AuthorizerUri", "")),
        request,
        _source_arn(event, f"authorizers/{route.get('AuthorizerId')}"),
    )
    if failed or not isinstance(answer, dict):
        raise _ReplyError(500, "Internal Server Error")
    if str(authorizer.get("EnableSimpleResponses", "false")).lower() == "true":
        allowed = answer.get("isAuthorized") is True
        context = answer.get("context") or {}
    else:
        statements = (answer.get("policyDocument") or {}).get("Statement", [])
        allowed = bool(statements) and all(s.get("Effect") == "Allow" for s in statements)
        context = answer.get("context") or {}
    if not allowed:
        raise _ReplyError(403, "Forbidden")
    event["requestContext"]["authorizer"] = {"lambda": context}


def to_http(answer: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Map a function's answer to HTTP as payload format 2.0 does."""
    if isinstance(answer, dict) and "statusCode" in answer:
        headers = [(k, str(v)) for k, v in (answer.get("headers") or {}).items()]
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers += [(name, str(v)) for v in values]
        headers += [("set-cookie", c) for c in answer.get("cookies") or []]
        body = answer.get("body") or ""
        raw = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("content-type", "application/json"))
        return int(answer["statusCode"]), headers, raw
    # No statusCode: API Gateway assumes 200 and a JSON body made of the answer itself.
    raw = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
    return 200, [("content-type", "application/json")], raw


def _request_body(environ: dict[str, Any]) -> bytes:
    """The body, refused before anything runs if API Gateway would refuse it.

    Over 10 MB: 413 without reading further (the server discards the rest). A Content-Length
    that is not a non-negative integer: 400 (it used to crash the gateway with an HTML 500).
    """
    try:
        body = limits.read_body(environ, limits.HTTP_API_PAYLOAD_MAX)
    except limits.ContentLengthError as exc:
        raise _ReplyError(400, "Bad Request") from exc
    if body is None:
        raise _ReplyError(413, "Request Entity Too Large")
    return body


def render_access_log(template: str, variables: dict[str, str]) -> str:
    """The stage's access log format with its `$context.*` variables substituted; "-" for one
    that is unknown for this request (JSON-escaped: the format is a JSON object)."""

    def value(found: re.Match[str]) -> str:
        text = variables.get(found.group(1))
        return "-" if text is None or text == "" else json.dumps(text)[1:-1]

    return _CONTEXT_VARIABLE.sub(value, template)


def _access_log_target(api: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(account, region, log group, format) of the $default stage's access logs, if any."""
    stage = (api.get("stages") or {}).get("$default") or {}
    settings = stage.get("AccessLogSettings") or {}
    destination, template = settings.get("DestinationArn"), settings.get("Format")
    if not isinstance(destination, str) or not isinstance(template, str):
        return None
    # arn:aws:logs:REGION:ACCOUNT:log-group:NAME, with or without a trailing ":*"
    parts = destination.split(":", 5)
    if len(parts) < 6 or not parts[5].startswith("log-group:"):
        return None
    group = parts[5].removeprefix("log-group:").removesuffix(":*")
    return parts[4], parts[3], group, template


def _write_access_log(api_id: str, api: dict[str, Any], variables: dict[str, str]) -> None:
    from localcloud.patches import logs

    target = _access_log_target(api)
    if target is None:
        return
    account, region, group, template = target
    line = render_access_log(template, variables)
    logs.write(account, region, group, f"{api_id}_$default", [line])


def _variables(
    environ: dict[str, Any],
    api_id: str,
    request_id: str,
    now: datetime,
    event: dict[str, Any] | None,
) -> dict[str, str]:
    """The `$context` variables known before the route runs."""
    headers = _headers(environ)
    variables = {
        "requestId": request_id,
        "extendedRequestId": request_id,
        "apiId": api_id,
        "stage": "$default",
        "domainName": headers.get("host", ""),
        "httpMethod": environ.get("REQUEST_METHOD", ""),
        "path": environ.get("PATH_INFO", "/"),
        "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": str(int(now.timestamp() * 1000)),
        "identity.sourceIp": environ.get("REMOTE_ADDR", ""),
        "identity.userAgent": headers.get("user-agent", ""),
        "routeKey": "-",
    }
    if event is not None:
        variables["routeKey"] = str(event.get("routeKey", "-"))
        authorizer = (event["requestContext"].get("authorizer") or {}).get("lambda") or {}
        for key, value in authorizer.items():
            if isinstance(value, str | int | float | bool):
                variables[f"authorizer.{key}"] = str(value)
    return variables


def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    started = time.monotonic()
    now = datetime.now(UTC)
    request_id = new_request_id()
    api_id, api, event = "", None, None
    integration_ms: float | None = None
    gateway_error = ""
    try:
        body = _request_body(environ)
        api_id, api = _select_api(environ.get("HTTP_HOST", ""))
        if not throttle.THROTTLE.admit(api_id, api):
            raise _ReplyError(429, "Too Many Requests")
        found = match_route(
            api["routes"].values(), environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        )
        if found is None:
            raise _ReplyError(404, "Not Found")
        route, path_parameters = found
        event = build_event(
            api_id, api, route["RouteKey"], environ, path_parameters, body, request_id, now
        )
        _authorize(api, route, event)
        integration = api["integrations"].get(str(route.get("Target", "")).rpartition("/")[2])
        if integration is None:
            raise _ReplyError(500, "Internal Server Error")
        method, _, path = route["RouteKey"].partition(" ")
        invoked = time.monotonic()
        answer, failed = _invoke(
            _function_arn(integration.get("IntegrationUri", "")),
            event,
            _source_arn(event, f"$default/{method}{path}"),
        )
        integration_ms = (time.monotonic() - invoked) * 1000
        if failed:
            raise _ReplyError(500, "Internal Server Error")
        status, headers, body = to_http(answer)
    except _ReplyError as reply:
        status, headers = reply.status, [("content-type", "application/json")]
        gateway_error = str(reply)
        body = json.dumps({"message": gateway_error}).encode()
    latency_ms = (time.monotonic() - started) * 1000
    headers.append(("apigw-requestid", request_id))
    headers.append(("x-localcloud-ms", f"{latency_ms:.0f}"))
    if api is not None:
        variables = _variables(environ, api_id, request_id, now, event)
        variables |= {
            "status": str(status),
            "responseLatency": str(round(latency_ms)),
            "responseLength": str(len(body)),
            "error.message": gateway_error,
        }
        if integration_ms is not None:
            variables["integrationLatency"] = str(round(integration_ms))
            variables["integrationStatus"] = "200"
        _write_access_log(api_id, api, variables)
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Status"
    start_response(f"{status} {phrase}", [*headers, ("content-length", str(len(body)))])
    return [body]
