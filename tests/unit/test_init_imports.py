"""What each function imports at init: only what every invocation needs.

Lambda bills the init phase, and every function of the template pays for what its handler
module imports. Code only some invocations run (Pillow and the image code, the CSV machinery,
the policy rules, another workflow's model) is imported by the function that runs it, on
first use. bench/coldstart.py measures the cost; this says which modules stay off.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pytest

from bench.coldstart import ENV, required_environment, template_functions
from tests.support import ROOT

# Off every function's init: imported by the task step that needs them.
NEVER_AT_INIT = frozenset(
    {
        "PIL",
        "aws_xray_sdk",  # with tracing off; shared.tracing imports it on first use
        "docflow.processing.images",
        "docflow.processing.tables",
        "docflow.processing.policy",
    }
)
# Off some functions' init: code of a route or a sibling function they share a package with.
NOT_AT_INIT: dict[str, frozenset[str]] = {
    "api": frozenset(
        {"docflow.processing.approval", "docflow.processing.errors", "docflow.documents.workflow"}
    ),
    "sweep": frozenset({"docflow.notify"}),
}
# The by_status index: only the sweep and the digest query it.
INDEX_READERS = frozenset({"sweep", "digest"})


@functools.cache
def modules_at_init(module: str) -> frozenset[str]:
    env = {
        **os.environ,
        **ENV,
        **required_environment(),
        "DOCFLOW_TRACING": "false",
    }
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    shown = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return frozenset(json.loads(shown.stdout))


def _loaded(modules: frozenset[str], names: frozenset[str]) -> set[str]:
    return {m for m in modules for n in names if m == n or m.startswith(n + ".")}


@pytest.mark.parametrize("function", sorted(template_functions()))
def test_a_function_imports_no_code_only_some_invocations_run(function: str) -> None:
    loaded = modules_at_init(template_functions()[function])
    unwanted = NEVER_AT_INIT | NOT_AT_INIT.get(function, frozenset())
    if function not in INDEX_READERS:
        unwanted |= {"docflow.documents.index"}
    assert _loaded(loaded, unwanted) == set()


def test_the_table_names_functions_of_the_template() -> None:
    assert set(NOT_AT_INIT) | INDEX_READERS <= set(template_functions())


def test_the_check_sees_a_module_a_handler_imports() -> None:
    # The same check on a handler known to load the document model: it must be seen.
    loaded = modules_at_init(template_functions()["api"])
    assert _loaded(loaded, frozenset({"docflow.documents"})) >= {"docflow.documents.model"}
