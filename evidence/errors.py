"""Errors particular to evidence; the API maps each by its ``status`` like every DocketError."""

from core.errors import DocketError, InvalidInput


class TooLarge(DocketError):
    """The upload is over ``DOCKET_EVIDENCE_MAX_BYTES``."""

    status = 413


class LengthRequired(DocketError):
    """A raw-body upload without ``Content-Length``."""

    status = 411


class UploadInterrupted(InvalidInput):
    """The source stopped before the end (a client gone, a read error): nothing was kept."""


class IntegrityFailure(DocketError):
    """The stored file no longer matches the SHA-256 recorded at upload."""

    status = 409
