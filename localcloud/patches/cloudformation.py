"""CloudFormation: apply the parts of a deployed template that moto 5.2.5 ignores or rejects."""

from __future__ import annotations

import json
import logging
import re
import string
import threading
from typing import Any, Self

from moto.cloudformation import parsing
from moto.cloudformation.models import ChangeSet, CloudFormationBackend
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random
from moto.s3.models import FakeBucket, s3_backends

from localcloud.patches import models
from localcloud.patches.context import LocalCloud

log = logging.getLogger("localcloud.cloudformation")


def validate_errors_only(cloud: LocalCloud) -> None:
    """ValidateTemplate rejects a template for errors only.

    AWS validates syntax and schema; moto runs cfn-lint and rejects on any match, warnings (W*)
    and informational findings (I*) included. Keep cfn-lint's errors (E*), drop the rest.
    """
    original = CloudFormationBackend.validate_template

    def validate_template(self: CloudFormationBackend, template: str) -> list[Any]:
        matches = original(self, template)
        return [m for m in matches if str(getattr(m.rule, "id", "E")).startswith("E")]

    CloudFormationBackend.validate_template = validate_template  # type: ignore[method-assign]


_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def sub_variable_map(cloud: LocalCloud) -> None:
    """Fn::Sub [template, {variables}] substitutes every variable name AWS accepts.

    moto uses string.Template, whose identifiers cannot start with a digit, so keys such as the
    hashes serverless-step-functions generates stay unresolved and the stack fails. Substitute
    the map's variables first, by exact name, then let moto resolve the remaining ${Ref}/${A.B}.
    """
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and isinstance(resource_json.get("Fn::Sub"), list):
            template, variables = resource_json["Fn::Sub"]
            values = {name: original(value, resources_map) for name, value in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                return str(values[name]) if name in values else match.group(0)

            return original({"Fn::Sub": _SUB_VARIABLE.sub(substitute, template)}, resources_map)
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def change_set_named(
    backend: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> ChangeSet | None:
    """The change set an ExecuteChangeSet means: by ARN, else by name within its stack.

    AWS scopes a change set's name to its stack; moto's own lookup takes the last change set of
    that name in any stack, and the patches wrapping ExecuteChangeSet pass the ARN on, so all of
    them act on the same one.
    """
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    named = [
        change_set
        for change_set in backend.change_sets.values()
        if change_set.change_set_name == change_set_name
        and (stack_name is None or stack_name in (change_set.stack_name, change_set.stack_id))
        and change_set.stack_id in backend.stacks
    ]
    return named[-1] if named else None


def change_set_outputs(cloud: LocalCloud) -> None:
    """After ExecuteChangeSet, DescribeStacks shows the template's Outputs and Description, and
    ListExports the stack's exports.

    osls deploys through change sets; moto applies the resources but keeps the stack's parsed
    template (and so its outputs) from before, so `sls info` and serverless-step-functions find
    no Outputs. Re-read the template and rebuild the outputs once the change set is applied, and
    register the exports as a stack create or update does (moto's DeleteStack then finds them).
    """
    original = CloudFormationBackend.execute_change_set

    def execute_change_set(
        self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
    ) -> None:
        change_set = change_set_named(self, change_set_name, stack_name)
        if change_set is None:
            original(self, change_set_name, stack_name)  # moto's own "does not exist" error
            return
        original(self, change_set.change_set_id, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        before = {
            name
            for name, export in self.exports.items()
            if export.exporting_stack_id == stack.stack_id
        }
        stack.output_map = stack._create_output_map()
        for name in before - {export.name for export in stack.exports}:
            del self.exports[name]
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


_EXECUTE_API_URL = re.compile(
    r"^https://(?P<api_id>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?P<path>/.*)?$"
)


def local_api_url(cloud: LocalCloud) -> None:
    """An output holding a deployed HTTP API's URL names where that API answers: the local
    gateway.

    On AWS the URL osls puts in the `HttpApiUrl` output (`https://<id>.execute-api.<region>.
    amazonaws.com`) serves the API, so `sls info` and `sls deploy` print a URL that works.
    Locally that name resolves to AWS; the API answers on the gateway's loopback URL.
    """
    original = parsing.parse_output

    def parse_output(
        output_logical_id: str, output_json: Any, resources_map: Any
    ) -> parsing.Output | None:
        output = original(output_logical_id, output_json, resources_map)
        value = output.value if output is not None else None
        match = _EXECUTE_API_URL.match(value) if isinstance(value, str) else None
        if output is not None and match and cloud.api_url and match.group("api_id") in HTTP_APIS:
            output.value = cloud.api_url + (match.group("path") or "")
        return output

    parsing.parse_output = parse_output


def deleted_stacks(cloud: LocalCloud) -> None:
    """Deleting a stack deletes its change sets and its exports, whichever way they were made.

    On AWS a deleted stack's change sets are gone with it. moto keeps them, and osls names
    every change set of a stack alike (`<stack>-change-set`), so after `sls remove` the next
    deploy's ExecuteChangeSet could find the deleted stack's change set. moto's DeleteStack also
    failed half-way (the stack gone, its resources not) on an export it never registered.
    """
    original = CloudFormationBackend.delete_stack

    def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
        doomed = [
            stack
            for stack in self.stacks.values()
            if name_or_stack_id in (stack.name, stack.stack_id)
        ]
        for stack in doomed:
            for export in stack.exports:
                self.exports.setdefault(export.name, export)
            original(self, stack.stack_id)
        doomed_ids = {stack.stack_id for stack in doomed}
        for change_set_id in [
            key for key, change_set in self.change_sets.items() if change_set.stack_id in doomed_ids
        ]:
            del self.change_sets[change_set_id]

    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]


def _notification_configuration(properties: dict[str, Any]) -> dict[str, Any]:
    """AWS::S3::Bucket NotificationConfiguration in the shape moto's S3 API model keeps."""

    def filters(configuration: dict[str, Any]) -> dict[str, Any] | None:
        rules = configuration.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        if not rules:
            return None
        # S3 treats the rule names case-insensitively; moto compares lower case.
        return {
            "S3Key": {
                "FilterRule": [{"Name": r["Name"].lower(), "Value": r["Value"]} for r in rules]
            }
        }

    def entries(key: str, target_key: str, target: str) -> list[dict[str, Any]]:
        result = []
        for configuration in properties.get(key, []):
            entry = {target: configuration[target_key], "Event": [configuration["Event"]]}
            if filters(configuration):
                entry["Filter"] = filters(configuration)
            result.append(entry)
        return result

    config: dict[str, Any] = {
        "CloudFunctionConfiguration": entries("LambdaConfigurations", "Function", "CloudFunction"),
        "QueueConfiguration": entries("QueueConfigurations", "Queue", "Queue"),
        "TopicConfiguration": entries("TopicConfigurations", "Topic", "Topic"),
    }
    if properties.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
        config["EventBridgeConfiguration"] = {}
    return {k: v for k, v in config.items() if v or k == "EventBridgeConfiguration"}


def _apply_bucket_properties(bucket: FakeBucket, properties: dict[str, Any]) -> None:
    backend = s3_backends[bucket.account_id][bucket.partition]
    versioning = properties.get("VersioningConfiguration", {}).get("Status")
    if versioning:
        backend.put_bucket_versioning(bucket.name, versioning)
    if "NotificationConfiguration" in properties:
        bucket.set_notification_configuration(
            _notification_configuration(properties["NotificationConfiguration"])
        )
    else:
        bucket.notification_configuration = None
    if "CorsConfiguration" in properties:
        rules = [
            {
                "AllowedMethod": r.get("AllowedMethods", []),
                "AllowedOrigin": r.get("AllowedOrigins", []),
                "AllowedHeader": r.get("AllowedHeaders", []),
                "ExposeHeader": r.get("ExposedHeaders", []),
                "MaxAgeSeconds": r.get("MaxAge"),
            }
            for r in properties["CorsConfiguration"].get("CorsRules", [])
        ]
        bucket.set_cors(rules)


def s3_bucket_properties(cloud: LocalCloud) -> None:
    """AWS::S3::Bucket's NotificationConfiguration, VersioningConfiguration and CORS take effect.

    AWS applies them with the bucket (and on update); moto applies only encryption and tags, so
    an upload would start nothing. The same S3 model methods a PutBucketNotificationConfiguration
    call uses are called, so the configuration is also visible through the S3 API.
    """
    models.hook(
        FakeBucket, after_create=_apply_bucket_properties, after_update=_apply_bucket_properties
    )


class SnsSubscription(models.LocalModel, CloudFormationModel):
    """AWS::SNS::Subscription: subscribes an endpoint (sqs, lambda...) to a topic."""

    TYPE = "AWS::SNS::Subscription"

    @classmethod
    def create(cls, spec: models.Spec) -> SnsSubscription:
        from moto.sns.models import sns_backends

        backend = sns_backends[spec.account_id][spec.region]
        subscription = backend.subscribe(
            spec.properties["TopicArn"], spec.properties["Endpoint"], spec.properties["Protocol"]
        )
        for attribute in (
            "RawMessageDelivery",
            "FilterPolicy",
            "FilterPolicyScope",
            "RedrivePolicy",
        ):
            if attribute in spec.properties:
                value = spec.properties[attribute]
                if isinstance(value, dict):
                    value = json.dumps(value)
                elif isinstance(value, bool):
                    value = str(value).lower()
                backend.set_subscription_attributes(subscription.arn, attribute, str(value))
        return cls(subscription.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.sns.models import sns_backends

        try:
            sns_backends[account_id][region_name].unsubscribe(self.physical_id)
        except Exception:
            log.debug("subscription %s already gone", self.physical_id)


def sns_subscription(cloud: LocalCloud) -> None:
    """AWS::SNS::Subscription creates the subscription (moto has no model for it)."""
    assert SnsSubscription.cloudformation_type() == "AWS::SNS::Subscription"


def s3_bucket_policy(cloud: LocalCloud) -> None:
    """AWS::S3::BucketPolicy puts the bucket policy (moto has no model for it).

    moto evaluates a bucket policy without its Conditions, so the usual `Deny unless
    aws:SecureTransport` statement (serverless adds it to its deployment bucket) would deny every
    request. AWS evaluates conditions; here statements with a Condition are left out of moto's
    evaluation (they cannot be judged on plain-HTTP loopback) and the rest apply as written.
    """
    assert S3BucketPolicy.cloudformation_type() == "AWS::S3::BucketPolicy"

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        from moto.iam.access_control import IAMPolicy, PermissionResult

        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        document["Statement"] = [s for s in statements if not s.get("Condition")]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


class _PolicyAttachment(models.LocalModel):
    """A policy document CloudFormation attaches to existing resources (queues, topics)."""

    TARGETS = ""  # the property naming the resource, or listing them

    def __init__(self, targets: list[str]) -> None:
        super().__init__(",".join(targets))
        self.targets = targets

    @classmethod
    def attach(cls, target: str, document: str, account_id: str, region_name: str) -> None:
        raise NotImplementedError

    @classmethod
    def create(cls, spec: models.Spec) -> Self:
        document = spec.properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        named = spec.properties[cls.TARGETS]
        targets = [str(t) for t in (named if isinstance(named, list) else [named])]
        for target in targets:
            cls.attach(target, text, spec.account_id, spec.region)
        return cls(targets)


class SqsQueuePolicy(_PolicyAttachment, CloudFormationModel):
    TYPE = "AWS::SQS::QueuePolicy"
    TARGETS = "Queues"  # queue URLs

    @classmethod
    def attach(cls, target: str, document: str, account_id: str, region_name: str) -> None:
        from moto.sqs.models import sqs_backends

        name = target.rstrip("/").rsplit("/", 1)[-1]
        sqs_backends[account_id][region_name].queues[name].policy = document


class S3BucketPolicy(_PolicyAttachment, CloudFormationModel):
    TYPE = "AWS::S3::BucketPolicy"
    TARGETS = "Bucket"  # a bucket name

    @classmethod
    def attach(cls, target: str, document: str, account_id: str, region_name: str) -> None:
        from moto.utilities.utils import get_partition

        s3_backends[account_id][get_partition(region_name)].put_bucket_policy(
            target, document.encode()
        )


class SnsTopicPolicy(_PolicyAttachment, CloudFormationModel):
    TYPE = "AWS::SNS::TopicPolicy"
    TARGETS = "Topics"  # topic ARNs

    @classmethod
    def attach(cls, target: str, document: str, account_id: str, region_name: str) -> None:
        from moto.sns.models import sns_backends

        sns_backends[account_id][region_name].topics[target].policy = document


def queue_and_topic_policies(cloud: LocalCloud) -> None:
    """AWS::SQS::QueuePolicy and AWS::SNS::TopicPolicy attach their documents (moto: no model).

    Without them a queue had no policy, and SNS's deliveries to it could not be authorised as
    AWS authorises them (the queue policy must let sns.amazonaws.com send for the topic).
    """
    assert SqsQueuePolicy.cloudformation_type() == "AWS::SQS::QueuePolicy"
    assert SnsTopicPolicy.cloudformation_type() == "AWS::SNS::TopicPolicy"


# -- HTTP APIs ---------------------------------------------------------------------------------

HTTP_APIS: dict[str, dict[str, Any]] = {}
"""The deployed HTTP APIs by id: {"name", "region", "account", "routes": {id: props},
"integrations": {id: props}, "authorizers": {id: props}, "stages": {name: props}}."""
_HTTP_APIS_LOCK = threading.Lock()


def _new_id() -> str:
    return "".join(mock_random.choice(string.ascii_lowercase + string.digits) for _ in range(10))


class _HttpApiPart(models.LocalModel):
    """One AWS::ApiGatewayV2 resource of an HTTP API, kept for the localcloud gateway to serve."""

    kind = ""
    ATTRIBUTES = frozenset({"ApiId", "ApiEndpoint", "AuthorizerId", "IntegrationId", "RouteId"})

    def __init__(self, api_id: str, part_id: str) -> None:
        super().__init__(part_id)
        self.api_id = api_id

    def attribute(self, name: str) -> str:
        if name == "ApiEndpoint":
            return f"https://{self.api_id}.execute-api.localhost"
        return self.api_id if name == "ApiId" else self.physical_id

    @classmethod
    def create(cls, spec: models.Spec) -> Self:
        with _HTTP_APIS_LOCK:
            if cls.kind == "api":
                api_id = _new_id()
                HTTP_APIS[api_id] = {
                    "name": spec.properties.get("Name", spec.name),
                    "account": spec.account_id,
                    "region": spec.region,
                    "properties": spec.properties,
                    **_api_parts(),
                }
                return cls(api_id, api_id)
            api_id = str(spec.properties["ApiId"])
            part_id = str(spec.properties["StageName"]) if cls.kind == "stages" else _new_id()
            HTTP_APIS.setdefault(api_id, _api_parts())[cls.kind][part_id] = spec.properties
            return cls(api_id, part_id)

    def update(self, spec: models.Spec) -> Self:
        with _HTTP_APIS_LOCK:
            api = HTTP_APIS.setdefault(self.api_id, _api_parts())
            if self.kind == "api":
                api["properties"] = spec.properties
                api["name"] = spec.properties.get("Name", api.get("name"))
            else:
                api[self.kind][self.physical_id] = spec.properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        with _HTTP_APIS_LOCK:
            if self.kind == "api":
                HTTP_APIS.pop(self.api_id, None)
            else:
                HTTP_APIS.get(self.api_id, {}).get(self.kind, {}).pop(self.physical_id, None)


def _api_parts() -> dict[str, dict[str, Any]]:
    return {"routes": {}, "integrations": {}, "authorizers": {}, "stages": {}}


def _http_api_model(type_name: str, kind: str) -> type[CloudFormationModel]:
    # Each must be a direct subclass of CloudFormationModel: moto finds models by __subclasses__().
    namespace = {"kind": kind, "TYPE": type_name}
    return type(f"HttpApi{kind.title()}", (_HttpApiPart, CloudFormationModel), namespace)


HTTP_API_MODELS = [
    _http_api_model("AWS::ApiGatewayV2::Api", "api"),
    _http_api_model("AWS::ApiGatewayV2::Route", "routes"),
    _http_api_model("AWS::ApiGatewayV2::Integration", "integrations"),
    _http_api_model("AWS::ApiGatewayV2::Authorizer", "authorizers"),
    _http_api_model("AWS::ApiGatewayV2::Stage", "stages"),
]


def apigatewayv2(cloud: LocalCloud) -> None:
    """AWS::ApiGatewayV2 Api, Route, Integration, Authorizer and Stage are created (moto: none).

    They are kept as deployed, with generated ids (Ref works), for localcloud's gateway to serve
    on loopback the way API Gateway serves an HTTP API.
    """
    assert len(HTTP_API_MODELS) == 5


# -- Secrets and resources moto does not model ------------------------------------------------


class SecretsManagerSecret(models.LocalModel, CloudFormationModel):
    """AWS::SecretsManager::Secret: creates the secret (SecretString or GenerateSecretString)."""

    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"Id"})

    def __init__(self, arn: str, name: str) -> None:
        super().__init__(arn)  # Ref of a secret is its ARN
        self.name = name

    @classmethod
    def create(cls, spec: models.Spec) -> SecretsManagerSecret:
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[spec.account_id][spec.region]
        value = spec.properties.get("SecretString")
        generate = spec.properties.get("GenerateSecretString")
        if value is None and generate is not None:
            value = _generated_secret(backend, generate)
        try:
            arn = str(backend.describe_secret(spec.name).arn)
        except Exception:
            created = json.loads(
                backend.create_secret(
                    name=spec.name,
                    secret_string=value,
                    secret_binary=None,
                    description=spec.properties.get("Description"),
                    tags=spec.properties.get("Tags", []),
                    kms_key_id=spec.properties.get("KmsKeyId"),
                    client_request_token=None,
                    replica_regions=[],
                    force_overwrite=False,
                )
            )
            arn = created["ARN"]
        return cls(arn, spec.name)

    def update(self, spec: models.Spec) -> Self:
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        secretsmanager_backends[account_id][region_name].delete_secret(
            self.physical_id, recovery_window_in_days=None, force_delete_without_recovery=True
        )


def _generated_secret(backend: Any, generate: dict[str, Any]) -> str:
    """GenerateSecretString: a random password, alone or under GenerateStringKey."""
    password = str(
        json.loads(
            backend.get_random_password(
                password_length=int(generate.get("PasswordLength", 32)),
                exclude_characters=generate.get("ExcludeCharacters", ""),
                exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
                exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
                exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
                exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
                include_space=bool(generate.get("IncludeSpace", False)),
                require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
            )
        )["RandomPassword"]
    )
    if "GenerateStringKey" not in generate:
        return password
    document = json.loads(generate.get("SecretStringTemplate", "{}"))
    document[generate["GenerateStringKey"]] = password
    return json.dumps(document)


class NotEmulated(models.LocalModel, CloudFormationModel):
    """A resource type moto does not model: created by name only, so Ref and GetAtt resolve.

    AWS would create it; locally it has no behaviour (alarms, budgets, policies). Each one is
    logged at deploy time, so nothing is silently pretended.
    """

    TYPE = "LocalCloud::NotEmulated"

    def __init__(self, resource_type: str, name: str, account_id: str, region: str) -> None:
        super().__init__(name)
        self.resource_type = resource_type
        service, kind = resource_type.split("::")[1:3]
        self.arn = f"arn:aws:{service.lower()}:{region}:{account_id}:{kind.lower()}/{name}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def attribute(self, name: str) -> str:
        return self.arn if name.endswith("Arn") else self.physical_id

    @classmethod
    def create(cls, spec: models.Spec) -> NotEmulated:
        named = next(
            (
                str(v)
                for k, v in spec.properties.items()
                if k.endswith("Name") and isinstance(v, str)
            ),
            spec.name,
        )
        log.warning(
            "localcloud: %s %s is not emulated (created by spec.name only)", spec.type, named
        )
        return cls(spec.type, named, spec.account_id, spec.region)

    def update(self, spec: models.Spec) -> Self:
        return self


def resources_without_model(cloud: LocalCloud) -> None:
    """Secrets are created; other types moto lacks resolve by name instead of to None.

    moto skips a resource type it does not know, and every Ref to it becomes None (a function
    would get the environment variable "None"). AWS creates them all.
    """
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        found: Any = original(resource_type)
        if (
            found is None
            and resource_type.startswith("AWS::")
            and resource_type not in parsing.NULL_MODELS
        ):
            return NotEmulated
        return found

    parsing.resource_class_from_type = resource_class_from_type


def keep_resources_moto_cannot_update(cloud: LocalCloud) -> None:
    """A changed resource whose type moto cannot update keeps its current state and its Ref.

    CloudFormation updates or replaces it. moto set it to None, so every Ref and GetAtt to it
    resolved to None on the next deploy (for example a Lambda permission or a log group after
    a change). Keeping it is the closer behaviour; the change itself is logged as not applied.
    """
    original = parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str,
        resource_json: dict[str, Any],
        resources_map: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        updated = original(logical_id, resource_json, resources_map, account_id, region_name)
        if updated is None and logical_id in resources_map._parsed_resources:
            log.warning(
                "localcloud: %s (%s) changed; moto cannot update it, kept as it was",
                logical_id,
                resource_json.get("Type"),
            )
            return resources_map._parsed_resources[logical_id]
        return updated

    parsing.parse_and_update_resource = parse_and_update_resource
