"""The errors processing raises: files refused as sent (`RejectedError`s), decision refusals."""

from __future__ import annotations

from shared.errors import ConflictError, ForbiddenError, RejectedError

# -- a file refused as sent: the document ends `rejected` with the code as its reason's prefix


class ImageBombError(RejectedError):
    """The image declares more pixels than the configured limit."""

    code = "image_bomb"


class CorruptImageError(RejectedError):
    """The bytes are not a readable PNG or JPEG image (damaged, truncated, bad metadata)."""

    code = "corrupt_image"


class CsvEncodingError(RejectedError):
    code = "csv_encoding"


class CsvNoHeaderError(RejectedError):
    code = "csv_no_header"


class CsvColumnsError(RejectedError):
    code = "csv_missing_columns"


class CsvDuplicateColumnsError(RejectedError):
    code = "csv_duplicate_columns"


class CsvTooWideError(RejectedError):
    code = "csv_too_wide"


class CsvNoRowsError(RejectedError):
    code = "csv_no_rows"


class CsvFormatError(RejectedError):
    """Not a single row of the file is valid (each one is in the error report)."""

    code = "csv_no_valid_rows"


# -- an approver's decision the document cannot take


class NotAwaitingApprovalError(ConflictError):
    code = "not_awaiting_approval"


class AlreadyDecidedError(ConflictError):
    code = "already_decided"


class SeparationOfDutiesError(ForbiddenError):
    """The key that submitted the document (or anyone, if no submitter is recorded) decides."""

    code = "separation_of_duties"
