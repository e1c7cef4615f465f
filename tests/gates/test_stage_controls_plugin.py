"""The stage-controls plugin's generator and validator, run in node on synthetic input.

The generated alarms are checked by the Python monitoring gate, so the generator and the
gate cannot drift: whatever resource kinds the gate requires alarms for, the plugin covers.
"""

from __future__ import annotations

from typing import Any

from gates import config as stage_config
from gates import monitoring
from tests.gates.node import edit_resources, node, validate_stage_config
from tests.resources import arn_of, event_source_mapping, monthly_budget, on_failure, queue


def _generate(resources: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    script = (
        "const {monitoringResources, protectRetainedTables} ="
        " require('./plugins/stage-controls/lib/monitoring');"
        "const [resources, config] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2])];"
        "const generated = monitoringResources({resources, service: 'docflow', stage: 'dev',"
        " monitoring: config.monitoring});"
        "protectRetainedTables(resources, config.deletionProtection);"
        "console.log(JSON.stringify({...resources, ...generated}));"
    )
    generated: dict[str, Any] = node(script, resources, config)
    return generated


def _workflow_resources() -> dict[str, Any]:
    return {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "ProcessLambdaFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "docflow-dev-process",
                "Timeout": 30,
                "ReservedConcurrentExecutions": 3,
            },
        },
        "ProcessingStateMachine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {}},
        "LogStream": {"Type": "AWS::Kinesis::Stream", "Properties": {}},
        "NotifyQueue": queue(
            "docflow-dev-notify", RedrivePolicy={"deadLetterTargetArn": arn_of("NotifyDead")}
        ),
        "NotifyDead": queue("dead-letters"),
        "StreamFailures": queue("failures"),
        "LogMapping": event_source_mapping(
            arn_of("LogStream"), DestinationConfig=on_failure("StreamFailures")
        ),
        # The function consumes the table's stream and the notify queue.
        "TableMapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": {"Ref": "ProcessLambdaFunction"},
                "EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]},
            },
        },
        "QueueMapping": event_source_mapping(arn_of("NotifyQueue"), "ProcessLambdaFunction"),
        "HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
        "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": {}},
        "MonthlyBudget": monthly_budget(),
    }


def test_generated_alarms_cover_every_resource_kind_the_gate_requires() -> None:
    config = stage_config.load_stage("prod")
    config["reservedConcurrency"] = {}
    config["tracing"] = False  # tracing is the functions' own setting, not generated

    resources = _generate(_workflow_resources(), config)

    assert monitoring.check({"Resources": resources}, config, "dev") == []
    alarms = {rid for rid, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == {
        "ProcessLambdaFunctionErrorsAlarm",
        "ProcessLambdaFunctionThrottlesAlarm",
        "ProcessLambdaFunctionDurationAlarm",
        "ProcessingStateMachineFailedAlarm",
        "ProcessingStateMachineTimedOutAlarm",
        "ProcessingStateMachineThrottledAlarm",
        "ProcessingStateMachineAbortedAlarm",
        "LogStreamIteratorAgeAlarm",
        # the stream consumer's lag and the consumed queue's oldest message
        "ProcessLambdaFunctionIteratorAgeAlarm",
        "NotifyQueueOldestMessageAlarm",
        "NotifyDeadDepthAlarm",
        "StreamFailuresDepthAlarm",
        # the dead-letter queue of the alarm topic's e-mail subscriptions, generated with them
        "AlarmTopicDeadLetterQueueDepthAlarm",
        "HttpApi5xxRateAlarm",
    }
    duration = resources["ProcessLambdaFunctionDurationAlarm"]["Properties"]
    assert duration["Threshold"] == 30_000 * config["monitoring"]["durationPercentOfTimeout"] / 100
    assert resources["Table"]["Properties"]["DeletionProtectionEnabled"] is True


def test_without_the_generator_the_gate_fails_on_the_same_resources() -> None:
    config = stage_config.load_stage("dev")
    config["reservedConcurrency"] = {}

    findings = monitoring.check({"Resources": _workflow_resources()}, config, "dev")

    assert {f.where for f in findings} >= {
        "ProcessLambdaFunction",
        "ProcessingStateMachine",
        "LogStream",
        "NotifyQueue",
        "NotifyDead",
        "StreamFailures",
        "HttpApi",
    }
    messages = {str(f) for f in findings}
    assert {
        "[monitoring] ProcessingStateMachine: no alarm on ExecutionsThrottled (throttled "
        "executions)",
        "[monitoring] ProcessingStateMachine: no alarm on ExecutionsAborted (aborted executions)",
        "[monitoring] ProcessLambdaFunction: no alarm on IteratorAge (DynamoDB stream consumer's "
        "iterator age)",
        "[monitoring] NotifyQueue: no alarm on ApproximateAgeOfOldestMessage (age of the consumed "
        "queue's oldest message)",
    } <= messages


def test_node_and_python_validators_read_the_same_schema() -> None:
    """The plugin (ajv) and `python -m gates config` (jsonschema) agree on a seeded mistake."""
    config = stage_config.load_stage("prod")
    config["budget"]["monthlyUsd"] = -5
    assert validate_stage_config(config) == [
        "config/prod.yml (stage prod): key budget.monthlyUsd: expected USD per month, above 0,"
        " got -5 (must be > 0)"
    ]


# --- roles (lib/roles.js) ------------------------------------------------------------------


def _clean_roles(template: dict[str, Any]) -> dict[str, Any]:
    script = (
        "const {removeUnusedSharedRole, dropArnScopedListActions} ="
        " require('./plugins/stage-controls/lib/roles');"
        "const template = JSON.parse(process.argv[1]);"
        "const dropped = dropArnScopedListActions(template.Resources);"
        "const shared = removeUnusedSharedRole(template);"
        "console.log(JSON.stringify({template, dropped, shared}));"
    )
    result: dict[str, Any] = node(script, template)
    return result


def _role(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"Policies": [{"PolicyDocument": {"Statement": list(statements)}}]},
    }


def _function(role: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "DependsOn": [role],
        "Properties": {"Role": {"Fn::GetAtt": [role, "Arn"]}},
    }


def test_the_shared_role_is_removed_when_every_function_has_its_own() -> None:
    template = {
        "Resources": {
            "IamRoleLambdaExecution": _role(),
            "SyncIamRoleLambdaExecution": _role(),
            "SyncLambdaFunction": _function("SyncIamRoleLambdaExecution"),
        }
    }

    result = _clean_roles(template)

    assert result["shared"] == "removed"
    assert sorted(result["template"]["Resources"]) == [
        "SyncIamRoleLambdaExecution",
        "SyncLambdaFunction",
    ]


def test_the_shared_role_is_kept_while_anything_refers_to_it() -> None:
    referring = [
        _function("IamRoleLambdaExecution"),
        {"Type": "AWS::Lambda::EventSourceMapping", "DependsOn": "IamRoleLambdaExecution"},
        {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Value": {"Fn::Sub": "${IamRoleLambdaExecution.Arn}"}},
        },
    ]
    for resource in referring:
        template = {"Resources": {"IamRoleLambdaExecution": _role(), "User": resource}}

        result = _clean_roles(template)

        assert result["shared"] == "referenced", resource
        assert "IamRoleLambdaExecution" in result["template"]["Resources"]


def test_list_streams_scoped_to_a_stream_arn_is_dropped_and_kept_on_star() -> None:
    stream = {"Fn::GetAtt": ["DocumentsTable", "StreamArn"]}
    template = {
        "Resources": {
            "SyncIamRoleLambdaExecution": _role(
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetRecords", "dynamodb:ListStreams"],
                    "Resource": [stream],
                },
                {"Effect": "Allow", "Action": ["kinesis:ListStreams"], "Resource": [stream]},
                {"Effect": "Allow", "Action": ["dynamodb:ListStreams"], "Resource": "*"},
            )
        }
    }

    result = _clean_roles(template)

    role = result["template"]["Resources"]["SyncIamRoleLambdaExecution"]
    assert result["dropped"] == 2
    assert role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": ["dynamodb:GetRecords"], "Resource": [stream]},
        {"Effect": "Allow", "Action": ["dynamodb:ListStreams"], "Resource": "*"},
    ]


# --- canary (lib/canary.js) ----------------------------------------------------------------


def _canary(call: str, *args: Any) -> Any:
    script = (
        "const canary = require('./plugins/stage-controls/lib/canary');"
        "const args = process.argv.slice(1).map((a) => JSON.parse(a));"
        f"try {{ console.log(JSON.stringify({{ok: canary.{call}(...args)}})); }}"
        " catch (e) { console.log(JSON.stringify({error: e.message})); }"
    )
    return node(script, *args)


def test_canary_settings_enable_the_one_stage_and_roll_back_on_the_functions_alarms() -> None:
    functions = {
        "api": {"logicalId": "ApiLambdaFunction", "fn": {"events": [{"httpApi": "GET /x"}]}},
        "intake": {"logicalId": "IntakeLambdaFunction", "fn": {"events": []}},
    }
    canary = {"functions": ["api", "intake"], "type": "Canary10Percent5Minutes", "alias": "Live"}

    result = _canary(
        "settings",
        {"canary": canary, "stage": "prod", "functions": functions, "httpApiId": "HttpApi"},
    )

    assert result == {
        "ok": {
            "custom": {
                "stages": ["prod"],
                "type": "Canary10Percent5Minutes",
                "alias": "Live",
                "codeDeployRole": {"Fn::GetAtt": ["CanaryDeployRole", "Arn"]},
            },
            "perFunction": {
                # The api answers 500 from its error boundary: the API's 5xx rate counts too.
                "api": {"alarms": ["ApiLambdaFunctionErrorsAlarm", "HttpApi5xxRateAlarm"]},
                "intake": {"alarms": ["IntakeLambdaFunctionErrorsAlarm"]},
            },
        }
    }


def test_the_canary_role_names_only_the_shifted_functions_and_their_alarms() -> None:
    resources = {
        "IntakeLambdaFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": "docflow-prod-intake"},
        },
        "IntakeLambdaFunctionErrorsAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": "docflow-prod-intake-errors"},
        },
    }
    role = _canary(
        "serviceRole",
        {
            "resources": resources,
            "prefix": "docflow-prod",
            "functionIds": ["IntakeLambdaFunction"],
            "alias": "Live",
            "alarmIds": ["IntakeLambdaFunctionErrorsAlarm"],
        },
    )["ok"]

    assert "ManagedPolicyArns" not in role["Properties"]
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    prefix = "arn:${AWS::Partition}:"
    region = "${AWS::Region}:${AWS::AccountId}"
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (
            ["lambda:GetAlias", "lambda:UpdateAlias"],
            [{"Fn::Sub": f"{prefix}lambda:{region}:function:docflow-prod-intake"}],
        ),
        (
            ["lambda:GetProvisionedConcurrencyConfig"],
            [{"Fn::Sub": f"{prefix}lambda:{region}:function:docflow-prod-intake:Live"}],
        ),
        (
            ["cloudwatch:DescribeAlarms"],
            [{"Fn::Sub": f"{prefix}cloudwatch:{region}:alarm:docflow-prod-intake-errors"}],
        ),
    ]
    missing = _canary(
        "serviceRole",
        {
            "resources": resources,
            "prefix": "docflow-prod",
            "functionIds": ["IntakeLambdaFunction"],
            "alias": "Live",
            "alarmIds": ["ApiLambdaFunctionErrorsAlarm"],
        },
    )
    assert missing == {"error": "canary: no alarm ApiLambdaFunctionErrorsAlarm to roll back on"}


def test_asynchronous_invocation_settings_follow_the_alias() -> None:
    resources: dict[str, Any] = {
        "IntakeLambdaEvConf": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {"FunctionName": {"Ref": "IntakeLambdaFunction"}, "Qualifier": "$LATEST"},
        },
        "SweepLambdaEvConf": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {"FunctionName": {"Ref": "SweepLambdaFunction"}, "Qualifier": "$LATEST"},
        },
    }
    options = {"functionIds": ["IntakeLambdaFunction"], "alias": "Live"}
    # Without the canary plugin's alias (plugin missing or listed first), the build stops.
    assert _canary("retarget", resources, options) == {
        "error": "canary: no alias IntakeLambdaFunctionAliasLive; list "
        "serverless-plugin-canary-deployments after ./plugins/stage-controls"
    }

    resources["IntakeLambdaFunctionAliasLive"] = {"Type": "AWS::Lambda::Alias", "Properties": {}}
    result = edit_resources("./plugins/stage-controls/lib/canary", "retarget", resources, options)

    assert result["returned"] == ["IntakeLambdaEvConf"]
    intake = result["resources"]["IntakeLambdaEvConf"]
    assert (intake["Properties"]["Qualifier"], intake["DependsOn"]) == (
        "Live",
        ["IntakeLambdaFunctionAliasLive"],
    )
    assert result["resources"]["SweepLambdaEvConf"]["Properties"]["Qualifier"] == "$LATEST"


def test_canary_functions_must_be_defined_functions() -> None:
    config = stage_config.load_stage("prod")
    config["canary"]["functions"] = ["api", "intkae"]
    names = frozenset(config["reservedConcurrency"])
    from_node = validate_stage_config(config, sorted(names))
    from_python = [str(f) for f in stage_config.validate_stage("prod", config, None, names)]

    expected = (
        "config/prod.yml (stage prod): key canary.functions: expected names of functions "
        f"({', '.join(sorted(names))}), got "
    )
    assert from_node == [expected + '"intkae"']
    assert from_python == ["[config] " + expected + "'intkae'"]


# --- cold-start controls (lib/coldstart.js) ------------------------------------------------


def _both_validators(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    names = frozenset(config["reservedConcurrency"])
    python = [
        str(f).removeprefix("[config] ")
        for f in stage_config.validate_stage("prod", config, None, names)
    ]
    return validate_stage_config(config), python


def test_cold_start_controls_need_the_canary_alias_and_fit_the_reservation() -> None:
    config = stage_config.load_stage("prod")
    config["coldStart"] = {"api": {"provisionedConcurrency": 150}, "intake": {"snapStart": True}}
    config["canary"]["functions"] = ["api"]

    node, python = _both_validators(config)

    where = "config/prod.yml (stage prod): "
    expected = [
        where + "key coldStart.api.provisionedConcurrency: expected at most "
        "reservedConcurrency.api (100), got 150",
        where + "key coldStart.intake: expected a function in canary.functions (api): "
        "provisioned concurrency and SnapStart apply to the alias of published versions",
    ]
    assert node == python == expected


def test_a_function_gets_provisioned_concurrency_or_snapstart_not_both() -> None:
    config = stage_config.load_stage("prod")
    config["coldStart"] = {"api": {"provisionedConcurrency": 2, "snapStart": True}}

    node, python = _both_validators(config)

    expected = (
        "config/prod.yml (stage prod): key coldStart.api: expected either "
        "{provisionedConcurrency: 1-1000} or {snapStart: true} (AWS allows one of them per "
        "function)"
    )
    # ajv also names each branch's extra key; both name the one choice to make.
    assert [m for m in node if m.startswith(expected)] == node[-1:], node
    assert [m for m in python if m.startswith(expected)] == python, python


def test_cold_start_controls_land_on_the_alias_and_the_function() -> None:
    resources = {
        "ApiLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "ApiLambdaFunctionAliasLive": {"Type": "AWS::Lambda::Alias", "Properties": {}},
        "IntakeLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "IntakeLambdaVersionAbc": {
            "Type": "AWS::Lambda::Version",
            "Properties": {
                "FunctionName": {"Ref": "IntakeLambdaFunction"},
                "Description": "Checks",
            },
        },
    }
    options = {
        "coldStart": {"api": {"provisionedConcurrency": 3}, "intake": {"snapStart": True}},
        "functionIds": {"api": "ApiLambdaFunction", "intake": "IntakeLambdaFunction"},
        "alias": "Live",
    }
    result = edit_resources("./plugins/stage-controls/lib/coldstart", "apply", resources, options)

    out = result["resources"]
    assert out["ApiLambdaFunctionAliasLive"]["Properties"] == {
        "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 3}
    }
    assert "SnapStart" not in out["ApiLambdaFunction"]["Properties"]
    assert out["IntakeLambdaFunction"]["Properties"] == {
        "SnapStart": {"ApplyOn": "PublishedVersions"}
    }
    # A changed description replaces the version: this deploy publishes one with a snapshot.
    assert out["IntakeLambdaVersionAbc"]["Properties"]["Description"] == "Checks (SnapStart)"
    assert result["returned"] == {
        "api": "provisioned concurrency 3 on Live",
        "intake": "SnapStart on published versions",
    }
