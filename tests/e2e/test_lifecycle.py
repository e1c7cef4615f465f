"""The local stack's lifecycle, as a user drives it: `make up` (`python -m localcloud up`),
`sls remove --stage local`, `make up` again, `make down`.

The stack here is its own (state directory, free ports), not the session's `local_stack`,
since removing a stack would pull it from under the other tests; and so is the checkout: osls
writes `.serverless/` in the service directory, and these deploys may run while the other e2e
tests run `sls` in the working tree (another pytest-xdist worker, tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from localcloud import changes, server, stack
from tests.e2e.conftest import LocalStack
from tests.processing_samples import csv_bytes
from tests.support import checkout_copy, package_sources, python312_or_skip

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Lifecycle:
    root: Path
    state_dir: Path
    port: int
    api_port: int
    printed: str = ""

    def localcloud(self, command: str) -> subprocess.CompletedProcess[str]:
        ports = ["--port", str(self.port), "--api-port", str(self.api_port)]
        return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "localcloud",
                command,
                *(ports if command == "up" else []),
                "--state-dir",
                str(self.state_dir),
            ],
            cwd=self.root,  # `-m` imports the copy's localcloud, which deploys the copy
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def up(self) -> LocalStack:
        finished = self.localcloud("up")
        assert finished.returncode == 0, finished.stdout + finished.stderr
        self.printed = finished.stdout
        description = json.loads((self.state_dir / stack.STACK_FILE).read_text())
        return LocalStack(description, self.state_dir, 0.0)

    def sls(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the project's sls, fixed arguments
            [str(self.root / "node_modules" / ".bin" / "sls"), *args],
            cwd=self.root,
            env=stack.deploy_environment(f"http://127.0.0.1:{self.port}"),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    python312_or_skip()
    root = checkout_copy(tmp_path_factory.mktemp("lifecycle-checkout") / "docflow")
    state_dir = tmp_path_factory.mktemp("lifecycle")
    try:
        yield Lifecycle(root, state_dir, server.free_port(), server.free_port())
    finally:
        server.stop_background(state_dir)


def test_sls_remove_then_up_deploys_a_stack_that_works(lifecycle: Lifecycle) -> None:
    first = lifecycle.up()
    removed = lifecycle.sls("remove", "--stage", "local")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    cfn = first.client("cloudformation")
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.describe_stacks(StackName=first.description["stack"])

    again = lifecycle.up()

    (deployed,) = cfn.describe_stacks(StackName=again.description["stack"])["Stacks"]
    assert deployed["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    assert {"ServerlessDeploymentBucketName", "HttpApiUrl"} <= {
        output["OutputKey"] for output in deployed["Outputs"]
    }
    document_id = again.upload("after-remove.csv", "text/csv", csv_bytes(3))
    assert again.wait_status(document_id)["status"] == "processed"


def test_the_line_make_up_prints_makes_sls_info_show_the_local_api(lifecycle: Lifecycle) -> None:
    """One line in the user's own shell, then osls as against AWS: `sls info` lists the URL
    where the API answers (an execute-api URL would resolve to AWS)."""
    (setup,) = [
        line.strip() for line in lifecycle.printed.splitlines() if line.strip().startswith("eval ")
    ]
    description = json.loads((lifecycle.state_dir / stack.STACK_FILE).read_text())
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "DOCFLOW_")) and name != "PATH"
    }
    environ["PATH"] = os.environ["PATH"]

    shown = subprocess.run(  # noqa: S603 - bash running the line `make up` printed
        ["/bin/bash", "-c", f"{setup} && npx sls info --stage local"],
        cwd=lifecycle.root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert shown.returncode == 0, shown.stdout + shown.stderr
    endpoints = {line.strip() for line in shown.stdout.splitlines() if " - " in line}
    api = description["api_url"]
    assert {f"POST - {api}/documents", f"GET - {api}/documents/{{id}}"} <= endpoints, shown.stdout
    assert "execute-api" not in shown.stdout
    answer = requests.get(f"{description['api_url']}/documents", timeout=30)
    assert answer.status_code == 401  # the API answers there (and wants a key)


def test_an_up_with_nothing_changed_deploys_nothing(lifecycle: Lifecycle) -> None:
    again = lifecycle.up()

    assert "nothing changed since the last deploy: nothing to deploy" in lifecycle.printed
    assert again.description["deployed"] == {
        "how": "none",
        "reason": "nothing changed since the last deploy",
        "functions": [],
    }


def test_code_built_in_place_is_osls_package_and_goes_live(
    lifecycle: Lifecycle, tmp_path: Path
) -> None:
    """Every function's package built from the tree is byte for byte the one osls deployed;
    a changed handler sent in place answers at once; the next `up` notices code it did not
    deploy and puts the tree's back."""
    local = lifecycle.up()
    record = changes.Record.load(lifecycle.state_dir)
    assert record is not None
    lambda_ = local.client("lambda")
    deployed = {
        fn["FunctionName"]: fn["CodeSha256"] for fn in lambda_.list_functions()["Functions"]
    }
    assert {
        name: changes.build(lifecycle.root, package)[1].code_sha256
        == deployed[package.function_name]
        for name, package in record.packages.items()
    } == dict.fromkeys(record.packages, True)

    # A one-line change to the api handler, in a copy of the tree (the checkout is shared).
    tree = package_sources(tmp_path / "tree")
    handler = tree / "handlers" / "api.py"
    handler.write_text(handler.read_text() + 'ACTOR = "api-changed-in-place"\n')
    content, _ = changes.build(tree, record.packages["api"])
    lambda_.update_function_code(FunctionName=record.packages["api"].function_name, ZipFile=content)

    document_id = local.upload("in-place.csv", "text/csv", b"a,b\n1,2\n")
    read = local.api("GET", f"/documents/{document_id}").json()
    assert read["history"][0]["actor"] == "api-changed-in-place"

    restored = lifecycle.up()
    assert restored.description["deployed"]["how"] == "code"
    assert restored.description["deployed"]["functions"] == ["api"]
    document_id = restored.upload("restored.csv", "text/csv", b"a,b\n1,2\n")
    assert restored.api("GET", f"/documents/{document_id}").json()["history"][0]["actor"] == "api"


def test_down_stops_the_server_and_frees_its_ports(lifecycle: Lifecycle) -> None:
    info = server.running(lifecycle.state_dir)
    assert info is not None, "the stack of the previous test is not running"

    finished = lifecycle.localcloud("down")

    assert (finished.returncode, finished.stdout.strip()) == (0, "localcloud: stopped")
    assert not server.alive(int(info["pid"]))
    assert server.port_free("127.0.0.1", lifecycle.port)
    assert server.port_free("127.0.0.1", lifecycle.api_port)
    assert not (lifecycle.state_dir / stack.STACK_FILE).exists()
