"""Settings of the processing functions, from the environment (values from the stage config).

The image limits, the CSV schema and the policy rules are built when a task asks for them,
and their modules imported then: the seven task functions share these settings, and one
that never transforms or checks policy (approval, finalize, reject, compensate) keeps the
image, CSV and policy code off its init (bench/coldstart.py measures it).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from docflow.documents.events import DocumentEvents
from docflow.documents.objects import S3Objects
from docflow.documents.store import DocumentStore
from docflow.processing.service import Processing
from shared.settings import Settings, SettingsError, env

if TYPE_CHECKING:
    from docflow.processing.images import ImageLimits
    from docflow.processing.policy import PolicyRules
    from docflow.processing.tables import CsvSchema


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProcessingSettings(Settings):
    documents_table: str = env("DOCUMENTS_TABLE")
    documents_bucket: str = env("DOCUMENTS_BUCKET")
    events_topic_arn: str = env("EVENTS_TOPIC_ARN")
    image_max_pixels: int = env("IMAGE_MAX_PIXELS", 50_000_000)
    thumbnail_size: int = env("THUMBNAIL_SIZE", 256)
    web_max_size: int = env("WEB_MAX_SIZE", 2048)
    web_quality: int = env("WEB_QUALITY", 80)
    csv_required_columns: tuple[str, ...] = env("CSV_REQUIRED_COLUMNS", ("amount",))
    csv_amount_column: str = env("CSV_AMOUNT_COLUMN", "amount")
    csv_date_column: str = env("CSV_DATE_COLUMN", "date")
    amount_threshold: str = env("POLICY_AMOUNT_THRESHOLD", "10000")
    image_max_bytes: int = env("POLICY_IMAGE_MAX_BYTES", 5 * 1024 * 1024)
    sender_allow_list: tuple[str, ...] = env("POLICY_SENDER_ALLOW_LIST", ("*",))
    approval_timeout_seconds: int = env("APPROVAL_TIMEOUT_SECONDS", 86_400)

    def __post_init__(self) -> None:
        # Read at init, though only the policy task uses it: a malformed threshold fails
        # every function's start, naming the variable, not the first CSV that needs it.
        self._threshold()

    def _threshold(self) -> Decimal:
        try:
            return Decimal(self.amount_threshold)
        except InvalidOperation as exc:
            raise SettingsError(
                f"environment variable POLICY_AMOUNT_THRESHOLD is malformed: "
                f"{self.amount_threshold!r} is not a number"
            ) from exc

    def image_limits(self) -> ImageLimits:
        from docflow.processing.images import ImageLimits

        return ImageLimits(
            self.image_max_pixels, self.thumbnail_size, self.web_max_size, self.web_quality
        )

    def csv_schema(self) -> CsvSchema:
        from docflow.processing.tables import CsvSchema

        return CsvSchema(
            tuple(c.strip().lower() for c in self.csv_required_columns),
            self.csv_amount_column or None,
            self.csv_date_column or None,
        )

    def policy_rules(self) -> PolicyRules:
        from docflow.processing.policy import PolicyRules

        return PolicyRules(
            self._threshold(), self.image_max_bytes, frozenset(self.sender_allow_list)
        )


def build(settings: ProcessingSettings, actor: str = "processing") -> Processing:
    """The task service wired to its AWS collaborators (clients are created on first use)."""
    return Processing(
        documents=DocumentStore(settings.documents_table),
        objects=S3Objects(),
        events=DocumentEvents(settings.events_topic_arn),
        config=settings,
        actor=actor,
    )
