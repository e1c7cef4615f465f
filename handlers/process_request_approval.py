"""`process_request_approval`: waitForTaskToken task: record the token, notify the approver."""

from __future__ import annotations

from typing import Any

from docflow.processing.config import ProcessingSettings, build
from docflow.processing.model import ApprovalRequest
from shared.handler import lambda_handler

settings = ProcessingSettings.load()
processing = build(settings, actor="process_request_approval")


@lambda_handler(trigger="task", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ApprovalRequest.from_state(event)
    return processing.request_approval(request.document_id, request.token, request.reasons)
