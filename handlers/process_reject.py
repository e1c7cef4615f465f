"""`process_reject`: rejected or expired approval: remove outputs, mark rejected."""

from __future__ import annotations

from typing import Any

from docflow.processing.config import ProcessingSettings, build
from shared.handler import lambda_handler

settings = ProcessingSettings.load()
processing = build(settings, actor="process_reject")


@lambda_handler(trigger="task", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return processing.reject(event)
