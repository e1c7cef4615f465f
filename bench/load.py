"""A load run: hundreds of documents submitted concurrently through the public API.

Each document is created (`POST /documents`), uploaded to its presigned POST and followed
until its status is final; the statuses of all documents are polled together. Reported:
throughput (documents/s from the first submission to the last final status), end-to-end
latency percentiles (submission to the first poll that saw the final status, so up to one
poll interval late), the API's own latencies, the final statuses (every document final,
none lost: each one is also found in the owner's listing), and the local stack's memory:
the server's resident set sampled through the run and its peak (VmHWM), and the resident
set of the function processes it runs.

Baseline in the same run: the same documents one at a time, on the same stack, before the
load; the latency ratio says what the concurrency costs on this machine.

The stack runs in its own state directory on free ports and is stopped at the end, unless
`--stack-dir` names a running one (`make up`: `.local`).

    python -m bench.load [--documents 300] [--concurrency 16] [--baseline 5] [--stack-dir .local]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.common import write_results
from localcloud import server, stack
from tests.processing_samples import csv_bytes, image_bytes

FINAL = frozenset({"processed", "rejected", "quarantined", "failed"})
OWNER = "demo-alice"
POLL_SECONDS = 1.0
BOUND_SECONDS = 900.0


@contextmanager
def _stack(stack_dir: Path | None) -> Iterator[tuple[dict[str, Any], Path, float | None]]:
    if stack_dir is not None:
        info = server.running(stack_dir)
        if info is None:
            raise SystemExit(f"no local stack runs from {stack_dir}: `make up` first")
        yield stack.describe(info, stack_dir), stack_dir, None
        return
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        state_dir = Path(tmp)
        info = server.start_background(
            "127.0.0.1", server.free_port(), server.free_port(), state_dir
        )
        try:
            deploy_s = stack.deploy(info["endpoint_url"])
            yield stack.describe(info, state_dir), state_dir, deploy_s
        finally:
            server.stop_background(state_dir)


# ---- memory -----------------------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            tasks = Path(f"/proc/{parent}/task").iterdir()
            children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
        except OSError:
            continue
        found += children
        queue += children
    return found


class MemorySampler:
    """The server's RSS (and its function processes') every half second, in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server_kb: list[int] = []
        self.children_kb: list[int] = []
        self.children_count: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.server_kb.append(_status_kb(self.pid, "VmRSS"))
        children = _descendants(self.pid)
        self.children_kb.append(sum(_status_kb(child, "VmRSS") for child in children))
        self.children_count.append(len(children))

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def summary(self) -> dict[str, Any]:
        mb = 1024
        return {
            "server_pid": self.pid,
            "server_rss_start_mb": round(self.server_kb[0] / mb, 1),
            "server_rss_end_mb": round(self.server_kb[-1] / mb, 1),
            "server_rss_peak_sampled_mb": round(max(self.server_kb) / mb, 1),
            "functions_rss_peak_mb": round(max(self.children_kb) / mb, 1),
            "function_processes_peak": max(self.children_count),
            "samples": len(self.server_kb),
        }


# ---- documents ----------------------------------------------------------------------------------


@dataclass
class Doc:
    index: int
    filename: str
    content_type: str
    body: bytes
    document_id: str | None = None
    submitted: float = 0.0
    create_ms: float = 0.0
    upload_ms: float = 0.0
    final_at: float | None = None
    status: str | None = None
    reason: str | None = None
    error: str | None = None


def _documents(count: int, offset: int = 0) -> list[Doc]:
    """Mostly small CSVs, one in five a JPEG: the mix the demo shows, under the approval limits."""
    jpeg = image_bytes(800, 600)
    docs = []
    for index in range(offset, offset + count):
        if index % 5 == 4:
            docs.append(Doc(index, f"photo-{index}.jpg", "image/jpeg", jpeg))
        else:
            docs.append(Doc(index, f"ledger-{index}.csv", "text/csv", csv_bytes(20, amount="3")))
    return docs


def _submit(api_url: str, key: str, doc: Doc) -> Doc:
    doc.submitted = time.monotonic()
    try:
        created = requests.post(
            f"{api_url}/documents",
            headers={"x-api-key": key},
            json={
                "filename": doc.filename,
                "content_type": doc.content_type,
                "size": len(doc.body),
            },
            timeout=60,
        )
        doc.create_ms = (time.monotonic() - doc.submitted) * 1000
        if created.status_code != 201:
            doc.error = f"create {created.status_code}: {created.text[:200]}"
            return doc
        body = created.json()
        doc.document_id = body["document_id"]
        started = time.monotonic()
        sent = requests.post(
            body["upload"]["url"],
            data=body["upload"]["fields"],
            files={"file": (doc.filename, doc.body, doc.content_type)},
            timeout=60,
        )
        doc.upload_ms = (time.monotonic() - started) * 1000
        if sent.status_code >= 300:
            doc.error = f"upload {sent.status_code}: {sent.text[:200]}"
    except requests.RequestException as exc:
        doc.error = f"{type(exc).__name__}: {exc}"
    return doc


def _follow(api_url: str, key: str, docs: list[Doc], workers: int) -> None:
    """Poll every pending document together until all are final (or BOUND_SECONDS pass)."""
    deadline = time.monotonic() + BOUND_SECONDS
    session = requests.Session()

    def look(doc: Doc) -> None:
        try:
            answer = session.get(
                f"{api_url}/documents/{doc.document_id}", headers={"x-api-key": key}, timeout=60
            )
        except requests.RequestException:
            return
        if answer.status_code == 200 and answer.json()["status"] in FINAL:
            doc.final_at = time.monotonic()
            doc.status, doc.reason = answer.json()["status"], answer.json().get("reason")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        while time.monotonic() < deadline:
            pending = [d for d in docs if d.document_id and not d.error and d.final_at is None]
            if not pending:
                return
            started = time.monotonic()
            list(pool.map(look, pending))
            time.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - started)))


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 3)

    return {
        "p50": at(50),
        "p90": at(90),
        "p95": at(95),
        "p99": at(99),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


def _run(api_url: str, key: str, docs: list[Doc], concurrency: int) -> dict[str, Any]:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda d: _submit(api_url, key, d), docs))
    submitted_s = time.monotonic() - started
    _follow(api_url, key, docs, workers=min(concurrency, 8))
    done = [d for d in docs if d.final_at is not None]
    last = max((d.final_at for d in done), default=time.monotonic())
    elapsed = last - started
    return {
        "documents": len(docs),
        "concurrency": concurrency,
        "submitted_in_s": round(submitted_s, 2),
        "elapsed_s": round(elapsed, 2),
        "throughput_docs_per_s": round(len(done) / elapsed, 3) if elapsed else None,
        "end_to_end_s": _percentiles([d.final_at - d.submitted for d in done if d.final_at]),
        "create_ms": _percentiles([d.create_ms for d in docs if d.document_id]),
        "upload_ms": _percentiles([d.upload_ms for d in docs if d.upload_ms]),
        "statuses": dict(Counter(d.status or "not_final" for d in docs)),
        "errors": [f"{d.filename}: {d.error}" for d in docs if d.error][:20],
        "not_final": [d.document_id for d in docs if d.document_id and d.final_at is None][:20],
    }


def _listed(api_url: str, key: str) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        params = {"limit": "100", **({"next": cursor} if cursor else {})}
        answer = requests.get(
            f"{api_url}/documents", headers={"x-api-key": key}, params=params, timeout=60
        )
        answer.raise_for_status()
        body = answer.json()
        ids |= {item["document_id"] for item in body["items"]}
        cursor = body.get("next")
        if not cursor:
            return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--baseline", type=int, default=5, help="documents one at a time first")
    parser.add_argument("--stack-dir", type=Path, default=None)
    args = parser.parse_args()
    with _stack(args.stack_dir) as (described, state_dir, deploy_s):
        api_url, key = described["api_url"], described["api_keys"][f"{OWNER}-submit"]["key"]
        pid = int(json.loads((state_dir / server.INFO_FILE).read_text())["pid"])
        print(
            f"local stack at {api_url} (server pid {pid}); baseline of {args.baseline}", flush=True
        )
        # One document first, not counted: the functions' cold starts belong to no run.
        _run(api_url, key, _documents(1, offset=20_000), 1)
        baseline_docs = _documents(args.baseline, offset=10_000)
        baseline = [_run(api_url, key, [doc], 1) for doc in baseline_docs]
        baseline_latencies = [b["end_to_end_s"]["p50"] for b in baseline if b["end_to_end_s"]]
        print(f"baseline end-to-end: {baseline_latencies} s; load of {args.documents}", flush=True)
        docs = _documents(args.documents)
        with MemorySampler(pid) as memory:
            load = _run(api_url, key, docs, args.concurrency)
            peak = _status_kb(pid, "VmHWM")
        listed = _listed(api_url, key)
        lost = [d.document_id for d in docs if d.document_id and d.document_id not in listed]
    baseline_median = statistics.median(baseline_latencies) if baseline_latencies else None
    final = sum(1 for d in docs if d.final_at is not None)
    results = {
        "deploy_s": round(deploy_s, 1) if deploy_s is not None else None,
        "baseline": {
            "documents": len(baseline_docs),
            "one_at_a_time_end_to_end_s": baseline_latencies,
            "median_s": round(baseline_median, 3) if baseline_median else None,
        },
        "load": load,
        "every_document_final": final == len(docs),
        "lost": lost,
        "p50_ratio_to_baseline": (
            round(load["end_to_end_s"]["p50"] / baseline_median, 2)
            if baseline_median and load["end_to_end_s"]
            else None
        ),
        "memory": {**memory.summary(), "server_vmhwm_mb": round(peak / 1024, 1)},
        "poll_interval_s": POLL_SECONDS,
    }
    path = write_results("load", results)
    print(json.dumps(results, indent=2))
    print(f"written to {path}")
    if final != len(docs) or lost:
        raise SystemExit(f"{len(docs) - final} document(s) not final, {len(lost)} lost")


if __name__ == "__main__":
    main()
