"""What an HTTP request to the local endpoint asks IAM for: actions, resource ARNs, context keys.

AWS authorises each API call as one or more (action, resource) pairs: `dynamodb:Query` on a
table's index, `s3:GetObjectVersion` when a GetObject names a version, `s3:PutObject` on the
copy and `s3:GetObject` on the source of a CopyObject, one `s3:DeleteObject` per key of a
DeleteObjects, `states:SendTaskSuccess` on `"*"` (the action has no resource type). The
operation is found as the SDKs address it (X-Amz-Target for JSON protocols, `Action` for query
protocols, method and path for REST ones); the resources come from its parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

ContextValue = str | list[str]


@dataclass(frozen=True)
class Need:
    """One authorisation a request needs."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """A request as IAM sees it: the service (signing name), operation, protocol and needs."""

    service: str
    operation: str
    protocol: str
    region: str
    account_id: str
    needs: tuple[Need, ...]


@dataclass
class HttpRequest:
    method: str
    path: str  # unquoted path
    raw_path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    form: Mapping[str, str] | None = None  # an S3 POST upload's fields

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def json(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    @property
    def params(self) -> dict[str, str]:
        """Query-protocol parameters (form body and query string), first value each."""
        merged = {k: v[0] for k, v in self.query.items() if v}
        if self.body and "x-www-form-urlencoded" in self.header("content-type"):
            for key, values in parse_qs(self.body.decode("utf-8", "replace")).items():
                merged[key] = values[0]
        return merged


class UnclassifiedRequestError(Exception):
    """The operation of a request could not be told: it is refused rather than guessed."""


# -- the JSON and query protocols: operation name -> IAM action ------------------------------

_ACTION_PREFIX = {
    "dynamodb": "dynamodb",
    "sqs": "sqs",
    "sns": "sns",
    "secretsmanager": "secretsmanager",
    "states": "states",
    "kinesis": "kinesis",
    "lambda": "lambda",
    "ses": "ses",
    "monitoring": "cloudwatch",
    "logs": "logs",
    "xray": "xray",
    "sts": "sts",
    "events": "events",
    "s3": "s3",
    "iam": "iam",
    "cloudformation": "cloudformation",
}

# Operations whose IAM action has another name.
_ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeAsync": "lambda:InvokeFunction",
    "lambda:InvokeWithResponseStream": "lambda:InvokeFunction",
    "ses:SendRawEmail": "ses:SendRawEmail",
    "kinesis:PutRecords": "kinesis:PutRecords",
}

# Actions AWS authorises on Resource "*" only (no resource type in the service's reference).
STAR_ACTIONS = frozenset(
    {
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
        "states:ListStateMachines",
        "states:ListActivities",
        "dynamodb:ListTables",
        "dynamodb:ListStreams",
        "dynamodb:DescribeLimits",
        "sqs:ListQueues",
        "sns:ListTopics",
        "sns:ListSubscriptions",
        "secretsmanager:ListSecrets",
        "secretsmanager:GetRandomPassword",
        "kinesis:ListStreams",
        "lambda:ListFunctions",
        "lambda:ListEventSourceMappings",
        "lambda:ListLayers",
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricData",
        "cloudwatch:GetMetricStatistics",
        "cloudwatch:ListMetrics",
        "cloudwatch:DescribeAlarms",
        "logs:DescribeLogGroups",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "ses:ListIdentities",
        "ses:GetSendQuota",
        "s3:ListAllMyBuckets",
        "events:ListRules",
    }
)

# Operations every authenticated principal may call (no IAM permission exists or is needed).
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity", "sts:GetSessionToken"})


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


# -- per-service resources --------------------------------------------------------------------


def _dynamodb(op: str, body: dict[str, Any], region: str, account: str) -> list[Need]:
    def table(name: str, index: str | None = None) -> str:
        base = (
            name if name.startswith("arn:") else _arn("dynamodb", region, account, f"table/{name}")
        )
        return f"{base}/index/{index}" if index else base

    if op in ("BatchGetItem", "BatchWriteItem"):
        return [Need(f"dynamodb:{op}", table(name)) for name in body.get("RequestItems") or {}]
    if op in ("TransactWriteItems", "TransactGetItems"):
        kinds = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
            "Get": "GetItem",
        }
        found = []
        for item in body.get("TransactItems") or []:
            for kind, detail in dict(item).items():
                if kind in kinds and isinstance(detail, dict) and detail.get("TableName"):
                    found.append(Need(f"dynamodb:{kinds[kind]}", table(detail["TableName"])))
        return found
    if "StreamArn" in body:
        return [Need(f"dynamodb:{op}", str(body["StreamArn"]))]
    if op == "GetRecords":
        iterator = str(body.get("ShardIterator", ""))
        stream = re.search(r"arn:aws:dynamodb:[^|\s\"]+/stream/[^|\s\"/]+", iterator)
        return [Need("dynamodb:GetRecords", stream.group(0) if stream else "*")]
    name = body.get("TableName") or body.get("ResourceArn")
    if not name:
        return [Need(f"dynamodb:{op}", "*")]
    return [Need(f"dynamodb:{op}", table(str(name), body.get("IndexName")))]


def _queue_arn(url_or_name: str, region: str, account: str) -> str:
    if url_or_name.startswith("http"):
        parts = [p for p in urlparse(url_or_name).path.split("/") if p]
        if len(parts) >= 2:
            return _arn("sqs", region, parts[-2], parts[-1])
        return _arn("sqs", region, account, parts[-1] if parts else "")
    return _arn("sqs", region, account, url_or_name)


def _sqs(op: str, body: dict[str, Any], region: str, account: str) -> list[Need]:
    target = body.get("QueueUrl") or body.get("QueueName")
    if target:
        owner = str(body.get("QueueOwnerAWSAccountId") or account)
        return [Need(f"sqs:{op}", _queue_arn(str(target), region, owner))]
    if body.get("SourceArn"):  # StartMessageMoveTask
        return [Need(f"sqs:{op}", str(body["SourceArn"]))]
    return [Need(f"sqs:{op}", "*")]


def _sns(op: str, params: dict[str, str], region: str, account: str) -> list[Need]:
    arn = params.get("TopicArn") or params.get("TargetArn") or params.get("ResourceArn")
    if op in ("CreateTopic",) and params.get("Name"):
        arn = _arn("sns", region, account, params["Name"])
    if op in ("Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes"):
        arn = params.get("SubscriptionArn", "").rsplit(":", 1)[0] or None
    return [Need(f"sns:{op}", arn or "*")]


def _secret_arn(secret_id: str, region: str, account: str) -> str:
    if secret_id.startswith("arn:"):
        return secret_id
    try:
        from moto.secretsmanager.models import secretsmanager_backends

        found = secretsmanager_backends[account][region].secrets.get(secret_id)
    except Exception:  # an unknown account or region: no secret either
        found = None
    if found is not None:
        return str(found.arn)
    # AWS appends six random characters to a secret's name in its ARN.
    return _arn("secretsmanager", region, account, f"secret:{secret_id}-??????")


def _secretsmanager(op: str, body: dict[str, Any], region: str, account: str) -> list[Need]:
    secret = body.get("SecretId") or body.get("Name")
    if not secret:
        return [Need(f"secretsmanager:{op}", "*")]
    return [Need(f"secretsmanager:{op}", _secret_arn(str(secret), region, account))]


def _states(op: str, body: dict[str, Any], region: str, account: str) -> list[Need]:
    for key in ("executionArn", "stateMachineArn", "mapRunArn", "activityArn"):
        if body.get(key):
            return [Need(f"states:{op}", str(body[key]))]
    return [Need(f"states:{op}", "*")]


def _kinesis(op: str, body: dict[str, Any], region: str, account: str) -> list[Need]:
    if body.get("ConsumerARN"):
        return [Need(f"kinesis:{op}", str(body["ConsumerARN"]))]
    if body.get("StreamARN"):
        return [Need(f"kinesis:{op}", str(body["StreamARN"]))]
    if body.get("StreamName"):
        name = str(body["StreamName"])
        return [Need(f"kinesis:{op}", _arn("kinesis", region, account, f"stream/{name}"))]
    return [Need(f"kinesis:{op}", "*")]


def _address(text: str) -> str:
    found = re.search(r"<([^>]+)>", text)
    return (found.group(1) if found else text).strip()


def _ses_identity(address: str, region: str, account: str) -> str:
    """The identity SES authorises a send against: the address if verified, else its domain."""
    from moto.ses.models import ses_backends

    backend = ses_backends[account][region]
    if address in backend.email_identities:
        return _arn("ses", region, account, f"identity/{address}")
    return _arn("ses", region, account, f"identity/{address.rpartition('@')[2]}")


def _ses(
    op: str, params: dict[str, str], body: dict[str, Any], region: str, account: str
) -> list[Need]:
    source = params.get("Source") or str(body.get("FromEmailAddress") or "")
    if op in ("SendEmail", "SendRawEmail") and source:
        address = _address(source)
        recipients = [v for k, v in params.items() if k.startswith("Destination.")]
        context: dict[str, ContextValue] = {"ses:FromAddress": address}
        if recipients:
            context["ses:Recipients"] = recipients
        return [Need(f"ses:{op}", _ses_identity(address, region, account), context)]
    return [Need(f"ses:{op}", "*")]


def _logs(op: str, body: dict[str, Any], region: str, account: str) -> list[Need]:
    group = body.get("logGroupName")
    if not group:
        return [Need(f"logs:{op}", "*")]
    stream = body.get("logStreamName")
    suffix = f":log-stream:{stream}" if stream else ":*"
    return [Need(f"logs:{op}", _arn("logs", region, account, f"log-group:{group}{suffix}"))]


def _events(op: str, body: dict[str, Any], region: str, account: str) -> list[Need]:
    if op == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in body.get("Entries") or []}
        return [
            Need(
                "events:PutEvents",
                b if b.startswith("arn:") else _arn("events", region, account, f"event-bus/{b}"),
            )
            for b in sorted(buses) or ["default"]
        ]
    if body.get("Name") and op.endswith("Rule"):
        return [Need(f"events:{op}", _arn("events", region, account, f"rule/{body['Name']}"))]
    return [Need(f"events:{op}", "*")]


def _sts(op: str, params: dict[str, str], region: str, account: str) -> list[Need]:
    if op == "AssumeRole" and params.get("RoleArn"):
        return [Need("sts:AssumeRole", params["RoleArn"])]
    return [Need(f"sts:{op}", "*")]


# -- REST protocols (Lambda, X-Ray, SES v2): operation from method and path --------------------


@cache
def _rest_operations(service_model_name: str) -> list[tuple[str, re.Pattern[str], int, str]]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service_model_name)
    found = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/").split("?", 1)[0]
        literal = len(re.sub(r"\{[^}]+\}", "", uri))
        pattern = re.sub(
            r"\\\{(\w+)\\\+\\\}|\\\{(\w+)\\\}",
            lambda m: f"(?P<{m.group(1)}>.+)" if m.group(1) else f"(?P<{m.group(2)}>[^/]+)",
            re.escape(uri),
        )
        found.append((http.get("method", "GET"), re.compile(f"^{pattern}/?$"), literal, name))
    return found


def _rest_operation(model: str, request: HttpRequest) -> tuple[str, dict[str, str]]:
    best: tuple[int, str, dict[str, str]] | None = None
    for method, pattern, literal, name in _rest_operations(model):
        if method != request.method:
            continue
        match = pattern.match(request.raw_path)
        if match and (best is None or literal > best[0]):
            best = (literal, name, {k: unquote(v) for k, v in match.groupdict().items()})
    if best is None:
        raise UnclassifiedRequestError(f"{request.method} {request.path}")
    return best[1], best[2]


def _lambda_function_arn(name: str, qualifier: str | None, region: str, account: str) -> str:
    if name.startswith("arn:"):
        arn = name
    elif ":" in name:  # account:function:name or name:qualifier
        parts = name.split(":")
        arn = (
            _arn("lambda", region, parts[0], ":".join(parts[1:]))
            if parts[0].isdigit()
            else _arn("lambda", region, account, f"function:{name}")
        )
    else:
        arn = _arn("lambda", region, account, f"function:{name}")
    if qualifier and arn.count(":") == 6:
        arn = f"{arn}:{qualifier}"
    return arn


def _lambda(request: HttpRequest, region: str, account: str) -> tuple[str, list[Need]]:
    op, params = _rest_operation("lambda", request)
    action = _ACTION_OF.get(f"lambda:{op}", f"lambda:{op}")
    name = params.get("FunctionName")
    if name:
        arn = _lambda_function_arn(name, request.param("Qualifier"), region, account)
        return op, [Need(action, arn)]
    if params.get("LayerName"):
        layer = _arn("lambda", region, account, f"layer:{params['LayerName']}")
        if params.get("VersionNumber"):
            layer = f"{layer}:{params['VersionNumber']}"
        return op, [Need(action, layer)]
    if params.get("UUID"):
        mapping = _arn("lambda", region, account, f"event-source-mapping:{params['UUID']}")
        return op, [Need(action, mapping)]
    return op, [Need(action, "*")]


# -- S3 ------------------------------------------------------------------------------------------


def _s3_location(request: HttpRequest) -> tuple[str | None, str | None]:
    host = request.header("host").split(":", 1)[0]
    labels = host.split(".")
    path = request.path
    if len(labels) > 1 and not host.replace(".", "").isdigit() and labels[1] in ("s3", "localhost"):
        bucket: str | None = labels[0]
        key = path.lstrip("/") or None
    else:
        parts = path.lstrip("/").split("/", 1)
        bucket = parts[0] or None
        key = parts[1] if len(parts) > 1 and parts[1] else None
    return bucket, key


_S3_BUCKET_SUBRESOURCES = {
    # (method, sub-resource) -> action on a bucket
    ("GET", "versions"): "s3:ListBucketVersions",
    ("GET", "uploads"): "s3:ListBucketMultipartUploads",
    ("GET", "policy"): "s3:GetBucketPolicy",
    ("PUT", "policy"): "s3:PutBucketPolicy",
    ("DELETE", "policy"): "s3:DeleteBucketPolicy",
    ("GET", "location"): "s3:GetBucketLocation",
    ("GET", "versioning"): "s3:GetBucketVersioning",
    ("PUT", "versioning"): "s3:PutBucketVersioning",
    ("GET", "notification"): "s3:GetBucketNotification",
    ("PUT", "notification"): "s3:PutBucketNotification",
    ("GET", "tagging"): "s3:GetBucketTagging",
    ("PUT", "tagging"): "s3:PutBucketTagging",
    ("GET", "acl"): "s3:GetBucketAcl",
    ("PUT", "acl"): "s3:PutBucketAcl",
    ("GET", "encryption"): "s3:GetEncryptionConfiguration",
    ("PUT", "encryption"): "s3:PutEncryptionConfiguration",
    ("GET", "lifecycle"): "s3:GetLifecycleConfiguration",
    ("PUT", "lifecycle"): "s3:PutLifecycleConfiguration",
    ("GET", "cors"): "s3:GetBucketCORS",
    ("PUT", "cors"): "s3:PutBucketCORS",
    ("GET", "publicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("PUT", "publicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("GET", "ownershipControls"): "s3:GetBucketOwnershipControls",
    ("PUT", "ownershipControls"): "s3:PutBucketOwnershipControls",
}

_S3_OBJECT_SUBRESOURCES = {
    ("GET", "tagging"): "s3:GetObjectTagging",
    ("PUT", "tagging"): "s3:PutObjectTagging",
    ("DELETE", "tagging"): "s3:DeleteObjectTagging",
    ("GET", "acl"): "s3:GetObjectAcl",
    ("PUT", "acl"): "s3:PutObjectAcl",
    ("GET", "retention"): "s3:GetObjectRetention",
    ("PUT", "retention"): "s3:PutObjectRetention",
    ("GET", "legal-hold"): "s3:GetObjectLegalHold",
    ("PUT", "legal-hold"): "s3:PutObjectLegalHold",
    ("GET", "attributes"): "s3:GetObjectAttributes",
}


def _s3_versioned(action: str, version: str | None) -> str:
    return f"{action}Version" if version and version != "null" else action


def _s3(request: HttpRequest) -> tuple[str, list[Need]]:
    bucket, key = _s3_location(request)
    method = request.method
    if bucket is None:
        return "ListBuckets", [Need("s3:ListAllMyBuckets", "*")]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    version = request.param("versionId")
    context: dict[str, ContextValue] = {}
    if version:
        context["s3:VersionId"] = version
    sub = next((s for s in request.query if s not in ("versionId", "uploadId", "partNumber")), None)
    if key is None:
        if method == "POST" and request.form is not None:
            object_key = request.form.get("key", "")
            return "PostObject", [Need("s3:PutObject", f"{bucket_arn}/{object_key}")]
        if method == "POST" and "delete" in request.query:
            keys = re.findall(
                rb"<Key>(.*?)</Key>\s*(?:<VersionId>(.*?)</VersionId>)?", request.body
            )
            return "DeleteObjects", [
                Need(
                    _s3_versioned("s3:DeleteObject", v.decode() if v else None),
                    f"{bucket_arn}/{_xml_text(k)}",
                )
                for k, v in keys
            ] or [Need("s3:DeleteObject", f"{bucket_arn}/*")]
        listing = {
            "s3:prefix": request.param("prefix") or "",
            **(
                {"s3:delimiter": request.param("delimiter") or ""}
                if "delimiter" in request.query
                else {}
            ),
            **(
                {"s3:max-keys": request.param("max-keys") or ""}
                if "max-keys" in request.query
                else {}
            ),
        }
        for (m, name), action in _S3_BUCKET_SUBRESOURCES.items():
            if m == method and name in request.query:
                # ListObjectVersions is a listing too: it carries the s3:prefix key.
                return name, [Need(action, bucket_arn, listing if name == "versions" else {})]
        if method == "GET":
            return "ListObjects", [Need("s3:ListBucket", bucket_arn, listing)]
        if method == "HEAD":
            return "HeadBucket", [Need("s3:ListBucket", bucket_arn)]
        if method == "PUT":
            return "CreateBucket", [Need("s3:CreateBucket", bucket_arn)]
        if method == "DELETE":
            return "DeleteBucket", [Need("s3:DeleteBucket", bucket_arn)]
        raise UnclassifiedRequestError(f"{method} s3 bucket {sub or ''}")
    object_arn = f"{bucket_arn}/{key}"
    for (m, name), action in _S3_OBJECT_SUBRESOURCES.items():
        if m == method and name in request.query:
            return name, [Need(_s3_versioned(action, version), object_arn, context)]
    if method in ("GET", "HEAD"):
        return "GetObject", [Need(_s3_versioned("s3:GetObject", version), object_arn, context)]
    if method == "DELETE":
        if "uploadId" in request.query:
            return "AbortMultipartUpload", [Need("s3:AbortMultipartUpload", object_arn)]
        return "DeleteObject", [
            Need(_s3_versioned("s3:DeleteObject", version), object_arn, context)
        ]
    if method == "PUT":
        needs = [Need("s3:PutObject", object_arn)]
        source = request.header("x-amz-copy-source")
        if source:
            source_path, _, source_query = unquote(source).lstrip("/").partition("?")
            source_version = parse_qs(source_query).get("versionId", [None])[0]
            needs.append(
                Need(_s3_versioned("s3:GetObject", source_version), f"arn:aws:s3:::{source_path}")
            )
            return "CopyObject", needs
        return "UploadPart" if "uploadId" in request.query else "PutObject", needs
    if method == "POST":  # CreateMultipartUpload (?uploads), CompleteMultipartUpload (?uploadId)
        return "MultipartUpload", [Need("s3:PutObject", object_arn)]
    raise UnclassifiedRequestError(f"{method} s3 object")


def _xml_text(raw: bytes) -> str:
    from xml.sax.saxutils import unescape

    return unescape(raw.decode("utf-8", "replace"), {"&quot;": '"', "&apos;": "'"})


# -- the whole request ------------------------------------------------------------------------

_CREDENTIAL = re.compile(r"Credential=([^/\s,]+)/(\d{8})/([^/\s,]+)/([^/\s,]+)/aws4_request")


@dataclass(frozen=True)
class Signer:
    access_key_id: str
    region: str
    service: str
    auth_type: str  # "REST-HEADER", "REST-QUERY-STRING" or "POST"


def signer_of(request: HttpRequest) -> Signer | None:
    """The credential scope a request is signed with, wherever SigV4 puts it."""
    found = _CREDENTIAL.search(request.header("authorization"))
    if found:
        return Signer(found.group(1), found.group(3), found.group(4), "REST-HEADER")
    credential = request.param("X-Amz-Credential") or (request.form or {}).get("x-amz-credential")
    if credential:
        parts = credential.split("/")
        if len(parts) >= 5:
            kind = "REST-QUERY-STRING" if request.param("X-Amz-Credential") else "POST"
            return Signer(parts[0], parts[2], parts[3], kind)
    return None


def _operation_name(request: HttpRequest, protocol: str) -> str:
    if protocol == "json":
        target = request.header("x-amz-target")
        if not target:
            raise UnclassifiedRequestError("a JSON-protocol request without X-Amz-Target")
        return target.rpartition(".")[2]
    if protocol == "cbor":
        found = re.search(r"/operation/(\w+)$", request.path)
        if not found:
            raise UnclassifiedRequestError(request.path)
        return found.group(1)
    operation = request.params.get("Action")
    if not operation:
        raise UnclassifiedRequestError("a query-protocol request without Action")
    return operation


def protocol_of(request: HttpRequest, service: str) -> str:
    if service == "s3":
        return "rest-xml"
    if request.header("x-amz-target"):
        return "json"
    if request.header("smithy-protocol") == "rpc-v2-cbor" or "/operation/" in request.path:
        return "cbor"
    if service in ("lambda", "xray") or (service == "ses" and request.path.startswith("/v2/")):
        return "rest-json"
    return "query"


_BY_BODY: dict[str, Callable[[str, dict[str, Any], str, str], list[Need]]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "secretsmanager": _secretsmanager,
    "states": _states,
    "kinesis": _kinesis,
    "logs": _logs,
    "events": _events,
}


def classify(request: HttpRequest, signer: Signer, account_id: str) -> Call:
    """The actions and resources `request` needs authorised."""
    service, region = signer.service, signer.region
    protocol = protocol_of(request, service)
    if service == "s3":
        operation, needs = _s3(request)
    elif service == "lambda":
        operation, needs = _lambda(request, region, account_id)
    elif service == "xray":
        operation, _ = _rest_operation("xray", request)
        needs = [Need(f"xray:{operation}", "*")]
    elif service == "ses" and protocol == "rest-json":
        operation, _ = _rest_operation("sesv2", request)
        needs = _ses(operation, {}, request.json, region, account_id)
    else:
        operation = _operation_name(request, protocol)
        if service in _BY_BODY:
            needs = _BY_BODY[service](operation, request.json, region, account_id)
        elif service == "sns":
            needs = _sns(operation, request.params, region, account_id)
        elif service == "ses":
            needs = _ses(operation, request.params, {}, region, account_id)
        elif service == "sts":
            needs = _sts(operation, request.params, region, account_id)
        else:
            prefix = _ACTION_PREFIX.get(service, service)
            needs = [Need(f"{prefix}:{operation}", "*")]
    resolved = []
    for need in needs:
        action = _ACTION_OF.get(need.action, need.action)
        resource = "*" if action in STAR_ACTIONS else need.resource
        resolved.append(Need(action, resource, need.context))
    return Call(service, operation, protocol, region, account_id, tuple(resolved))
