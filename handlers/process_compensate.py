"""`process_compensate`: the saga compensation: remove partial outputs, mark failed, publish."""

from __future__ import annotations

from typing import Any

from docflow.processing.config import ProcessingSettings, build
from shared.handler import lambda_handler

settings = ProcessingSettings.load()
processing = build(settings, actor="process_compensate")


@lambda_handler(trigger="task", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return processing.compensate(event)
