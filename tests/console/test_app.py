"""The console's pages over WSGI with a stand-in for the stack: escaping, pages, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.test import Client

from localcloud.console.app import PAGE_SIZE, Console, source_name
from localcloud.console.sources import Invocation, StackView

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>.csv'
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


def _document(index: int, **fields: Any) -> dict[str, Any]:
    created = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=index)
    at = created.isoformat().replace("+00:00", "Z")
    return {
        "document_id": f"doc_{index:032x}",
        "owner": "demo-alice" if index % 2 else "demo-bob",
        "filename": f"file-{index}.csv",
        "declared_type": "text/csv",
        "declared_size": 10,
        "status": "processed",
        "created_at": at,
        "updated_at": at,
        "history": [
            {"status": "awaiting_upload", "at": at, "actor": "api"},
            {"status": "processed", "at": at, "actor": "process_finalize"},
        ],
        **fields,
    }


class FakeSources:
    """The stack as the console reads it, held in memory."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self._documents = documents

    def stack(self) -> StackView:
        return StackView("docflow-test", {"DocumentsTable": ("AWS::DynamoDB::Table", "t")})

    def documents(self, view: StackView) -> list[dict[str, Any]]:
        return sorted(self._documents, key=lambda d: d["created_at"], reverse=True)

    def document(self, view: StackView, document_id: str) -> dict[str, Any] | None:
        return next((d for d in self._documents if d["document_id"] == document_id), None)

    def objects(self, view: StackView, document_id: str) -> list[dict[str, Any]]:
        return [
            {
                "Key": f"incoming/{document_id}/{HOSTILE}",
                "VersionId": "v1",
                "IsLatest": True,
                "Size": 10,
                "LastModified": datetime(2026, 12, 1, tzinfo=UTC),
                "area": "incoming",
                "deleted": False,
            }
        ]

    def published_events(self, view: StackView, document_id: str) -> list[dict[str, Any]]:
        return []

    def mail(self, document_id: str) -> list[dict[str, Any]]:
        return []

    def deliveries(self, view: StackView, document_id: str) -> list[dict[str, Any]]:
        return []

    def function_groups(self, view: StackView) -> list[str]:
        return ["/aws/lambda/docflow-test-intake"]

    def invocations(self, groups: list[str]) -> Iterator[Invocation]:
        yield Invocation(
            "/aws/lambda/docflow-test-intake",
            "s1",
            "r-1",
            0,
            [
                (0, "START RequestId: r-1 Version: $LATEST"),
                (1, f'{{"event": "intake", "document_id": "doc_{1:032x}", "f": "{HOSTILE}"}}'),
                (2, "REPORT RequestId: r-1\tDuration: 3.00 ms"),
            ],
        )

    def traces(self, document_id: str, since: Any) -> list[dict[str, Any]]:
        raise RuntimeError("X-Ray: not implemented")

    def queues(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "docflow-test-notify-dlq",
                "visible": 2,
                "in_flight": 0,
                "delayed": 0,
                "oldest_age_s": 75.0,
                "dead_letter": True,
                "dead_letter_target": None,
                "max_receive": None,
            }
        ]

    def event_source_mappings(self) -> list[dict[str, Any]]:
        return []

    def alarms(self, view: StackView | None) -> list[dict[str, Any]]:
        return [
            {"AlarmName": "docflow-test-errors", "StateValue": "ALARM", "StateReason": "1 > 0"},
            {"AlarmName": "docflow-test-throttles", "StateValue": "NOT_CREATED"},
        ]


def _client(documents: list[dict[str, Any]]) -> Client:
    return Client(Console(FakeSources(documents)))  # type: ignore[arg-type]


def test_a_hostile_file_name_and_reason_render_as_text() -> None:
    document = _document(1, filename=HOSTILE, status="rejected", reason=f"bad: {HOSTILE}")
    client = _client([document])
    for path in ("/documents", f"/documents/{document['document_id']}"):
        answer = client.get(path, environ_base=LOOPBACK)
        assert answer.status_code == 200, answer.text
        assert "<script>" not in answer.text
        assert "<img" not in answer.text
        assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img" in answer.text
        assert "script-src" not in answer.headers["Content-Security-Policy"]
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_hundreds_of_documents_are_paged_newest_first_and_filtered() -> None:
    client = _client([_document(i) for i in range(2 * PAGE_SIZE + 20)])
    first = client.get("/documents", environ_base=LOOPBACK).text
    assert first.count("<tr data-document=") == PAGE_SIZE
    assert f'data-document="doc_{2 * PAGE_SIZE + 19:032x}"' in first  # the newest
    last = client.get("/documents?page=3", environ_base=LOOPBACK).text
    assert last.count("<tr data-document=") == 20
    assert 'data-document="doc_' + "0" * 32 in last
    bob = client.get("/documents?owner=demo-bob&page=2", environ_base=LOOPBACK).text
    assert bob.count("<tr data-document=") == 10
    assert "demo-alice</td>" not in bob
    none = client.get("/documents?status=failed", environ_base=LOOPBACK).text
    assert "<tr data-document=" not in none
    assert "match these filters" in none


def test_a_document_page_shows_the_timeline_and_its_invocations() -> None:
    document = _document(1)
    page = _client([document]).get(f"/documents/{document['document_id']}", environ_base=LOOPBACK)
    assert page.status_code == 200
    assert page.text.count('<span class="status status-processed">processed</span>') >= 2
    assert "process_finalize" in page.text
    assert "REPORT RequestId: r-1" in page.text
    assert "X-Ray is not answering" in page.text  # degrades, does not fail
    assert _client([]).get("/documents/doc_nope", environ_base=LOOPBACK).status_code == 404


def test_writes_and_foreign_hosts_are_refused_before_any_read() -> None:
    client = _client([_document(1)])
    assert client.post("/documents", environ_base=LOOPBACK).status_code == 405
    assert client.post("/documents", environ_base=LOOPBACK).headers["Allow"] == "GET, HEAD"
    remote = client.get("/documents", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    foreign = client.get("/documents", environ_base=LOOPBACK, headers={"Host": "evil.test"})
    assert foreign.status_code == 403
    assert client.get("/", environ_base=LOOPBACK).headers["Location"] == "/documents"
    head = client.head("/documents", environ_base=LOOPBACK)
    assert head.status_code == 200
    assert head.data == b""


class FailingSources(FakeSources):
    def documents(self, view: StackView) -> list[dict[str, Any]]:
        raise KeyError("DocumentsTable")


def test_a_page_whose_read_fails_says_so_without_the_exception() -> None:
    client = Client(Console(FailingSources([])))  # type: ignore[arg-type]
    answer = client.get("/documents", environ_base=LOOPBACK)
    assert answer.status_code == 500
    assert "reading the stack for this page failed" in answer.text
    assert "KeyError" not in answer.text
    assert "DocumentsTable" not in answer.text


def test_event_sources_are_named_by_their_queue_stream_or_table() -> None:
    table_stream = (
        "arn:aws:dynamodb:us-east-1:123456789012:table/docflow-local-documents"
        "/stream/2026-12-02T19:48:49.133532"
    )
    assert [
        source_name(table_stream),
        source_name("arn:aws:kinesis:us-east-1:123456789012:stream/docflow-local-logs"),
        source_name("arn:aws:sqs:us-east-1:123456789012:docflow-local-notify"),
    ] == [
        "docflow-local-documents (table stream)",
        "docflow-local-logs (Kinesis)",
        "docflow-local-notify",
    ]


def test_the_queues_page_shows_dead_letters_and_which_alarms_were_not_created() -> None:
    page = _client([]).get("/queues", environ_base=LOOPBACK).text
    assert '<tr data-queue="docflow-test-notify-dlq" class="dead-letter has-dead-letters">' in page
    assert '<td class="oldest">1 min 15 s</td>' in page
    assert '<span class="status alarm-ALARM">ALARM</span>' in page
    assert "1 alarm of the template not evaluated here" in page
    assert '<li data-alarm="docflow-test-throttles">' in page


def test_text_any_client_wrote_is_read_as_json_or_not_at_all() -> None:
    # An SNS message, a mail line or a log line nested past the decoder's recursion limit (the
    # hostile-input campaign publishes such messages) must not fail the page that reads it.
    from localcloud.console.sources import loads

    deep = "[" * 100_000 + "]" * 100_000
    assert loads(deep) is None
    assert loads(deep, default="raw") == "raw"
    assert loads("not json") is None
    assert loads(None) is None
    assert loads('{"document_id": "doc_1"}') == {"document_id": "doc_1"}
