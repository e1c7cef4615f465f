"""Reading compiled CloudFormation templates: resources by type, and what intrinsics point at."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

Template = Mapping[str, Any]
Resource = Mapping[str, Any]

TEMPLATE_NAME = "cloudformation-template-update-stack.json"


def load(path: Path) -> dict[str, Any]:
    """A compiled template: a directory written by `sls package --package DIR`, or the file."""
    if path.is_dir():
        path = path / TEMPLATE_NAME
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def resources(template: Template, *types: str) -> dict[str, Resource]:
    found = template.get("Resources", {})
    return {rid: res for rid, res in found.items() if not types or res.get("Type") in types}


def props(resource: Resource) -> Mapping[str, Any]:
    value = resource.get("Properties", {})
    return value if isinstance(value, Mapping) else {}


def target_id(value: Any) -> str | None:
    """The logical id a Ref or Fn::GetAtt points at, else None."""
    if isinstance(value, Mapping):
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            if isinstance(att, list) and att:
                return str(att[0])
            if isinstance(att, str):
                return att.split(".")[0]
    return None


def text_of(value: Any) -> str | None:
    """A string's literal text; Fn::Sub's template; Fn::Join with `${...}` for non-literals."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub if isinstance(sub, str) else str(sub[0]) if sub else None
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            if isinstance(parts, list):
                return str(sep).join(text_of(p) or "${?}" for p in parts)
    return None


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a structure with its JSON path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def queue_name(resource: Resource) -> str | None:
    return text_of(props(resource).get("QueueName"))


def dead_letter_queue_ids(template: Template) -> set[str]:
    """Queues that hold what failed elsewhere: named *-dlq, a redrive policy's target, an
    on-failure destination (async invocation, stream mapping) or a function's DeadLetterConfig.
    """
    queues = resources(template, "AWS::SQS::Queue")
    ids = {rid for rid, res in queues.items() if (queue_name(res) or "").endswith("-dlq")}
    pointers: list[Any] = []
    for res in resources(template).values():
        body = props(res)
        redrive = body.get("RedrivePolicy")
        if isinstance(redrive, Mapping):
            pointers.append(redrive.get("deadLetterTargetArn"))
        destination = body.get("DestinationConfig")
        if isinstance(destination, Mapping):
            pointers.append((destination.get("OnFailure") or {}).get("Destination"))
        dead_letter = body.get("DeadLetterConfig")
        if isinstance(dead_letter, Mapping):
            pointers.append(dead_letter.get("TargetArn"))
    ids |= {target for target in map(target_id, pointers) if target in queues}
    return ids


def function_ids_by_name(template: Template) -> dict[str, str]:
    """Deployed function name (literal FunctionName) -> logical id."""
    names: dict[str, str] = {}
    for rid, res in resources(template, "AWS::Lambda::Function").items():
        name = text_of(props(res).get("FunctionName"))
        if name:
            names[name] = rid
    return names


# -- intrinsics resolved to plausible concrete values ---------------------------------------
#
# The static IAM check (gates/iam_reference.py) needs real-looking ARNs to match resource
# types, so Ref, Fn::GetAtt, Fn::Sub and Fn::Join are resolved as CloudFormation would,
# in a made-up account and region. A Ref answers what CloudFormation's Ref answers for that
# type (a table's name, a queue's URL, a topic's ARN): a Ref where an ARN belongs then reads
# as the malformed ARN it would be on AWS.

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"
# A DynamoDB stream label as AWS writes it (a timestamp, with colons).
STREAM_LABEL = "2026-01-01T00:00:00.000"

_PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "docflow-stack",
    "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/docflow-stack/"
    "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
}

# The property that names a resource; without it CloudFormation generates a name (the
# logical id stands in for it).
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::Rule": "Name",
    "AWS::Lambda::Alias": "Name",
}


def _arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


# type -> (what Ref answers, {attribute: what Fn::GetAtt answers}), each from the name.
_VALUES: dict[str, tuple[Any, dict[str, Any]]] = {
    "AWS::DynamoDB::Table": (
        lambda n: n,
        {
            "Arn": lambda n: _arn("dynamodb", f"table/{n}"),
            "StreamArn": lambda n: _arn("dynamodb", f"table/{n}/stream/{STREAM_LABEL}"),
        },
    ),
    "AWS::SQS::Queue": (
        lambda n: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{n}",
        {
            "Arn": lambda n: _arn("sqs", n),
            "QueueName": lambda n: n,
            "QueueUrl": lambda n: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{n}",
        },
    ),
    "AWS::SNS::Topic": (
        lambda n: _arn("sns", n),
        {"TopicArn": lambda n: _arn("sns", n), "TopicName": lambda n: n},
    ),
    "AWS::S3::Bucket": (
        lambda n: n,
        {
            "Arn": lambda n: f"arn:{PARTITION}:s3:::{n}",
            "DomainName": lambda n: f"{n}.s3.amazonaws.com",
            "RegionalDomainName": lambda n: f"{n}.s3.{REGION}.amazonaws.com",
        },
    ),
    "AWS::Kinesis::Stream": (lambda n: n, {"Arn": lambda n: _arn("kinesis", f"stream/{n}")}),
    "AWS::Lambda::Function": (lambda n: n, {"Arn": lambda n: _arn("lambda", f"function:{n}")}),
    "AWS::Lambda::LayerVersion": (lambda n: _arn("lambda", f"layer:{n}:1"), {}),
    "AWS::StepFunctions::StateMachine": (
        lambda n: _arn("states", f"stateMachine:{n}"),
        {"Arn": lambda n: _arn("states", f"stateMachine:{n}"), "Name": lambda n: n},
    ),
    "AWS::SecretsManager::Secret": (
        # Secrets Manager appends six random characters to a secret's ARN.
        lambda n: _arn("secretsmanager", f"secret:{n}-AbCdEf"),
        {"Id": lambda n: _arn("secretsmanager", f"secret:{n}-AbCdEf")},
    ),
    "AWS::IAM::Role": (
        lambda n: n,
        {"Arn": lambda n: f"arn:{PARTITION}:iam::{ACCOUNT}:role/{n}", "RoleId": lambda n: n},
    ),
    "AWS::IAM::ManagedPolicy": (
        lambda n: f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{n}",
        {"PolicyArn": lambda n: f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{n}"},
    ),
    "AWS::Logs::LogGroup": (
        lambda n: n,
        {"Arn": lambda n: _arn("logs", f"log-group:{n}:*")},
    ),
    "AWS::Events::Rule": (lambda n: n, {"Arn": lambda n: _arn("events", f"rule/{n}")}),
    "AWS::ApiGatewayV2::Api": (lambda n: "a1b2c3d4e5", {"ApiId": lambda n: "a1b2c3d4e5"}),
}

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvedError(ValueError):
    """An intrinsic the resolver cannot answer; the message names it."""


class Resolver:
    """Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select and Fn::Split of one template."""

    def __init__(self, template: Template) -> None:
        self._resources = resources(template)

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic replaced by a concrete value."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(str(arg))
            if key == "Fn::GetAtt":
                rid, _, att = (arg if isinstance(arg, str) else ".".join(map(str, arg))).partition(
                    "."
                )
                return self._get_att(rid, att)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, parts = arg
                return str(sep).join(self._text(p, "Fn::Join") for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = self.resolve(arg)
                return items[int(index)]
            if key == "Fn::Split":
                sep, text = self.resolve(arg)
                return str(text).split(str(sep))
            if key.startswith("Fn::") or key == "Condition":
                raise UnresolvedError(f"{key} is not resolved statically")
        return {key: self.resolve(item) for key, item in value.items()}

    @staticmethod
    def _text(value: Any, where: str) -> str:
        if not isinstance(value, str | int | float):
            raise UnresolvedError(f"{where} of a non-string value {value!r}")
        return str(value)

    def _resource(self, rid: str) -> tuple[str, str]:
        """(type, name) of a logical id."""
        res = self._resources.get(rid)
        if res is None:
            raise UnresolvedError(f"{rid} is neither a resource nor a pseudo parameter")
        rtype = str(res.get("Type"))
        prop = _NAME_PROPERTY.get(rtype)
        named = props(res).get(prop) if prop else None
        name = self._text(self.resolve(named), f"{rid}.{prop}") if named is not None else rid
        return rtype, name

    def _ref(self, rid: str) -> Any:
        if rid in _PSEUDO:
            return _PSEUDO[rid]
        rtype, name = self._resource(rid)
        if rtype == "AWS::Lambda::Alias":
            # The alias ARN: its function's name (a Ref, or the name itself) and the alias name.
            function = self.resolve(props(self._resources[rid]).get("FunctionName"))
            function = self._text(function, f"{rid}.FunctionName").rpartition(":")[2]
            return _arn("lambda", f"function:{function}:{name}")
        if rtype not in _VALUES:
            raise UnresolvedError(f"Ref {rid}: what Ref answers for {rtype} is not known")
        return _VALUES[rtype][0](name)

    def _get_att(self, rid: str, att: str) -> Any:
        rtype, name = self._resource(rid)
        attribute = _VALUES.get(rtype, (None, {}))[1].get(att)
        if attribute is None:
            raise UnresolvedError(f"Fn::GetAtt {rid}.{att}: unknown attribute of {rtype}")
        return attribute(name)

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {key: self.resolve(item) for key, item in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return self._text(values[name], f"Fn::Sub ${{{name}}}")
            if name in _PSEUDO:
                return _PSEUDO[name]
            if "." in name:
                rid, _, att = name.partition(".")
                return self._text(self._get_att(rid, att), f"Fn::Sub ${{{name}}}")
            return self._text(self._ref(name), f"Fn::Sub ${{{name}}}")

        # `${!Literal}` is the escape for a literal `${Literal}`.
        return _SUB_VARIABLE.sub(one, str(text)).replace("${!", "${")
