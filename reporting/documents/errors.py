"""The errors of report documents."""


class RenderError(Exception):
    """The document could not be rendered; the message names the problem."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FetchRefused(Exception):
    """The report's URL fetcher refused a URL (it serves Docket's static files and data: only)."""
