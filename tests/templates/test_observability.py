"""The observability wiring of every stage's template (issue 13): saved Logs Insights queries
over every function's log group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gates.template import props, resources
from tests.templates.conftest import STAGES

Load = Callable[[str], dict[str, Any]]


def _group_name(template: dict[str, Any], value: Any) -> str:
    """A LogGroupNames entry: a plain name, or a Ref to a log group of the template."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        group = template["Resources"][value["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup", value
        return str(props(group)["LogGroupName"])
    assert isinstance(value, str), value
    return value


@pytest.mark.parametrize("stage", STAGES)
def test_saved_queries_read_every_functions_log_group(load: Load, stage: str) -> None:
    template = load(stage)
    functions = {
        f"/aws/lambda/{props(fn)['FunctionName']}"
        for fn in resources(template, "AWS::Lambda::Function").values()
    }
    queries = {
        props(q)["Name"]: props(q)
        for q in resources(template, "AWS::Logs::QueryDefinition").values()
    }
    assert sorted(queries) == [
        f"docflow-{stage}/errors by reason",
        f"docflow-{stage}/one document's journey",
    ]
    for query in queries.values():
        names = [_group_name(template, v) for v in query["LogGroupNames"]]
        assert sorted(names) == sorted(functions)
    journey = queries[f"docflow-{stage}/one document's journey"]["QueryString"]
    assert 'filter document_id = "' in journey
    assert "sort @timestamp asc" in journey
    errors = queries[f"docflow-{stage}/errors by reason"]["QueryString"]
    assert 'filter level = "ERROR"' in errors
    assert "by function_name, error, reason" in errors
