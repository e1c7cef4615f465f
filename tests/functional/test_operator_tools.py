"""The operator tools (scripts/apikeys.py, scripts/redrive.py, `python -m gates diff`) answer:
a one-line error an operator can act on instead of a traceback, a confirmation of what was
done, the stage's region and names without exports, `--help` on every command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.__main__ import main as gates_main
from scripts import apikeys, redrive
from scripts import stage as target
from tests.conftest import Stack


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The tool's stderr, checked to be one line without a traceback or a class name."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for leak in ("Traceback", "Error:", "Exception", "QueueDoesNotExist", "ResourceNotFound"):
        assert leak not in err, err
    return lines[0]


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


def test_redrive_without_a_region_says_how_to_give_one(
    aws: None, no_region: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = redrive.main(["--dlq-url", "http://queue/dlq", "--source-url", "http://queue/src"])

    assert code == 1
    assert one_line_error(capsys) == (
        "redrive: no AWS region: pass --stage (its config names the region) or --region, "
        "or set AWS_REGION"
    )


def _queue_and_dead_letters(name: str) -> tuple[Any, str, str]:
    """An SQS client in eu-west-1 and the URLs of `name`-dlq and `name`, created there."""
    sqs = target.resolve(None, "eu-west-1").client("sqs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    return sqs, dlq, sqs.create_queue(QueueName=name)["QueueUrl"]


def test_redrive_takes_the_region_of_an_aws_queue_url(
    aws: None, no_region: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs, dlq, source = _queue_and_dead_letters("q")
    sqs.send_message(QueueUrl=dlq, MessageBody="m")

    assert redrive.main(["--dlq-url", dlq, "--source-url", source, "--mode", "copy"]) == 0
    assert capsys.readouterr().out == f"moved 1 message(s) from {dlq} to {source} (copy)\n"


def test_redrive_of_a_stage_not_deployed_names_the_missing_queue(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert redrive.main(["--stage", "dev", "--queue", "notify"]) == 1
    assert one_line_error(capsys) == (
        "redrive: no queue docflow-dev-notify-dlq here: is the stage deployed?"
    )


def test_redrive_finds_the_stage_queues_in_the_stage_region(
    aws: None, no_region: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # No region configured: config/dev.yml's region (where the stage deploys) is used.
    sqs, dlq, source = _queue_and_dead_letters("docflow-dev-webhooks")
    for index in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"m{index}")

    assert redrive.main(["--stage", "dev", "--queue", "webhooks"]) == 0

    assert capsys.readouterr().out == f"moved 3 message(s) from {dlq} to {source} (copy)\n"
    depth = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["All"])["Attributes"]
    assert depth["ApproximateNumberOfMessages"] == "3"


def test_a_queue_url_that_does_not_exist_is_one_line(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    base = "https://sqs.us-east-1.amazonaws.com/123456789012"
    code = redrive.main(
        ["--dlq-url", f"{base}/gone-dlq", "--source-url", f"{base}/gone", "--mode", "copy"]
    )

    assert code == 1
    assert one_line_error(capsys) == (
        f"redrive: no queue at {base}/gone-dlq or {base}/gone in us-east-1"
    )


@pytest.mark.parametrize(
    "run",
    [
        lambda: redrive.main(["--stage", "qa", "--queue", "notify"]),
        lambda: apikeys.main(["list", "--stage", "qa"]),
    ],
    ids=["redrive", "apikeys"],
)
def test_an_unknown_stage_is_refused_with_the_known_ones(
    aws: None, run: Callable[[], int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run() == 1
    assert one_line_error(capsys).endswith(
        "unknown stage 'qa': stages are dev, local, prod (config/<stage>.yml)"
    )


def test_the_local_stage_without_a_running_stack_says_to_start_it(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "stack.json"
    code = redrive.main(["--stage", "local", "--queue", "notify", "--stack", str(missing)])

    assert code == 1
    assert one_line_error(capsys) == (
        f"redrive: no {missing}: start the local stack with `make up` (or pass --stack FILE)"
    )


def test_the_local_stage_is_the_running_stack(tmp_path: Path) -> None:
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(
        json.dumps({"region": "us-east-1", "endpoint_url": "http://127.0.0.1:4670"})
    )

    where = target.resolve("local", None, stack_file)

    assert (where.stage, where.region, where.endpoint_url) == (
        "local",
        "us-east-1",
        "http://127.0.0.1:4670",
    )
    assert where.settings["api"]["keysSecretName"] == "docflow/local/api-keys"


def test_a_stage_secret_name_brings_its_stage() -> None:
    assert target.stage_of_secret("docflow/prod/api-keys") == "prod"
    assert target.stage_of_secret("docflow/test/api-keys") is None


def test_revoke_says_what_it_revoked(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    code = apikeys.main(["revoke", "--secret", stack.api_keys_secret, "--key-id", "k-bob"])

    assert code == 0
    assert capsys.readouterr().out == (
        "revoked k-bob (owner bob, roles submit) from docflow/test/api-keys in us-east-1\n"
    )
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.api_keys_secret)
    assert "k-bob" not in {entry["key_id"] for entry in json.loads(secret["SecretString"])["keys"]}


def test_revoking_an_unknown_key_lists_the_keys_there(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = apikeys.main(["revoke", "--secret", stack.api_keys_secret, "--key-id", "k-nobody"])

    assert code == 1
    assert one_line_error(capsys) == (
        "apikeys revoke: no key 'k-nobody' in docflow/test/api-keys (its keys: k-alice, k-bob, "
        "k-viewer, k-alice-approver, k-bob-approver)"
    )


def test_an_unknown_secret_is_one_line(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert apikeys.main(["list", "--secret", "docflow/nowhere/api-keys"]) == 1
    assert one_line_error(capsys) == (
        "apikeys list: no secret 'docflow/nowhere/api-keys' here: is the stage deployed, and is "
        "this its region?"
    )


def test_added_keys_get_only_known_roles(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        apikeys.main(
            ["add", "--secret", stack.api_keys_secret, "--owner", "carol", "--roles", "submit,root"]
        )

    assert refused.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith("argument --roles: unknown role 'root'; allowed roles: submit, approve, read")
    )
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.api_keys_secret)
    assert "carol" not in secret["SecretString"]


def test_add_prints_the_key_once_and_confirms(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = apikeys.main(
        ["add", "--secret", stack.api_keys_secret, "--owner", "carol", "--roles", "approve,read"]
    )

    out, err = capsys.readouterr()
    issued = json.loads(out)
    assert code == 0
    assert (issued["owner"], issued["roles"]) == ("carol", ["approve", "read"])
    assert err == (
        f"added {issued['key_id']} to docflow/test/api-keys in us-east-1; the key is shown "
        "only once\n"
    )
    assert (
        issued["key"]
        not in stack.client("secretsmanager").get_secret_value(SecretId=stack.api_keys_secret)[
            "SecretString"
        ]
    )


def test_without_credentials_the_tool_says_how_to_sign_in(
    aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert apikeys.main(["list", "--stage", "dev"]) == 1
    assert one_line_error(capsys) == (
        "apikeys list: no AWS credentials: set AWS_PROFILE or sign in "
        "(aws sso login / aws configure)"
    )


def test_stage_diff_of_an_unknown_stage_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert gates_main(["diff", "dev", "qa"]) == 2
    line = one_line_error(capsys)
    assert line.startswith("gates diff: stage 'qa': no configuration file ")
    assert line.endswith("config/qa.yml (stages: local, dev, prod)")


@pytest.mark.parametrize(
    "run",
    [
        lambda: apikeys.main(["--help"]),
        lambda: apikeys.main(["add", "--help"]),
        lambda: apikeys.main(["list", "--help"]),
        lambda: apikeys.main(["revoke", "--help"]),
        lambda: redrive.main(["--help"]),
        lambda: gates_main(["diff", "--help"]),
    ],
    ids=["apikeys", "apikeys-add", "apikeys-list", "apikeys-revoke", "redrive", "gates-diff"],
)
def test_every_tool_answers_help(
    run: Callable[[], int], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        run()

    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m ")
