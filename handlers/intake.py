"""`intake`: S3 ObjectCreated under `incoming/`, exactly once per object version."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from docflow.documents.objects import S3Objects
from docflow.documents.store import DocumentStore
from docflow.documents.workflow import Workflow
from docflow.intake.model import Upload
from docflow.intake.service import Intake, IntakePolicy
from docflow.intake.store import SignatureCache
from shared.events.s3 import S3Event, S3Object
from shared.handler import lambda_handler
from shared.idempotency import Idempotency
from shared.settings import Settings, env


@dataclasses.dataclass(frozen=True)
class IntakeSettings(Settings):
    documents_table: str = env("DOCUMENTS_TABLE")
    idempotency_table: str = env("IDEMPOTENCY_TABLE")
    max_upload_bytes: int = env("MAX_UPLOAD_BYTES")
    allowed_types: tuple[str, ...] = env("ALLOWED_TYPES")
    signatures_key: str = env("SIGNATURES_KEY")
    state_machine_name: str = env("STATE_MACHINE_NAME", "")


settings = IntakeSettings.load()
store = DocumentStore(settings.documents_table)
objects = S3Objects()
signatures = SignatureCache(objects)
idempotency = Idempotency(settings.idempotency_table)
policy = IntakePolicy(
    settings.max_upload_bytes, frozenset(settings.allowed_types), settings.signatures_key
)
workflow = Workflow(settings.state_machine_name) if settings.state_machine_name else None


def _upload(obj: S3Object) -> Upload:
    return Upload(obj.bucket, obj.key, obj.size, obj.version_id, obj.version, obj.delivery_key)


@lambda_handler(trigger="event", settings=settings)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    records = S3Event.from_event(event).records
    # The signature list lives in the documents bucket, which every record names.
    signature_list = (
        signatures.load(records[0].bucket, settings.signatures_key) if records else None
    )
    intake = Intake(
        store,
        objects,
        policy,
        actor="intake",
        signature_list=signature_list,
        workflow=workflow,
    )
    results = [
        idempotency.run_once(
            f"intake#{obj.delivery_key}", functools.partial(intake.receive, _upload(obj))
        )
        for obj in records
    ]
    return {"results": [dataclasses.asdict(r) if ran else "duplicate" for ran, r in results]}
