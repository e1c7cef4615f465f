"""`sls invoke local --stage local` runs the handlers from source against the local stack.

The sample events in events/ are the ones the README shows; osls resolves the functions'
`Ref` environment values through the deployed stack (ListStackResources).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from localcloud import stack
from tests.e2e.conftest import LocalStack
from tests.support import ROOT

pytestmark = pytest.mark.e2e


def _invoke_local(local: LocalStack, function: str, event: Path) -> dict[str, object]:
    command = [str(ROOT / "node_modules/.bin/sls"), "invoke", "local", "--stage", "local"]
    finished = subprocess.run(  # noqa: S603 - the project's own sls, fixed arguments
        [*command, "-f", function, "-p", str(event)],
        cwd=ROOT,
        env=stack.deploy_environment(local.endpoint_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    # The handler's log lines come first; the printed result is the last JSON document.
    output = finished.stdout
    return dict(json.loads(output[output.rindex("\n{") + 1 :]))


def test_intake_runs_locally_on_the_sample_event(local_stack: LocalStack) -> None:
    result = _invoke_local(local_stack, "intake", ROOT / "events/intake-object-created.json")
    assert result == {
        "results": [
            {
                "key": "incoming/doc_00000000000000000000000000000000/invoice 2026+Q4.csv",
                "document_id": None,
                "status": "gone",
                "reason": "no document, and the object is deleted",
            }
        ]
    }


def test_the_api_runs_locally_with_a_demo_key(local_stack: LocalStack, tmp_path: Path) -> None:
    event = json.loads((ROOT / "events/api-list-documents.json").read_text())
    event["headers"]["x-api-key"] = local_stack.key()
    path = tmp_path / "list.json"
    path.write_text(json.dumps(event))
    result = _invoke_local(local_stack, "api", path)
    assert result["statusCode"] == 200
    assert json.loads(str(result["body"])) == {"items": [], "next": None}
