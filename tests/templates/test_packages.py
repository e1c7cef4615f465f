"""What ships to Lambda: every function's zip holds the three code packages and nothing else
(no development tooling: docflow_client, localcloud, scripts, gates, tests, bench)."""

from __future__ import annotations

import zipfile

import pytest

from tests.templates.conftest import STAGES, Compiled

SHIPPED = {"handlers", "docflow", "shared"}


@pytest.mark.parametrize("stage", STAGES)
def test_function_zips_hold_only_the_code_packages(compiled: Compiled, stage: str) -> None:
    zips = sorted(compiled(stage).parent.glob("*.zip"))
    functions = [path for path in zips if path.name != "pythonRequirements.zip"]
    assert functions, f"no function zip next to the {stage} template"

    found = {
        path.name: sorted({name.split("/")[0] for name in zipfile.ZipFile(path).namelist()})
        for path in functions
    }

    assert {name: tops for name, tops in found.items() if set(tops) - SHIPPED} == {}
