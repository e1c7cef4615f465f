"""`sls invoke local --stage local` runs the handlers from source against the local stack, on
events `python -m localcloud event` fills from it (localcloud/events.py).

osls resolves the functions' `Ref` environment values through the deployed stack
(ListStackResources), ./plugins/invoke-local-env the `Fn::Sub` and `Fn::Join` ones.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from docflow.sync.model import SEQUENCE_WIDTH
from localcloud import events, stack
from tests.e2e.conftest import FINAL, LocalStack
from tests.processing_samples import csv_bytes
from tests.support import ROOT

pytestmark = pytest.mark.e2e


def _invoke_local(local: LocalStack, function: str, event: Path) -> dict[str, Any]:
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


def _generated(
    local: LocalStack, tmp_path: Path, kind: str, action: str | None = None, **fields: Any
) -> tuple[events.Generated, Path]:
    view = events.StackView.from_stack(local.description)
    generated = events.generate(events.Request(kind, action, **fields), view)
    path = tmp_path / f"{generated.name}.json"
    path.write_text(events.render(generated.event))
    return generated, path


def test_a_generated_decision_event_decides_the_waiting_document(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    # 3 x 4,000 = 12,000: over the local threshold of 10,000, so it waits for an approver.
    document_id = local_stack.upload("order.csv", "text/csv", csv_bytes(3, amount="4000"))
    waiting = local_stack.wait_status(document_id, {"awaiting_approval", *FINAL})
    assert waiting["status"] == "awaiting_approval", waiting
    generated, path = _generated(
        local_stack, tmp_path, "decision", "approve", document_id=document_id
    )
    assert generated.event["headers"]["x-api-key"] == local_stack.key(role="approve")

    result = _invoke_local(local_stack, generated.function, path)

    assert result["statusCode"] == 200, result
    assert json.loads(str(result["body"]))["decision"] == "approved"
    final = local_stack.wait_status(document_id, FINAL)
    assert final["status"] == "processed", final
    approver = local_stack.description["api_keys"]["demo-alice-approve"]["key_id"]
    assert final["results"]["approval"]["decided_by"] == approver


def test_a_generated_intake_event_names_the_object_intake_took_in(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    document_id = local_stack.upload("small.csv", "text/csv", csv_bytes(2))
    assert local_stack.wait_status(document_id)["status"] == "processed"
    generated, path = _generated(local_stack, tmp_path, "intake", document_id=document_id)

    result = _invoke_local(local_stack, "intake", path)

    # The very version the deployed intake received: exactly once, so a duplicate (the
    # placeholder sample names no object: "gone").
    assert result == {"results": ["duplicate"]}
    item = local_stack.client("dynamodb").get_item(
        TableName=local_stack.description["tables"]["DocumentsTable"],
        Key={"document_id": {"S": document_id}},
    )["Item"]
    s3 = generated.event["Records"][0]["s3"]
    assert (s3["bucket"]["name"], s3["object"]["versionId"]) == (
        local_stack.description["documents_bucket"],
        item["object_version"]["S"],
    )


def test_generated_stream_and_schedule_events_reach_the_lake_and_the_digest(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    document_id = local_stack.upload("lake.csv", "text/csv", csv_bytes(2))
    assert local_stack.wait_status(document_id)["status"] == "processed"
    change, change_path = _generated(
        local_stack, tmp_path, "stream", "sync", document_id=document_id
    )
    padded = change.event["Records"][0]["dynamodb"]["SequenceNumber"].zfill(SEQUENCE_WIDTH)

    assert _invoke_local(local_stack, "sync", change_path) == {"batchItemFailures": []}
    s3 = local_stack.client("s3")
    bucket = next(
        b["Name"] for b in s3.list_buckets()["Buckets"] if "-local-analytics-" in b["Name"]
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    # One object per batch, named by its first and last sequence numbers (zero-padded).
    written = [key for key in keys if key.endswith(f"{padded}-{padded}.jsonl")]
    assert len(written) == 1, keys
    record = json.loads(s3.get_object(Bucket=bucket, Key=written[0])["Body"].read())
    assert (record["document_id"], record["previous_status"]) == (document_id, "processing")

    _, tick_path = _generated(local_stack, tmp_path, "schedule", "digest")
    digest = _invoke_local(local_stack, "digest", tick_path)
    recipients = yaml.safe_load((ROOT / "config" / "local.yml").read_text())["schedules"]["digest"][
        "recipients"
    ]
    assert digest["sent"] == len(recipients)
    assert digest["counts"]["processed"] >= 1
