"""The events workflows' template fragments and stage config obey the rules they rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from docflow.documents.events import SUBSCRIBED, DocumentEvent
from docflow.notify.model import render
from gates.iam import STAR_RESOURCE_ACTIONS
from tests.support import ROOT, load_template_fragment

STAGES = ("local", "dev", "prod")


def config(stage: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "config" / f"{stage}.yml").read_text()))


def functions() -> dict[str, Any]:
    return dict(load_template_fragment("functions/events.yml"))


@pytest.mark.parametrize("stage", STAGES)
def test_queue_visibility_is_at_least_six_times_the_consumer_timeout(stage: str) -> None:
    values = config(stage)
    for consumer in ("notify", "webhooks"):
        timeout = values["functions"][consumer]["timeout"]
        queue = values["fanout"][consumer]
        window = values["fanout"]["batchingWindowSeconds"]
        # AWS's guidance, also enforced by the deployment-limits plugin at package time.
        assert queue["visibilityTimeout"] >= 6 * timeout + window, (stage, consumer)


def test_every_fanout_queue_has_a_dead_letter_queue_and_partial_batch_responses() -> None:
    resources = load_template_fragment("resources/events.yml")["Resources"]
    for logical_id in ("NotifyQueue", "WebhooksQueue"):
        redrive = resources[logical_id]["Properties"]["RedrivePolicy"]
        dead_letter = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert resources[dead_letter]["Type"] == "AWS::SQS::Queue"
        assert resources[dead_letter]["Properties"]["MessageRetentionPeriod"] == 1209600
    for name in ("notify", "webhooks"):
        (event,) = functions()[name]["events"]
        assert event["sqs"]["functionResponseType"] == "ReportBatchItemFailures"
    for name in ("sync", "analytics"):
        (event,) = functions()[name]["events"]
        stream = event["stream"]
        assert stream["functionResponseType"] == "ReportBatchItemFailures"
        assert stream["bisectBatchOnFunctionError"] is True
        assert stream["destinations"]["onFailure"]["type"] == "sqs"
    assert "tumblingWindowInSeconds" in functions()["analytics"]["events"][0]["stream"]


def test_subscriptions_filter_on_the_event_type_attribute() -> None:
    resources = load_template_fragment("resources/events.yml")["Resources"]
    for logical_id in ("NotifySubscription", "WebhooksSubscription"):
        properties = resources[logical_id]["Properties"]
        assert properties["FilterPolicyScope"] == "MessageAttributes"
        assert set(properties["FilterPolicy"]["event_type"]) == {
            "document.processed",
            "document.failed",
            "document.rejected",
        }


def test_data_stores_are_encrypted_and_the_lake_is_private() -> None:
    resources = load_template_fragment("resources/events.yml")["Resources"]
    bucket = resources["AnalyticsBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert resources["LogStream"]["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS"
    for resource in resources.values():
        if resource["Type"] == "AWS::SQS::Queue":
            assert resource["Properties"]["SqsManagedSseEnabled"] is True
        if resource["Type"] == "AWS::DynamoDB::Table":
            assert resource["Properties"]["SSESpecification"]["SSEEnabled"] is True


def test_iam_wildcards_are_only_where_aws_requires_them_and_say_why() -> None:
    text = (ROOT / "functions" / "events.yml").read_text().splitlines()
    for name, function in functions().items():
        for statement in function["iamRoleStatements"]:
            resource = statement["Resource"]
            rendered = str(resource)
            if rendered == "*":
                # Only actions without a resource type, each listed with its reason.
                assert set(statement["Action"]) <= set(STAR_RESOURCE_ACTIONS), name
                continue
            if "*" in rendered and "/${self:custom.config.sync.lakePrefix}/*" not in rendered:
                # The statement's comment explains the wildcard (SES identities, executions).
                action = statement["Action"][0]
                start = next(i for i, line in enumerate(text) if action in line)
                window = "\n".join(text[max(0, start - 6) : start + 3])
                assert "#" in window, (name, action)


def test_handlers_exist_for_every_function() -> None:
    for function in functions().values():
        module, _, attribute = function["handler"].rpartition(".")
        path = ROOT / Path(module + ".py")
        assert path.exists(), path
        assert f"def {attribute}(" in path.read_text()


def test_the_subscriptions_filter_on_the_event_names_the_code_defines() -> None:
    # A renamed or added event would otherwise be dropped by SNS before any consumer saw it.
    resources = load_template_fragment("resources/events.yml")["Resources"]
    subscriptions = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::SNS::Subscription"
    }
    assert set(subscriptions) == {"NotifySubscription", "WebhooksSubscription"}
    for logical_id, properties in subscriptions.items():
        assert properties["FilterPolicyScope"] == "MessageAttributes", logical_id
        assert sorted(properties["FilterPolicy"]["event_type"]) == sorted(SUBSCRIBED), logical_id


def test_every_subscribed_event_has_an_email() -> None:
    owner = "alice"
    for event_type in SUBSCRIBED:
        event = DocumentEvent.parse({"document_id": "doc_1"}, {"event_type": event_type}, "m-1")
        email = render(event, owner, "ledger.csv", "alice@example.com", "dev")
        assert "ledger.csv" in email.subject, event_type
