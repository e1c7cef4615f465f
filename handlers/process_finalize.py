"""`process_finalize`: store results (processed/, the record), publish document.processed."""

from __future__ import annotations

from typing import Any

from docflow.processing.config import ProcessingSettings, build
from shared.handler import lambda_handler

settings = ProcessingSettings.load()
processing = build(settings, actor="process_finalize")


@lambda_handler(trigger="task", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return processing.finalize(event)
