"""The deployed stack behaves as on AWS: functions time out and log, uploads finish."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import quote_plus

import pytest

from localcloud import stack
from tests.e2e.conftest import LocalStack, deploy_template
from tests.support import lambda_role, log_writes

pytestmark = pytest.mark.e2e

# The EICAR antivirus test file (not a virus; every scanner must flag it).
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CSV = b"id,date,amount\nINV-1,2026-11-01,12.50\nINV-2,2026-11-02,7.00\n"


def test_timing_out_function_fails_as_task_timed_out_and_logs_it(local_stack: LocalStack) -> None:
    deploy_template(
        local_stack,
        "e2e-timeout",
        {
            "Resources": {
                # Lambda writes the function's logs with its role, as on AWS.
                "Role": lambda_role(log_writes("e2e-sleeper")),
                "Sleeper": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": "e2e-sleeper",
                        "Runtime": "python3.12",
                        "Handler": "index.handler",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Timeout": 1,
                        "Code": {
                            "ZipFile": "import time\ndef handler(event, context):\n"
                            "    print('going to sleep')\n    time.sleep(30)\n"
                        },
                    },
                },
            }
        },
    )
    answer = local_stack.client("lambda").invoke(FunctionName="e2e-sleeper", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    events = local_stack.client("logs").filter_log_events(logGroupName="/aws/lambda/e2e-sleeper")
    messages = [e["message"] for e in events["events"]]
    assert "going to sleep" in messages
    assert any(m.endswith("Task timed out after 1.00 seconds") for m in messages)
    assert messages[-1].endswith("Status: timeout")


def test_function_logs_are_readable_with_sls_logs(local_stack: LocalStack) -> None:
    answer = local_stack.api("GET", "/documents", headers={"x-api-key": "not-a-key"})
    assert answer.status_code == 401
    function = f"{local_stack.description['stack']}-api"
    events = local_stack.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function}")
    assert any(e["message"].startswith("REPORT RequestId: ") for e in events["events"])
    shown = subprocess.run(  # noqa: S603
        [
            str(stack.ROOT / "node_modules" / ".bin" / "sls"),
            "logs",
            "-f",
            "api",
            "--stage",
            "local",
        ],
        cwd=stack.ROOT,
        env=stack.deploy_environment(local_stack.endpoint_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    # sls logs shows START, the function's lines, and END with REPORT's duration and memory
    lines = shown.stdout.splitlines()
    assert "START" in lines
    assert any(line.startswith("END Duration: ") and "Memory Used: " in line for line in lines)
    assert any('"message": "invocation_finished"' in line for line in lines)


def test_eicar_upload_ends_quarantined(local_stack: LocalStack) -> None:
    document_id = local_stack.upload("eicar.csv", "text/csv", EICAR)
    assert local_stack.wait_status(document_id)["status"] == "quarantined"


def test_csv_upload_is_processed_and_duplicate_s3_delivery_starts_one_execution(
    local_stack: LocalStack,
) -> None:
    document_id = local_stack.upload("invoices.csv", "text/csv", CSV)
    final = local_stack.wait_status(document_id)
    assert final["status"] == "processed", final
    sfn = local_stack.client("stepfunctions")
    machine = local_stack.description["state_machine_arn"]

    def executions() -> list[str]:
        found = []
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if document_id in described.get("input", ""):
                found.append(execution["executionArn"])
        return found

    assert len(executions()) == 1
    # S3 delivers at least once: deliver the same object version's event again to intake.
    s3 = local_stack.client("s3")
    bucket = local_stack.description["documents_bucket"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="incoming/")["Versions"]
    version = next(v for v in versions if document_id in v["Key"])
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": stack.REGION,
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote_plus(version["Key"], safe="/"),
                        "size": version["Size"],
                        "eTag": version["ETag"].strip('"'),
                        "versionId": version["VersionId"],
                        "sequencer": "0000000000000001",
                    },
                },
            }
        ]
    }
    intake = f"{local_stack.description['stack']}-intake"
    answer = local_stack.client("lambda").invoke(
        FunctionName=intake, Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    assert len(executions()) == 1
    assert local_stack.api("GET", f"/documents/{document_id}").json()["status"] == "processed"
