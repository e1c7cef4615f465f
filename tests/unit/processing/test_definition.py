"""The processing state machine: shape, transitions, and its error-handling contract."""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import errors
from tests.processing_definition import (
    all_states,
    compiled_definition,
    definition,
    error_names,
    function_arn,
)
from tests.support import ROOT, load_template_fragment

# Errors the Lambda service itself raises around an invocation (AWS recommends retrying them).
LAMBDA_SERVICE_ERRORS = frozenset(
    {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    }
)
STAGES = ["local", "dev", "prod"]


def targets(state: dict[str, Any]) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [choice["Next"] for choice in state.get("Choices", [])]
    found += [clause["Next"] for clause in state.get("Catch", [])]
    return found


def check_graph(states: dict[str, Any], start: str) -> None:
    for name, state in states.items():
        for target in targets(state):
            assert target in states, f"{name} goes to unknown state {target}"
        terminal = state["Type"] in {"Succeed", "Fail"} or state.get("End") is True
        assert terminal or targets(state), f"{name} is a dead end"
    seen, queue = set(), [start]
    while queue:
        name = queue.pop()
        if name not in seen:
            seen.add(name)
            queue += targets(states[name])
    assert seen == set(states), f"unreachable: {set(states) - seen}"
    for state in states.values():
        if state["Type"] == "Map":
            processor = state["ItemProcessor"]
            check_graph(processor["States"], processor["StartAt"])


def check_definition(machine: dict[str, Any], timeout: int) -> None:
    states = machine["States"]
    check_graph(states, machine["StartAt"])
    tasks = [(name, state) for name, state in all_states(states) if state["Type"] == "Task"]
    assert len(tasks) == 7
    for name, state in tasks:
        retries = {tuple(r["ErrorEquals"]): r for r in state.get("Retry", [])}
        transient = retries.get(("TransientError",))
        assert transient is not None, f"{name} does not retry TransientError"
        assert transient["JitterStrategy"] == "FULL"
        assert 1 <= transient["MaxAttempts"] <= 10
        assert transient["BackoffRate"] > 1
        assert transient["MaxDelaySeconds"] >= transient["IntervalSeconds"]
    for name, state in states.items():
        if state["Type"] in {"Task", "Map"} and name != "Compensate":
            catch_all = [c for c in state["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
            assert [c["Next"] for c in catch_all] == ["Compensate"], name
            assert catch_all[0]["ResultPath"] == "$.error"
    assert [c["Next"] for c in states["Compensate"]["Catch"]] == ["Failed"]
    approval = states["RequestApproval"]
    assert approval["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert approval["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert approval["TimeoutSeconds"] == timeout
    assert approval["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "ResultPath": "$.error",
        "Next": "Reject",
    }


@pytest.mark.parametrize("stage", STAGES)
def test_the_definition_is_complete_and_connected(stage: str) -> None:
    config = yaml.safe_load((ROOT / "config" / f"{stage}.yml").read_text())
    check_definition(definition(stage), config["processing"]["approvalTimeoutSeconds"])


def test_every_task_invokes_a_processing_function_that_exists() -> None:
    functions = load_template_fragment("functions/processing.yml")
    arns = {function_arn(name): spec for name, spec in functions.items()}
    used = set()
    for _, state in all_states(definition()["States"]):
        if state["Type"] == "Task":
            arn = state.get("Parameters", {}).get("FunctionName") or state["Resource"]
            assert arn in arns, f"{arn} is not declared in functions/processing.yml"
            used.add(arn)
            module, _, attribute = arns[arn]["handler"].replace("/", ".").rpartition(".")
            assert (ROOT / (module.replace(".", "/") + ".py")).exists()
            assert attribute == "handler"
    assert used == set(arns), "a processing function no state invokes"


def _docflow_error_classes() -> set[type[errors.DocflowError]]:
    # What the processing tasks can raise: their package, the documents store, shared.
    import docflow.processing

    for module in pkgutil.walk_packages(docflow.processing.__path__, "docflow.processing."):
        importlib.import_module(module.name)
    importlib.import_module("docflow.documents.store")
    # Only classes the tasks can reach: other workflows' errors (webhooks' SubscriberError,
    # say) are subclasses too once their modules are imported by another test. What the tasks
    # import is asked of a fresh interpreter. shared.errors defines every class of `shared`,
    # some raised only by modules the tasks never import (shared.idempotency's
    # ClaimInProgressError, shared.batch's BatchFailedError): one of those counts when a
    # module the tasks import names it.
    reachable = _modules_the_tasks_import()
    users = "\n".join(
        inspect.getsource(importlib.import_module(m)) for m in reachable if m != errors.__name__
    )
    return {
        cls
        for cls in errors.error_classes()
        if cls.__module__ in reachable
        and (cls.__module__ != errors.__name__ or re.search(rf"\b{cls.__name__}\b", users))
    }


@functools.cache
def _modules_the_tasks_import() -> frozenset[str]:
    script = (
        "import importlib, pkgutil, sys\n"
        "import docflow.processing as package\n"
        "for m in pkgutil.walk_packages(package.__path__, 'docflow.processing.'):\n"
        "    importlib.import_module(m.name)\n"
        "import shared.handler\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    listed = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    reachable = ("shared.", "docflow.processing.", "docflow.documents.")
    return frozenset(m for m in listed if m.startswith(reachable))


def test_every_error_name_in_retry_and_catch_is_one_the_code_raises() -> None:
    names = error_names(definition()["States"])
    # A name no class the tasks can raise carries matches nothing: a renamed class would
    # silently lose its retries or its catch.
    raised = {cls.__name__ for cls in _docflow_error_classes()}
    unknown = {
        n
        for n in names
        if n not in raised and not n.startswith("States.") and n not in LAMBDA_SERVICE_ERRORS
    }
    assert unknown == set()
    assert "TransientError" in names
    # ...and the code really raises it: shared.aws.translate is where transient failures start.
    assert "TransientError" in inspect.getsource(importlib.import_module("shared.aws"))


def test_every_retryable_error_class_is_retried_by_name() -> None:
    # Step Functions matches error names exactly: a retryable subclass of TransientError
    # would not be retried by a clause naming TransientError.
    retried = {
        n
        for _, s in all_states(definition()["States"])
        for r in s.get("Retry", [])
        for n in r["ErrorEquals"]
    }
    retryable = {cls.__name__ for cls in _docflow_error_classes() if cls.retryable}
    assert retryable <= retried, f"retryable but not retried: {retryable - retried}"


def test_a_refused_file_goes_to_reject_without_a_function_error() -> None:
    # Extract returns the rejection: a Choice sends it on. A transform iteration returns it and
    # ends in a Fail state named RejectedError, which the Map's first Catch sends to Reject.
    states = definition()["States"]
    assert states["ExtractMetadata"]["Next"] == "Extracted"
    assert states["Extracted"]["Choices"] == [
        {"Variable": "$.metadata.rejection", "IsPresent": True, "Next": "Reject"}
    ]
    assert states["Extracted"]["Default"] == "Transform"
    transform = states["Transform"]
    assert transform["Catch"][0] == {
        "ErrorEquals": [errors.RejectedError.__name__],
        "ResultPath": "$.error",
        "Next": "Reject",
    }
    inner = transform["ItemProcessor"]["States"]
    assert inner["TransformJob"]["Next"] == "Transformed"
    assert inner["Transformed"]["Choices"][0]["Variable"] == "$.rejection"
    refused = inner[inner["Transformed"]["Choices"][0]["Next"]]
    assert refused == {
        "Type": "Fail",
        "Error": errors.RejectedError.__name__,
        "CausePath": "States.JsonToString($.rejection)",
    }
    # Reject ends in a Succeed state: a rejected document is no failed execution.
    assert states[states["Reject"]["Next"]]["Type"] == "Succeed"


def test_no_task_catches_a_rejection_subclass_by_name() -> None:
    # Step Functions matches names exactly; rejections travel as results, named once.
    subclasses = {
        cls.__name__
        for cls in _docflow_error_classes()
        if issubclass(cls, errors.RejectedError) and cls is not errors.RejectedError
    }
    assert subclasses
    assert subclasses.isdisjoint(error_names(definition()["States"]))


def _compiled_template(stage: str) -> Path | None:
    """The newest compiled template of `stage` that is current with the definition."""
    name = "cloudformation-template-update-stack.json"
    candidates = [
        os.environ.get("DOCFLOW_COMPILED_TEMPLATE"),
        os.environ.get("DOCFLOW_PACKAGED_DIR")
        and f"{os.environ['DOCFLOW_PACKAGED_DIR']}/{stage}/{name}",
        str(ROOT / ".package" / "gates" / stage / name),  # make gates
        str(ROOT / ".serverless" / stage / name) if stage == "dev" else None,  # make package
    ]
    source = (ROOT / "stepfunctions" / "processing.yml").stat().st_mtime
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and Path(candidate).stat().st_mtime >= source:
            return Path(candidate)
    return None


def test_the_compiled_template_holds_the_same_valid_definition() -> None:
    """Checks what deploys: needs a compiled dev template (`make package STAGE=dev`,
    `make gates`, DOCFLOW_PACKAGED_DIR or DOCFLOW_COMPILED_TEMPLATE)."""
    template = _compiled_template("dev")
    if template is None:
        pytest.skip("no current compiled dev template: run `make package STAGE=dev` first")
    compiled = compiled_definition(template)
    config = yaml.safe_load((ROOT / "config" / "dev.yml").read_text())
    check_definition(compiled, config["processing"]["approvalTimeoutSeconds"])
    assert compiled == definition("dev", prefix="docflow-dev")


def test_the_decision_route_is_served_by_the_api_function() -> None:
    text = (ROOT / "serverless.yml").read_text()
    assert "- httpApi: 'POST /documents/{id}/decision'" in text
    assert '"POST /documents/{id}/decision"' in (ROOT / "handlers" / "api.py").read_text()
