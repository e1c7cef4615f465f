"""The pipeline's release step: deploy a package, smoke-test, roll back on a failed test.

`sls` and `aws` are replaced by a recorder that answers like them; the smoke test by a
function that passes or raises SmokeError.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

from gates.tools import ROOT

SCRIPTS = ROOT / ".github" / "scripts"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


release = _load("release")
CURRENT = "1796206751767"
LISTING = """\
2026-11-30 09:00:00 UTC
Timestamp: 1796000000000
Files:
  - api.zip
2026-12-01 09:00:00 UTC
Timestamp: 1796100000000
Files:
  - api.zip
"""


class Fake:
    """Answers sls and aws commands; records every call."""

    def __init__(self, *, listing: str = LISTING, deploy: int = 0, rollback: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.listing, self.deploy, self.rollback = listing, deploy, rollback

    def __call__(self, args: Sequence[str]) -> object:
        call = list(args)
        self.calls.append(call)
        if call[0] == "aws":
            return release.Completed(0, "https://abc.execute-api.eu-west-1.amazonaws.com\n")
        if call[1:3] == ["deploy", "list"]:
            return release.Completed(0, self.listing)
        if call[1] == "deploy":
            return release.Completed(self.deploy, "deployed" if not self.deploy else "Error")
        if call[1] == "rollback":
            return release.Completed(self.rollback, "rolled back")
        raise AssertionError(f"unexpected command {call}")

    def verbs(self) -> list[str]:
        return [" ".join(c[1:3]) if c[0] != "aws" else "aws" for c in self.calls]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    out = tmp_path / ".package" / "dev"
    out.mkdir(parents=True)
    (out / "api.zip").write_bytes(b"PK")
    state = {
        "service": {
            "functions": {
                "api": {"package": {"artifact": str(tmp_path / ".serverless" / "api.zip")}}
            }
        },
        "package": {
            "artifactDirectoryName": f"serverless/docflow/dev/{CURRENT}-2026-12-02T10:19:11.767Z"
        },
    }
    (out / "serverless-state.json").write_text(json.dumps(state))
    return out


def _passes(url: str) -> None:
    assert url.startswith("https://")


def _fails(url: str) -> None:
    raise release.smoke.SmokeError("GET /documents answered 502")


def test_a_passing_smoke_test_deploys_once_and_rolls_nothing_back(package: Path) -> None:
    fake = Fake()
    url = release.release("dev", package, _passes, run=fake, workspace=package.parent.parent)

    assert url == "https://abc.execute-api.eu-west-1.amazonaws.com"
    assert fake.verbs() == ["deploy list", "deploy --stage", "aws"]
    assert fake.calls[1][-2:] == ["--package", str(package)]


def test_a_failed_smoke_test_rolls_back_to_the_previous_deployment_and_fails(
    package: Path,
) -> None:
    fake = Fake()
    with pytest.raises(release.ReleaseError, match="rolled back to 1796100000000"):
        release.release("dev", package, _fails, run=fake, workspace=package.parent.parent)

    assert fake.verbs() == ["deploy list", "deploy --stage", "aws", "rollback --stage"]
    assert fake.calls[-1][-2:] == ["--timestamp", "1796100000000"]


def test_the_previous_deployment_is_never_the_package_being_deployed(package: Path) -> None:
    # The same package deployed again (a re-run): roll back past it, not onto it.
    fake = Fake(listing=LISTING + f"2026-12-02 10:19:11 UTC\nTimestamp: {CURRENT}\nFiles:\n")
    with pytest.raises(release.ReleaseError):
        release.release("dev", package, _fails, run=fake, workspace=package.parent.parent)

    assert fake.calls[-1][-1] == "1796100000000"


def test_a_first_deployment_that_fails_its_smoke_test_fails_without_rollback(
    package: Path,
) -> None:
    fake = Fake(listing="No deployments found\n")
    with pytest.raises(release.ReleaseError, match="nothing to roll back to"):
        release.release("dev", package, _fails, run=fake, workspace=package.parent.parent)

    assert "rollback --stage" not in fake.verbs()


def test_a_failed_rollback_says_so(package: Path) -> None:
    fake = Fake(rollback=1)
    with pytest.raises(release.ReleaseError, match="rollback to 1796100000000 failed"):
        release.release("dev", package, _fails, run=fake, workspace=package.parent.parent)


def test_a_failed_deploy_runs_no_smoke_test_and_no_rollback(package: Path) -> None:
    fake = Fake(deploy=1)
    with pytest.raises(release.ReleaseError, match="sls deploy failed"):
        release.release("dev", package, _passes, run=fake, workspace=package.parent.parent)

    assert fake.verbs() == ["deploy list", "deploy --stage"]


def test_a_package_built_in_another_workspace_is_refused_before_anything_runs(
    package: Path, tmp_path: Path
) -> None:
    fake = Fake()
    with pytest.raises(release.ReleaseError, match="same workspace path"):
        release.release("dev", package, _passes, run=fake, workspace=tmp_path / "elsewhere")

    assert fake.calls == []


def test_previous_deployment_reads_the_timestamps_of_sls_deploy_list() -> None:
    assert release.previous_deployment(LISTING, CURRENT) == "1796100000000"
    assert release.previous_deployment(LISTING, "1796100000000") == "1796000000000"
    assert release.previous_deployment("", CURRENT) is None
