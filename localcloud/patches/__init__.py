"""Compatibility patches: what moto 5.2.5 lacks for `sls deploy` and event flow.

Each patch is small and named.

Every patch says in its docstring what AWS does and is tested in tests/localcloud. They are applied
once, in the server process, before the first request. None routes around the template: each one
makes moto apply a part of the deployed template (or behave at run time) the way AWS does.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata

from localcloud.patches import (
    awslambda,
    cloudformation,
    consistency,
    errors,
    events,
    lambda_checks,
    logs,
    mail,
    payloads,
    schedules,
    sqs,
    stepfunctions,
    streams,
    tracing,
)
from localcloud.patches.context import LocalCloud
from localcloud.xray.store import queries as store_queries

Patch = Callable[[LocalCloud], None]

MOTO_VERSION = "5.2.5"
"""The moto release these patches were written and tested for (requirements-dev.txt pins it).

They replace moto internals by name; another release may have moved or changed them, and a
patch that no longer applies would make the local stack quietly more lenient than AWS."""


class MotoVersionError(RuntimeError):
    """The installed moto is not the release the patches were written for."""


def check_moto_version(installed: str | None = None) -> None:
    found = installed if installed is not None else metadata.version("moto")
    if found != MOTO_VERSION:
        raise MotoVersionError(
            f"localcloud's patches are written for moto {MOTO_VERSION}, this environment has "
            f"moto {found}: run `make venv` (requirements-dev.txt pins moto), or port the "
            "patches in localcloud/patches and change MOTO_VERSION"
        )


PATCHES: tuple[tuple[str, Patch], ...] = (
    ("unsupported-operations", errors.unsupported_operations),
    ("lambda-process-runner", awslambda.process_runner),
    ("lambda-cfn-properties", awslambda.cloudformation_properties),
    ("lambda-event-invoke-config", awslambda.event_invoke_config),
    ("cfn-validate-errors-only", cloudformation.validate_errors_only),
    ("cfn-sub-variable-map", cloudformation.sub_variable_map),
    ("cfn-change-set-outputs", cloudformation.change_set_outputs),
    ("cfn-local-api-url", cloudformation.local_api_url),
    ("cfn-deleted-stacks", cloudformation.deleted_stacks),
    ("cfn-s3-bucket-properties", cloudformation.s3_bucket_properties),
    ("cfn-sns-subscription", cloudformation.sns_subscription),
    ("cfn-s3-bucket-policy", cloudformation.s3_bucket_policy),
    ("cfn-queue-and-topic-policies", cloudformation.queue_and_topic_policies),
    ("cfn-apigatewayv2", cloudformation.apigatewayv2),
    ("cfn-resources-without-model", cloudformation.resources_without_model),
    ("cfn-keep-resources-moto-cannot-update", cloudformation.keep_resources_moto_cannot_update),
    ("cfn-resource-failure-events", lambda_checks.cfn_resource_failures),
    ("cfn-iam-role-update", lambda_checks.cfn_iam_role_update),
    ("cfn-update-dependencies-first", lambda_checks.cfn_update_dependencies_first),
    ("lambda-deploy-checks", lambda_checks.lambda_deploy_checks),
    ("s3-event-async", events.s3_notification_async),
    ("sns-lambda-event", events.sns_lambda_event),
    ("sqs-event-source-poller", sqs.event_source_poller),
    ("sqs-set-attributes-keeps-policy", consistency.sqs_attributes_keep_the_policy),
    ("dynamodb-atomic-conditional-writes", consistency.dynamodb_atomic_writes),
    ("stream-pollers", streams.stream_pollers),
    ("logs-subscription-filters", logs.subscription_filters),
    ("logs-embedded-metrics", logs.embedded_metrics),
    ("cloudwatch-list-metrics-once", logs.list_metrics_once),
    ("lambda-response-payload-limit", payloads.lambda_response_limit),
    ("sqs-message-size-in-bytes", payloads.sqs_message_limits),
    ("kinesis-record-size", payloads.kinesis_record_limits),
    ("eventbridge-schedules-and-lambda-targets", schedules.scheduled_rules),
    ("ses-sent-mail-log", mail.sent_mail_log),
    ("stepfunctions-execute", stepfunctions.execute_state_machines),
    ("stepfunctions-role-credentials", stepfunctions.state_machine_role_credentials),
    # After the two above: it wraps what they installed.
    ("stepfunctions-xray-segments", tracing.step_functions),
    ("cfn-state-machine-tracing", tracing.state_machine_tracing),
    ("xray-trace-queries", store_queries),
)

_applied: list[str] = []


def apply_all(cloud: LocalCloud) -> list[str]:
    """Apply every patch once; returns the names applied."""
    if not _applied:
        check_moto_version()
        LocalCloud.current = cloud
        for name, patch in PATCHES:
            patch(cloud)
            _applied.append(name)
        # moto caches the CloudFormation type -> model map; new models must be seen.
        from moto.cloudformation import parsing

        parsing.get_model_list.cache_clear()
        parsing.get_model_map.cache_clear()
        parsing.get_name_type_map.cache_clear()
    else:
        LocalCloud.current = cloud
    return list(_applied)
