"""HTTP API stage throttling on the local gateway: the deployed stage's DefaultRouteSettings."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from localcloud.throttle import Limits, StageThrottle, TokenBucket, stage_limits
from tests.localcloud.conftest import Cloud, wait_for
from tests.localcloud.test_limits import template as echo_template
from tests.support import Clock

# -- the bucket -------------------------------------------------------------------------------


def test_a_bucket_admits_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock(100.0)
    bucket = TokenBucket(Limits(rate=2.0, burst=3), clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back at 2 per second
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 60  # never more than the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_stage_limits_come_from_default_route_settings_only_when_both_are_set() -> None:
    both = {"DefaultRouteSettings": {"ThrottlingRateLimit": "5.5", "ThrottlingBurstLimit": 10}}
    assert stage_limits(both) == Limits(rate=5.5, burst=10)
    assert stage_limits({"DefaultRouteSettings": {"ThrottlingRateLimit": 5}}) is None
    assert stage_limits({}) is None
    assert stage_limits(None) is None


def test_each_stage_has_its_bucket_and_a_changed_setting_starts_a_new_one() -> None:
    clock = Clock(100.0)
    throttle = StageThrottle(clock)

    def api(burst: int) -> dict[str, Any]:
        settings = {"ThrottlingRateLimit": 0, "ThrottlingBurstLimit": burst}
        return {"stages": {"$default": {"DefaultRouteSettings": settings}}}

    assert [throttle.admit("a", api(1)) for _ in range(2)] == [True, False]
    assert throttle.admit("b", api(1))  # another API's stage is not affected
    assert [throttle.admit("a", api(2)) for _ in range(3)] == [True, True, False]
    assert throttle.admit("a", {"stages": {"$default": {}}})  # no settings: not throttled


# -- through the gateway ----------------------------------------------------------------------


def throttled_template(burst: int) -> dict[str, Any]:
    template = copy.deepcopy(echo_template())
    for resource in template["Resources"].values():
        properties = resource["Properties"]
        if properties.get("FunctionName") == "lc-limits-echo":
            properties["FunctionName"] = "lc-throttle-echo"
    template["Resources"]["HttpApi"]["Properties"]["Name"] = "lc-throttle"
    # A rate so low nothing refills during the test: exactly `burst` requests get through.
    template["Resources"]["HttpApiStage"]["Properties"]["DefaultRouteSettings"] = {
        "ThrottlingRateLimit": 0.001,
        "ThrottlingBurstLimit": burst,
    }
    return template


@pytest.fixture(scope="module")
def api_host(cloud: Cloud) -> str:
    cloud.deploy("lc-throttle", throttled_template(burst=3))
    resources = cloud.client("cloudformation").describe_stack_resources(StackName="lc-throttle")
    api_id = next(
        r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r["LogicalResourceId"] == "HttpApi"
    )
    return f"{api_id}.execute-api.localhost"


def _requests_seen(cloud: Cloud) -> int:
    logs = cloud.client("logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/lc-throttle-echo")["events"]
    return sum(e["message"].startswith("http request") for e in events)


def test_requests_over_the_stage_burst_get_429_and_never_reach_the_function(
    cloud: Cloud, api_host: str
) -> None:
    answers = [
        requests.post(f"{cloud.api_url}/echo", data=b"x", headers={"host": api_host}, timeout=60)
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].json() == {"message": "Too Many Requests"}
    assert wait_for(lambda: _requests_seen(cloud) == 3)

    # A redeploy with a larger burst applies at once, as a stage update does on AWS.
    cloud.deploy("lc-throttle", throttled_template(burst=5))
    again = [
        requests.post(f"{cloud.api_url}/echo", data=b"x", headers={"host": api_host}, timeout=60)
        for _ in range(6)
    ]
    assert [a.status_code for a in again] == [200] * 5 + [429]
