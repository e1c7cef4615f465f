"""Each gate fails when a violation is seeded into a real compiled template.

The dev template is packaged once; each test seeds one violation into a copy and checks
that the gate meant to catch it fails, naming the resource.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gates import dlq, iam, iam_reference, monitoring, secrets, tools
from gates.findings import Finding
from gates.template import props
from tests.support import checkout_copy
from tests.templates.conftest import stage_settings

Load = Callable[[str], dict[str, Any]]
Write = Callable[[dict[str, Any]], Path]
ROOT = Path(__file__).resolve().parents[2]


def _new(
    gate: Callable[[dict[str, Any]], list[Finding]], before: dict[str, Any], after: dict[str, Any]
) -> list[Finding]:
    """Findings the seeded violation added (the clean template's own are reported elsewhere)."""
    baseline = set(gate(before))
    return [f for f in gate(after) if f not in baseline]


def _where(findings: list[Finding]) -> list[str]:
    return [f.where for f in findings]


def test_iam_gate_fails_a_wildcard_resource(load: Load) -> None:
    compiled = load("dev")
    role = compiled["Resources"]["ApiIamRoleLambdaExecution"]
    statements = props(role)["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": ["dynamodb:DeleteItem"], "Resource": "*"})

    findings = _new(iam.check, load("dev"), compiled)

    assert len(findings) == 1
    assert findings[0].where.startswith("ApiIamRoleLambdaExecution policy")
    assert "wildcard resource '*' for dynamodb:DeleteItem" in findings[0].message


def _api_statements(compiled: dict[str, Any]) -> list[dict[str, Any]]:
    role = compiled["Resources"]["ApiIamRoleLambdaExecution"]
    statements: list[dict[str, Any]] = props(role)["Policies"][0]["PolicyDocument"]["Statement"]
    return statements


def test_static_iam_check_fails_a_task_token_action_on_the_state_machine(load: Load) -> None:
    compiled = load("dev")
    (decision,) = [
        s for s in _api_statements(compiled) if s["Action"] == ["states:SendTaskSuccess"]
    ]
    decision["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
        ":stateMachine:docflow-dev-processing"
    }

    findings = _new(iam_reference.check, load("dev"), compiled)

    assert len(findings) == 1
    assert findings[0].where.startswith("ApiIamRoleLambdaExecution policy")
    assert findings[0].message.startswith(
        "RESOURCE_MISMATCH: states:SendTaskSuccess matches no resource (it has no resource type: "
        'only Resource "*" matches)'
    )


def test_static_iam_check_fails_an_unknown_action_and_a_malformed_arn(load: Load) -> None:
    compiled = load("dev")
    statements = _api_statements(compiled)
    statements.append({"Effect": "Allow", "Action": ["dynamodb:GetItems"], "Resource": "*"})
    # A Ref to a table answers its name, not its ARN.
    statements.append(
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": {"Ref": "DocumentsTable"}}
    )

    findings = _new(iam_reference.check, load("dev"), compiled)

    assert [f.message for f in findings] == [
        "UNKNOWN_ACTION: Unknown action dynamodb:GetItems",
        "INVALID_ARN: Does not have 6 parts (docflow-dev-documents)",
    ]


def test_dead_letter_gate_fails_when_intake_loses_its_failure_destination(load: Load) -> None:
    compiled = load("dev")
    del compiled["Resources"]["IntakeLambdaEvConf"]["Properties"]["DestinationConfig"]

    assert _where(_new(dlq.check, load("dev"), compiled)) == ["IntakeLambdaFunction"]


def test_dead_letter_gate_fails_a_queue_without_redrive(load: Load) -> None:
    compiled = load("dev")
    compiled["Resources"]["SeededWorkQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": "docflow-dev-seeded-work", "SqsManagedSseEnabled": True},
    }

    assert _where(_new(dlq.check, load("dev"), compiled)) == ["SeededWorkQueue"]


def test_secret_gate_fails_a_secret_in_an_environment_variable(load: Load) -> None:
    compiled = load("dev")
    variables = props(compiled["Resources"]["ApiLambdaFunction"])["Environment"]["Variables"]
    variables["WEBHOOK_SIGNING_SECRET"] = "s3cr3t-Value-From-A-Careless-Commit"

    assert _where(_new(secrets.check, load("dev"), compiled)) == [
        "ApiLambdaFunction environment WEBHOOK_SIGNING_SECRET"
    ]


def test_monitoring_gate_fails_when_an_alarm_is_missing(load: Load) -> None:
    compiled = load("dev")
    del compiled["Resources"]["IntakeLambdaFunctionThrottlesAlarm"]

    settings = stage_settings("dev")
    findings = _new(lambda t: monitoring.check(t, settings, "dev"), load("dev"), compiled)

    assert [str(f) for f in findings] == [
        "[monitoring] IntakeLambdaFunction: no alarm on Throttles (function throttles)"
    ]


def test_cfn_lint_fails_a_seeded_error(load: Load, write: Write) -> None:
    compiled = load("dev")
    alarm = compiled["Resources"]["ApiLambdaFunctionErrorsAlarm"]
    props(alarm)["ComparisonOperator"] = "MoreThanUsual"  # type: ignore[index]

    ok, output = tools.cfn_lint(write(compiled))

    assert not ok
    assert "ApiLambdaFunctionErrorsAlarm" in output or "MoreThanUsual" in output


def test_checkov_fails_a_seeded_public_bucket(load: Load, write: Write) -> None:
    compiled = load("dev")
    del props(compiled["Resources"]["DocumentsBucket"])["PublicAccessBlockConfiguration"]  # type: ignore[attr-defined]

    ok, output = tools.checkov(write(compiled))

    assert not ok
    assert "CKV_AWS_53" in output  # block public ACLs
    assert "DocumentsBucket" in output


def test_every_checkov_skip_states_its_reason() -> None:
    skips = tools.checkov_skips()
    assert skips
    assert {check: len(reason.split()) >= 8 for check, reason in skips.items()} == dict.fromkeys(
        skips, True
    )


def test_sls_stops_before_packaging_on_an_invalid_stage_config(tmp_path: Path) -> None:
    """The stage-controls plugin validates config/<stage>.yml at initialize, inside sls."""
    tree = checkout_copy(tmp_path / "docflow")
    broken = (tree / "config" / "dev.yml").read_text()
    (tree / "config" / "dev.yml").write_text(
        broken.replace("durationPercentOfTimeout: 80", "durationPercentOfTimeout: 180")
    )

    result = subprocess.run(  # noqa: S603 - the project's own sls, fixed arguments
        [str(ROOT / "node_modules" / ".bin" / "sls"), "print", "--stage", "dev"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "config/dev.yml (stage dev): key monitoring.durationPercentOfTimeout" in output
    assert "expected percent of the function timeout, 50-100, got 180" in output
