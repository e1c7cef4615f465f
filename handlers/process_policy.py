"""`process_policy`: Step Functions task: does policy route this document to an approver?"""

from __future__ import annotations

from typing import Any

from docflow.processing.config import ProcessingSettings, build
from docflow.processing.model import ProcessingInput
from shared.handler import lambda_handler

settings = ProcessingSettings.load()
processing = build(settings, actor="process_policy")


@lambda_handler(trigger="task", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return processing.check_policy(ProcessingInput.from_state(event), event.get("outputs") or [])
