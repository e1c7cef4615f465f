"""`sls deploy --stage local` refuses what Lambda refuses at deploy time, naming the function.

A one-function service beside docflow's stack, deployed with the project's own `sls` to the
session's local stack: active tracing with an execution role that lacks an X-Ray write. On
AWS, CreateFunction fails with InvalidParameterValueException; the stack fails the same way.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from localcloud import stack
from tests.e2e.conftest import LocalStack
from tests.support import lambda_role, log_writes

ROOT = Path(__file__).resolve().parents[2]


def _service(directory: Path, xray_actions: list[str]) -> None:
    statements = [log_writes()]
    if xray_actions:
        statements.append({"Effect": "Allow", "Action": xray_actions, "Resource": "*"})
    definition = {
        "service": "e2e-traced",
        "frameworkVersion": ">=4",
        "provider": {
            "name": "aws",
            "runtime": "python3.12",
            "region": "us-east-1",
            "tracing": {"lambda": True},
            "iam": {"role": "TracedRole"},
        },
        "package": {"patterns": ["!**", "handler.py"]},
        "functions": {"hello": {"handler": "handler.handler"}},
        "resources": {
            "Resources": {
                "TracedRole": lambda_role(*statements),
            }
        },
    }
    directory.mkdir(exist_ok=True)
    (directory / "serverless.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    (directory / "handler.py").write_text("def handler(event, context):\n    return {}\n")


def _deploy(local: LocalStack, directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the project's own sls, on loopback
        [str(ROOT / "node_modules" / ".bin" / "sls"), "deploy", "--stage", "e2e"],
        cwd=directory,
        env=stack.deploy_environment(local.endpoint_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_a_traced_function_whose_role_lacks_an_xray_write_fails_the_deploy(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    service = tmp_path / "traced"
    _service(service, ["xray:PutTraceSegments"])
    refused = _deploy(local_stack, service)
    assert refused.returncode != 0
    error = "\n".join(stack.error_block((refused.stdout + "\n" + refused.stderr).splitlines()))
    assert "HelloLambdaFunction (AWS::Lambda::Function)" in error, error
    assert (
        "The provided execution role does not have permissions to call PutTelemetryRecords on XRAY"
        in error
    ), error
