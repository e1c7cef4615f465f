"""`process_extract`: Step Functions task: source metadata and the jobs its type needs."""

from __future__ import annotations

from typing import Any

from docflow.processing.config import ProcessingSettings, build
from docflow.processing.model import ProcessingInput
from shared.handler import lambda_handler

settings = ProcessingSettings.load()
processing = build(settings, actor="process_extract")


@lambda_handler(trigger="task", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return processing.extract(ProcessingInput.from_state(event))
