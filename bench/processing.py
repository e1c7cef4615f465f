"""Throughput of the processing transforms per function invocation: thumbnail and CSV.

Three levels, timed in the same run on the same input (median of N runs):
- baseline: the bare library work (Pillow open/thumbnail/save; csv.reader + json.dumps),
- transform: docflow's domain function on bytes in memory (limits, EXIF handling, validation),
- invocation: the `process_transform` handler in process, reading and writing S3 (moto).
Ratios are against the baseline. Lambda gives a function CPU in proportion to its memory
(one vCPU at 1,769 MB); these transforms are single-threaded, so at the configured memory
(config/dev.yml, `processTransform`) the expected rate is the measured rate scaled by
min(1, memory / 1769). That scaling is an estimate, stated as such in the results.

    python -m bench.processing [--runs N] [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import yaml
from moto import mock_aws

from bench.common import ROOT, write_results
from docflow.documents.store import to_item

ONE_VCPU_MB = 1769
BUCKET = "bench-documents"
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "DOCUMENTS_TABLE": BUCKET,
    "DOCUMENTS_BUCKET": BUCKET,
    "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench",
    "LOG_LEVEL": "WARNING",
}


def _interleaved(work: dict[str, Callable[[], Any]], runs: int) -> dict[str, float]:
    """Median seconds of each callable, run round-robin so machine load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(runs):
        for name, call in work.items():
            started = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def _photo(width: int, height: int) -> bytes:
    from PIL import Image

    noise = [Image.effect_noise((width, height), sigma) for sigma in (40, 60, 80)]
    image = Image.merge("RGB", noise)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "ACME Camera"
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def _csv(rows: int) -> bytes:
    lines = ["id,date,description,amount"]
    lines += [
        f"r{i},2026-03-{1 + i % 28:02d},item number {i},{i % 1000}.{i % 100:02d}"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _baseline_thumbnail(data: bytes) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.thumbnail((256, 256))
    image.save(io.BytesIO(), format="WEBP", quality=80)


def _baseline_csv(data: bytes) -> None:
    reader = csv.reader(io.StringIO(data.decode()))
    header = next(reader)
    for row in reader:
        json.dumps(dict(zip(header, row, strict=True)))


def _rates(seconds: float, size: int, memory_mb: int) -> dict[str, float]:
    scale = min(1.0, memory_mb / ONE_VCPU_MB)
    return {
        "seconds": round(seconds, 4),
        "documents_per_s": round(1 / seconds, 3),
        "mb_per_s": round(size / seconds / 1e6, 3),
        "estimated_documents_per_s_at_memory": round(scale / seconds, 3),
        "estimated_mb_per_s_at_memory": round(scale * size / seconds / 1e6, 3),
    }


def _invocations(photo: bytes, table: bytes) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Two calls of the `process_transform` handler (thumbnail, records) on moto S3."""
    from docflow.documents.model import new_document_id
    from shared import aws
    from tests.support import fresh_import, table_definition

    aws.reset()
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.client("dynamodb").create_table(
        **table_definition("resources/storage.yml", "DocumentsTable", BUCKET)
    )
    handler = fresh_import("handlers.process_transform").handler
    calls = []
    for job, data, content_type in (
        ("thumbnail", photo, "image/jpeg"),
        ("records", table, "text/csv"),
    ):
        document_id = new_document_id()
        key = f"incoming/{document_id}/input"
        aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)
        record = {
            "document_id": document_id,
            "status": "processing",
            "owner": "bench",
            "filename": "input",
            "declared_type": content_type,
            "declared_size": len(data),
            "created_at": "-",
            "updated_at": "-",
            "object_key": key,
            "history": [],
        }
        aws.client("dynamodb").put_item(TableName=BUCKET, Item=to_item(record))
        event = {
            "document_id": document_id,
            "bucket": BUCKET,
            "key": key,
            "version_id": None,
            "content_type": content_type,
            "size": len(data),
            "job": job,
        }
        calls.append(lambda event=event: handler(event, None))
    return calls[0], calls[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    from docflow.processing import images, tables

    config = yaml.safe_load((ROOT / "config" / "dev.yml").read_text())
    memory = int(config["functions"]["processTransform"]["memory"])
    photo, table = _photo(4000, 3000), _csv(args.rows)
    limits = images.ImageLimits(max_pixels=40_000_000)
    schema = tables.CsvSchema(("id", "date", "amount"), "amount", "date")

    os.environ.update(ENV)
    with mock_aws():
        invoke_thumbnail, invoke_csv = _invocations(photo, table)
        measured = _interleaved(
            {
                "thumbnail.baseline": lambda: _baseline_thumbnail(photo),
                "thumbnail.transform": lambda: images.render(photo, "thumbnail", limits),
                "thumbnail.invocation": invoke_thumbnail,
                "csv.baseline": lambda: _baseline_csv(table),
                "csv.transform": lambda: tables.normalise_csv(
                    [table], schema, lambda _: None, lambda _: None
                ),
                "csv.invocation": invoke_csv,
            },
            args.runs,
        )
    baseline = {n: measured[f"{n}.baseline"] for n in ("thumbnail", "csv")}
    transform = {n: measured[f"{n}.transform"] for n in ("thumbnail", "csv")}
    invocation = {n: measured[f"{n}.invocation"] for n in ("thumbnail", "csv")}
    sizes = {"thumbnail": len(photo), "csv": len(table)}
    results: dict[str, Any] = {
        "runs": args.runs,
        "memory_mb": memory,
        "note": (
            "estimated_* scale the measured single-thread rate by min(1, memory/1769 MB); "
            "invocation includes S3 reads/writes against in-process moto"
        ),
        "inputs": {
            "thumbnail": {"width": 4000, "height": 3000, "bytes": len(photo)},
            "csv": {"rows": args.rows, "bytes": len(table)},
        },
    }
    for name in ("thumbnail", "csv"):
        results[name] = {
            "baseline": _rates(baseline[name], sizes[name], memory),
            "transform": _rates(transform[name], sizes[name], memory),
            "invocation": _rates(invocation[name], sizes[name], memory),
            "transform_ratio": round(transform[name] / baseline[name], 3),
            "invocation_ratio": round(invocation[name] / baseline[name], 3),
        }
        if name == "csv":
            results[name]["rows_per_s_invocation"] = round(args.rows / invocation[name])
    path = write_results("processing", results)
    print(json.dumps(results, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
