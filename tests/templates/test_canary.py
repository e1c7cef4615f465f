"""Prod shifts api and intake through CodeDeploy with alarm rollback; dev and local do not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gates.template import Resolver, props, resources, target_id
from tests.templates.conftest import stage_settings

Load = Callable[[str], dict[str, Any]]

SHIFTED = {"ApiLambdaFunction": "api", "IntakeLambdaFunction": "intake"}


def test_prod_has_a_deployment_group_per_shifted_function_with_its_alarms(load: Load) -> None:
    compiled = load("prod")
    canary = stage_settings("prod")["canary"]
    assert canary["functions"] == ["api", "intake"]
    groups = resources(compiled, "AWS::CodeDeploy::DeploymentGroup")
    alarms = resources(compiled, "AWS::CloudWatch::Alarm")

    assert sorted(groups) == [
        "ApiLambdaFunctionDeploymentGroup",
        "IntakeLambdaFunctionDeploymentGroup",
    ]
    rollback_alarms = {}
    for rid, group in groups.items():
        body = props(group)
        assert body["DeploymentConfigName"] == {
            "Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": canary["type"]}]
        }
        assert body["DeploymentStyle"] == {
            "DeploymentType": "BLUE_GREEN",
            "DeploymentOption": "WITH_TRAFFIC_CONTROL",
        }
        assert body["AutoRollbackConfiguration"]["Enabled"] is True
        assert "DEPLOYMENT_STOP_ON_ALARM" in body["AutoRollbackConfiguration"]["Events"]
        assert body["AlarmConfiguration"]["Enabled"] is True
        assert body["ServiceRoleArn"] == {"Fn::GetAtt": ["CanaryDeployRole", "Arn"]}
        names = [target_id(a["Name"]) for a in body["AlarmConfiguration"]["Alarms"]]
        assert all(name in alarms for name in names), names
        rollback_alarms[rid.removesuffix("DeploymentGroup")] = names

    assert rollback_alarms == {
        "ApiLambdaFunction": ["ApiLambdaFunctionErrorsAlarm", "HttpApi5xxRateAlarm"],
        "IntakeLambdaFunction": ["IntakeLambdaFunctionErrorsAlarm"],
    }
    # Each is the function's own error alarm (or the API's 5xx rate), on the alarm topic.
    errors = props(alarms["IntakeLambdaFunctionErrorsAlarm"])
    assert errors["MetricName"] == "Errors"
    assert errors["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "IntakeLambdaFunction"}}
    ]


def test_prod_callers_reach_the_alias_that_codedeploy_shifts(load: Load) -> None:
    compiled = load("prod")
    alias_name = stage_settings("prod")["canary"]["alias"]
    aliases = resources(compiled, "AWS::Lambda::Alias")
    versions = resources(compiled, "AWS::Lambda::Version")
    assert sorted(aliases) == [f"{fn}Alias{alias_name}" for fn in sorted(SHIFTED)]

    for function in SHIFTED:
        alias_id = f"{function}Alias{alias_name}"
        alias = aliases[alias_id]
        assert props(alias)["Name"] == alias_name
        assert props(alias)["FunctionName"] == {"Ref": function}
        version = props(alias)["FunctionVersion"]["Fn::GetAtt"][0]
        assert props(versions[version])["FunctionName"] == {"Ref": function}
        assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"] == {
            "Ref": f"{function}DeploymentGroup"
        }
        # Nothing invokes the shifted function unqualified any more.
        for rid, permission in resources(compiled, "AWS::Lambda::Permission").items():
            assert target_id(props(permission)["FunctionName"]) != function, rid

    resolve = Resolver(compiled).resolve
    integration = resolve(props(compiled["Resources"]["HttpApiIntegrationApi"])["IntegrationUri"])
    assert integration.endswith(f":function:docflow-prod-api:{alias_name}/invocations")
    notification = props(compiled["Resources"]["DocumentsBucket"])["NotificationConfiguration"]
    assert [c["Function"] for c in notification["LambdaConfigurations"]] == [
        {"Ref": f"IntakeLambdaFunctionAlias{alias_name}"}
    ]
    # S3's retries and on-failure queue apply to what S3 invokes: the alias.
    config = props(compiled["Resources"]["IntakeLambdaEvConf"])
    assert (config["FunctionName"], config["Qualifier"]) == (
        {"Ref": "IntakeLambdaFunction"},
        alias_name,
    )


def test_the_codedeploy_role_is_scoped_to_the_shifted_aliases_and_their_alarms(load: Load) -> None:
    compiled = load("prod")
    role = props(compiled["Resources"]["CanaryDeployRole"])
    assert "ManagedPolicyArns" not in role  # the plugin's own role attaches AWSLambda_FullAccess
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codedeploy.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    resolve = Resolver(compiled).resolve
    (policy,) = role["Policies"]
    granted = {
        action: sorted(resolve(s["Resource"]))
        for s in policy["PolicyDocument"]["Statement"]
        for action in s["Action"]
    }
    function = "arn:aws:lambda:us-east-1:123456789012:function:docflow-prod-"
    alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:docflow-prod-"
    assert granted == {
        "lambda:GetAlias": [f"{function}api", f"{function}intake"],
        "lambda:UpdateAlias": [f"{function}api", f"{function}intake"],
        "lambda:GetProvisionedConcurrencyConfig": [f"{function}api:Live", f"{function}intake:Live"],
        "cloudwatch:DescribeAlarms": [
            f"{alarm}HttpApi-5xx-rate",
            f"{alarm}api-errors",
            f"{alarm}intake-errors",
        ],
    }
    assert "CodeDeployServiceRole" not in compiled["Resources"]


@pytest.mark.parametrize("stage", ["dev", "local"])
def test_dev_and_local_deploy_all_at_once(load: Load, stage: str) -> None:
    compiled = load(stage)
    assert stage_settings(stage)["canary"] is None
    kinds = {r["Type"] for r in compiled["Resources"].values()}
    assert kinds.isdisjoint(
        {"AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup", "AWS::Lambda::Alias"}
    )
    assert "CanaryDeployRole" not in compiled["Resources"]
    integration = props(compiled["Resources"]["HttpApiIntegrationApi"])["IntegrationUri"]
    assert integration == {"Fn::GetAtt": ["ApiLambdaFunction", "Arn"]}
    qualifiers = {
        props(r)["Qualifier"]
        for r in resources(compiled, "AWS::Lambda::EventInvokeConfig").values()
    }
    assert qualifiers == {"$LATEST"}


def test_prod_cold_start_controls_are_on_the_alias_the_canary_shifts(load: Load) -> None:
    compiled = load("prod")
    cold_start = stage_settings("prod")["coldStart"]
    alias_name = stage_settings("prod")["canary"]["alias"]
    assert cold_start, "prod turns on a cold-start control for the api or intake"

    for name, setting in cold_start.items():
        function = next(fid for fid, fname in SHIFTED.items() if fname == name)
        alias = props(compiled["Resources"][f"{function}Alias{alias_name}"])
        snap_start = props(compiled["Resources"][function]).get("SnapStart")
        if "provisionedConcurrency" in setting:
            assert alias["ProvisionedConcurrencyConfig"] == {
                "ProvisionedConcurrentExecutions": setting["provisionedConcurrency"]
            }
            assert snap_start is None
        else:
            assert snap_start == {"ApplyOn": "PublishedVersions"}
            assert "ProvisionedConcurrencyConfig" not in alias
    # Only the aliases carry it: osls's own "provisioned" alias is not created.
    provisioned = [
        rid
        for rid, r in compiled["Resources"].items()
        if "ProvisionedConcurrencyConfig" in props(r) or "SnapStart" in props(r)
    ]
    assert sorted(provisioned) == sorted(
        f"{fid}Alias{alias_name}" if "provisionedConcurrency" in cold_start[fname] else fid
        for fid, fname in SHIFTED.items()
        if fname in cold_start
    )


@pytest.mark.parametrize("stage", ["dev", "local"])
def test_dev_and_local_have_no_cold_start_controls(load: Load, stage: str) -> None:
    compiled = load(stage)
    assert stage_settings(stage)["coldStart"] == {}
    for rid, resource in compiled["Resources"].items():
        assert "SnapStart" not in props(resource), rid
        assert "ProvisionedConcurrencyConfig" not in props(resource), rid
