"""CloudWatch embedded metric format: metrics as one structured log line per flush.

Lambda ships stdout to CloudWatch Logs, which extracts the metrics; no API call, no client.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

MAX_METRICS_PER_LINE = 100


class Metrics:
    def __init__(self, namespace: str, dimensions: dict[str, str] | None = None) -> None:
        self.namespace = namespace
        self.dimensions = dict(dimensions or {})
        self._values: dict[str, tuple[str, list[float]]] = {}
        self._properties: dict[str, Any] = {}

    def add(self, name: str, value: float, unit: str = "Count") -> None:
        self._values.setdefault(name, (unit, []))[1].append(float(value))

    def set_property(self, key: str, value: Any) -> None:
        """High-cardinality context (ids) that is searchable but not a dimension."""
        self._properties[key] = value

    def serialize(self, timestamp_ms: int | None = None) -> list[dict[str, Any]]:
        names = list(self._values)
        lines = []
        for start in range(0, len(names), MAX_METRICS_PER_LINE):
            chunk = names[start : start + MAX_METRICS_PER_LINE]
            line: dict[str, Any] = {
                "_aws": {
                    "Timestamp": timestamp_ms or int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": [sorted(self.dimensions)],
                            "Metrics": [{"Name": n, "Unit": self._values[n][0]} for n in chunk],
                        }
                    ],
                },
                **self.dimensions,
                **self._properties,
            }
            for name in chunk:
                values = self._values[name][1]
                line[name] = values[0] if len(values) == 1 else values
            lines.append(line)
        return lines

    def flush(self, stream: TextIO | None = None, timestamp_ms: int | None = None) -> None:
        """Write the metrics; `timestamp_ms` dates them (a log window's start), else now."""
        out = stream or sys.stdout
        for line in self.serialize(timestamp_ms):
            out.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
        self._values.clear()
        self._properties.clear()
