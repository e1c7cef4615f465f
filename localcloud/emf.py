"""CloudWatch embedded metric format: the metrics a log line declares, as CloudWatch extracts them.

A Lambda function's JSON log line with an `_aws` member becomes metrics (Lambda's log lines
are treated as EMF without the `x-amzn-logs-format` header other writers must send). Per
directive of `_aws.CloudWatchMetrics`, each metric (`Name` naming a root member holding a
number or up to 100 numbers) is put once per dimension set (each key naming a root member
holding a string), in the directive's namespace, with its unit, at `_aws.Timestamp`. A line
that breaks the specification yields no metrics at all (CloudWatch keeps the line and
extracts nothing); `problems()` says why, for the local stack's log.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
MAX_DIMENSIONS = 30  # per dimension set
MAX_METRICS = 100  # per directive
MAX_VALUES = 100  # per metric
MAX_NAME_CHARS = 1024


class EmfError(ValueError):
    """A line that claims to be EMF (it has `_aws`) but breaks the specification."""


@dataclass(frozen=True)
class MetricDatum:
    namespace: str
    name: str
    unit: str
    values: tuple[float, ...]
    dimensions: tuple[tuple[str, str], ...]
    timestamp_ms: int
    storage_resolution: int = 60

    def as_put(self) -> dict[str, Any]:
        """The datum as PutMetricData takes it (moto's backend takes the same shape)."""
        return {
            "MetricName": self.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
            "Values": list(self.values),
            "Unit": self.unit,
            "StorageResolution": self.storage_resolution,
            # naive UTC, as moto keeps every datum's time
            "Timestamp": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).replace(tzinfo=None),
        }


def extract(message: str) -> list[MetricDatum]:
    """The metrics one log line declares; [] if it declares none or breaks the format."""
    try:
        return parse(message)
    except EmfError:
        return []


def parse(message: str) -> list[MetricDatum]:
    """The metrics one log line declares ([] for a line that is not EMF); EmfError for a line
    with `_aws` that breaks the specification."""
    if '"_aws"' not in message:
        return []
    try:
        root = json.loads(message)
    except ValueError:
        return []
    if not isinstance(root, dict) or "_aws" not in root:
        return []
    metadata = root["_aws"]
    if not isinstance(metadata, dict):
        raise EmfError("_aws must be an object")
    timestamp: Any = metadata.get("Timestamp")
    if not _is_number(timestamp) or timestamp < 0:
        raise EmfError("_aws.Timestamp must be a non-negative number (epoch milliseconds)")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise EmfError("_aws.CloudWatchMetrics must be a list")
    found: list[MetricDatum] = []
    for directive in directives:
        found += _directive(root, directive, int(timestamp))
    return found


def _directive(root: dict[str, Any], directive: Any, timestamp_ms: int) -> list[MetricDatum]:
    if not isinstance(directive, dict):
        raise EmfError("a CloudWatchMetrics directive must be an object")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not 0 < len(namespace) <= 255:
        raise EmfError("Namespace must be a string of 1 to 255 characters")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list):
        raise EmfError("Dimensions must be a list of dimension sets")
    sets: list[tuple[tuple[str, str], ...]] = []
    for keys in dimension_sets:
        if not isinstance(keys, list) or len(keys) > MAX_DIMENSIONS:
            raise EmfError(f"a dimension set must be a list of at most {MAX_DIMENSIONS} keys")
        pairs = []
        for key in keys:
            value = root.get(key) if isinstance(key, str) else None
            if not isinstance(value, str) or not value:
                raise EmfError(f"dimension {key!r} must name a member holding a string")
            pairs.append((key, value))
        sets.append(tuple(pairs))
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
        raise EmfError(f"Metrics must be a list of at most {MAX_METRICS} definitions")
    found: list[MetricDatum] = []
    for definition in metrics:
        if not isinstance(definition, dict):
            raise EmfError("a metric definition must be an object")
        name = definition.get("Name")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
            raise EmfError("a metric's Name must be a string of 1 to 1024 characters")
        unit = definition.get("Unit", "None")
        if unit not in UNITS:
            raise EmfError(f"metric {name}: unknown unit {unit!r}")
        resolution = definition.get("StorageResolution", 60)
        if resolution not in (1, 60):
            raise EmfError(f"metric {name}: StorageResolution must be 1 or 60")
        values = _values(root.get(name), name)
        # A directive without dimension sets puts its metrics once, without dimensions.
        for dimensions in sets or [()]:
            found.append(
                MetricDatum(namespace, name, unit, values, dimensions, timestamp_ms, resolution)
            )
    return found


def _values(value: Any, name: str) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES or not all(_is_number(v) for v in values):
        raise EmfError(f"metric {name} must name a member holding 1 to {MAX_VALUES} numbers")
    return tuple(float(v) for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
