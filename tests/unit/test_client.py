"""docflow_client without a network: where it finds the API and the key, how it waits, retries
and reports. Its end-to-end behaviour against the local stack is tests/e2e/test_client.py."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from docflow_client import cli

STACK = {
    "api_url": "http://127.0.0.1:4567/",
    "api_keys": {
        "demo-alice-submit": {"key": "k-as", "owner": "demo-alice", "roles": ["submit"]},
        "demo-alice-approve": {"key": "k-aa", "owner": "demo-alice", "roles": ["approve"]},
        "demo-bob-both": {"key": "k-bb", "owner": "demo-bob", "roles": ["submit", "approve"]},
        "demo-bob-submit": {"key": "k-bs", "owner": "demo-bob", "roles": ["submit"]},
    },
}


def _args(*argv: str) -> Any:
    return cli.parser().parse_args([*argv])


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(STACK))
    return path


def test_flags_win_over_the_environment_and_the_stack(stack_file: Path) -> None:
    args = _args("list", "--stack", str(stack_file), "--api-url", "http://a/", "--api-key", "k")
    environ = {"DOCFLOW_API_URL": "http://env", "DOCFLOW_API_KEY": "k-env"}
    assert cli.resolve(args, "submit", environ) == cli.Target("http://a", "k")


def test_the_environment_wins_over_the_stack(stack_file: Path) -> None:
    args = _args("list", "--stack", str(stack_file))
    environ = {"DOCFLOW_API_URL": "http://env", "DOCFLOW_API_KEY": "k-env"}
    assert cli.resolve(args, "submit", environ) == cli.Target("http://env", "k-env")


@pytest.mark.parametrize(
    ("owner", "role", "key"),
    [
        ("demo-alice", "submit", "k-as"),
        ("demo-alice", "approve", "k-aa"),
        # A single-role key before one that has more roles than the command needs.
        ("demo-bob", "submit", "k-bs"),
        ("demo-bob", "approve", "k-bb"),
    ],
)
def test_the_stack_gives_the_url_and_the_owners_key_for_the_role(
    stack_file: Path, owner: str, role: str, key: str
) -> None:
    args = _args("list", "--stack", str(stack_file), "--owner", owner)
    assert cli.resolve(args, role, {}) == cli.Target("http://127.0.0.1:4567", key)


def test_an_owner_without_the_role_is_one_line_naming_the_owners(stack_file: Path) -> None:
    args = _args("list", "--stack", str(stack_file), "--owner", "demo-carol")
    with pytest.raises(cli.CliError) as raised:
        cli.resolve(args, "submit", {})
    assert str(raised.value) == (
        "the stack description has no key of owner 'demo-carol' with the submit role "
        "(owners: demo-alice, demo-bob); pass --owner or --api-key"
    )


def test_no_url_anywhere_says_where_one_comes_from(tmp_path: Path) -> None:
    err = io.StringIO()
    status = _main(["list", "--stack", str(tmp_path / "none.json")], {}, err=err)
    assert (status, err.getvalue()) == (
        1,
        "docflow: no API URL: pass --api-url, set DOCFLOW_API_URL, or start the local stack "
        f"(make up writes {tmp_path / 'none.json'})\n",
    )


def test_a_stack_file_that_is_not_json_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "stack.json"
    broken.write_text("{")
    with pytest.raises(cli.CliError, match=r"^cannot read .*stack\.json: "):
        cli.resolve(_args("list", "--stack", str(broken)), "submit", {})


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("a.CSV", None, "text/csv"),
        ("scan.pdf", None, "application/pdf"),
        ("photo.jpeg", None, "image/jpeg"),
        ("data", "text/csv", "text/csv"),
    ],
)
def test_the_content_type_comes_from_the_flag_or_the_extension(
    name: str, given: str | None, expected: str
) -> None:
    assert cli.content_type_of(Path(name), given) == expected


def test_an_unknown_extension_asks_for_the_content_type() -> None:
    with pytest.raises(cli.CliError, match="pass --content-type"):
        cli.content_type_of(Path("notes.zzz-unknown"))


class _Answer:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self._body = body
        self.text = body if isinstance(body, str) else json.dumps(body)

    def json(self) -> Any:
        if isinstance(self._body, str):
            raise ValueError("not JSON")
        return self._body


class _Session:
    """Answers requests from a script, one answer per call, and records what was asked."""

    def __init__(self, answers: list[_Answer]) -> None:
        self.answers: Iterator[_Answer] = iter(answers)
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> _Answer:
        self.calls.append((method, url))
        assert kwargs["headers"] == {"x-api-key": "k"}
        return next(self.answers)

    def post(self, url: str, **kwargs: Any) -> _Answer:
        self.calls.append(("POST", url))
        return next(self.answers)


def _api(answers: list[_Answer]) -> tuple[cli.Api, _Session, list[float]]:
    session = _Session(answers)
    pauses: list[float] = []
    api = cli.Api(cli.Target("http://api", "k"), session=session, sleep=pauses.append)  # type: ignore[arg-type]
    return api, session, pauses


def test_a_throttled_read_is_asked_again_after_a_growing_pause() -> None:
    api, session, pauses = _api(
        [_Answer(429, {"message": "Too Many Requests"})] * 2 + [_Answer(200, {"items": []})]
    )
    assert api.call("GET", "/documents") == {"items": []}
    assert (len(session.calls), pauses) == (3, [0.5, 1.0])


def test_a_throttled_post_is_not_sent_twice() -> None:
    api, session, _ = _api([_Answer(429, {"message": "Too Many Requests"})])
    with pytest.raises(cli.CliError, match=r"^POST /documents answered 429: Too Many Requests$"):
        api.call("POST", "/documents", json={})
    assert len(session.calls) == 1


def test_an_api_error_is_its_code_and_message() -> None:
    api, _, _ = _api([_Answer(404, {"error": "not_found", "message": "document not found"})])
    with pytest.raises(cli.CliError) as raised:
        api.call("GET", "/documents/doc_x")
    assert str(raised.value) == "404 not_found: document not found"


def test_a_refused_upload_shows_s3s_code_and_message(tmp_path: Path) -> None:
    refusal = "<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds</Message>"
    api, _, _ = _api([_Answer(400, refusal)])
    (tmp_path / "a.csv").write_text("a\n")
    with pytest.raises(cli.CliError) as raised:
        api.upload({"url": "http://s3/b", "fields": {}}, tmp_path / "a.csv", "text/csv")
    assert str(raised.value) == (
        "the upload was refused: 400 EntityTooLarge: Your proposed upload exceeds"
    )


def test_an_unreachable_api_is_one_line_without_an_exception_name() -> None:
    class Refusing(_Session):
        def request(self, method: str, url: str, **kwargs: Any) -> _Answer:
            raise requests.ConnectionError("[Errno 111] Connection refused")

    api = cli.Api(cli.Target("http://api", "k"), session=Refusing([]))  # type: ignore[arg-type]
    with pytest.raises(cli.CliError) as raised:
        api.call("GET", "/documents")
    assert str(raised.value) == (
        "cannot reach http://api/documents: connection refused or host unknown "
        "(is the stack up? make up)"
    )


def _document(status: str, *steps: str) -> dict[str, Any]:
    history = [{"status": s, "at": f"t{i}", "actor": "intake"} for i, s in enumerate(steps)]
    return {"document_id": "doc_1", "status": status, "history": history}


def test_wait_reports_each_step_once_and_returns_the_final_document() -> None:
    api, _, _ = _api(
        [
            _Answer(200, _document("awaiting_upload", "awaiting_upload")),
            _Answer(200, _document("processing", "awaiting_upload", "accepted", "processing")),
            _Answer(
                200,
                _document("processed", "awaiting_upload", "accepted", "processing", "processed"),
            ),
        ]
    )
    clock = iter([0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    lines: list[str] = []

    final = cli.wait(
        api,
        "doc_1",
        cli.FINAL,
        60,
        1,
        lines.append,
        clock=lambda: next(clock),
        sleep=lambda _: None,
    )

    assert final == _document("processed", "awaiting_upload", "accepted", "processing", "processed")
    assert lines == [
        "   0.0s  awaiting_upload (intake)",
        "   1.0s  accepted (intake)",
        "   1.0s  processing (intake)",
        "   2.0s  processed (intake)",
    ]


def test_wait_gives_up_after_the_timeout() -> None:
    api, session, _ = _api([_Answer(200, _document("processing", "processing"))] * 3)
    clock = iter([0.0, 0.0, 5.0, 10.0, 10.0])
    assert (
        cli.wait(
            api,
            "doc_1",
            cli.FINAL,
            10,
            5,
            lambda _: None,
            clock=lambda: next(clock),
            sleep=lambda _: None,
        )
        is None
    )
    assert len(session.calls) == 2


def _main(argv: list[str], environ: dict[str, str], err: io.StringIO) -> int:
    import contextlib

    with contextlib.redirect_stderr(err):
        return cli.main(argv, environ, io.StringIO())
