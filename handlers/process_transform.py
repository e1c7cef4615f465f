"""`process_transform`: Map iteration: one transform job (thumbnail, web, records)."""

from __future__ import annotations

from typing import Any

from docflow.processing.config import ProcessingSettings, build
from docflow.processing.model import ProcessingInput, job_of
from shared.handler import lambda_handler

settings = ProcessingSettings.load()
processing = build(settings, actor="process_transform")


@lambda_handler(trigger="task", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return processing.transform(ProcessingInput.from_state(event), job_of(event))
