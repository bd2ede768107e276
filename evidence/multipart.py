"""The file name a client sent with a multipart upload, as it sent it.

Django's multipart parser rewrites a file's name before any view sees it: it keeps what
follows the last ``/`` or ``\\``, drops characters that are not printable, unescapes HTML
entities, cuts it to 255 characters and skips the file altogether when nothing is left
(``../../etc/passwd`` arrives as ``passwd``). An evidence item's original name is part of the
record, so it must be refused with the reason, not silently changed (``services.clean_filename``
is that one rule, on every upload path).

``SentNameUploadHandler``, first in ``FILE_UPLOAD_HANDLERS``, takes over parsing (Django's
``handle_raw_input`` hook) with ``SentNameParser``, which is Django's parser except that each
uploaded file also carries ``sent_name``, the name from its Content-Disposition header (RFC 2231
decoded), and that a file whose name Django would empty is kept, under a placeholder ``name``,
so that its ``sent_name`` can be refused. Pages, the API and the admin all parse through it.
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.utils.encoding import force_str

# The ``name`` of a file whose sent name Django's sanitising leaves empty ("..", "a/").
PLACEHOLDER = "unnamed"


def sent_name(uploaded) -> str:
    """The name the client sent for ``uploaded`` (its ``name`` when no parser recorded one)."""
    return getattr(uploaded, "sent_name", None) or uploaded.name


class SentNameParser(MultiPartParser):
    """Django's multipart parser; each file keeps the name as sent in ``sent_name``."""

    _sent_name: str | None = None

    def sanitize_file_name(self, file_name):
        self._sent_name = file_name
        return super().sanitize_file_name(file_name) or PLACEHOLDER

    def handle_file_complete(self, old_field_name, counters):
        # The parser completes a file when the next part starts, before it names that part.
        name = force_str(old_field_name, self._encoding, errors="replace")
        before = len(self._files.getlist(name))
        super().handle_file_complete(old_field_name, counters)
        files = self._files.getlist(name)
        if len(files) > before:
            files[-1].sent_name = self._sent_name


class SentNameUploadHandler(FileUploadHandler):
    """Parses the whole multipart body with ``SentNameParser`` and the other configured
    handlers (which store the files as they always do)."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        others = [h for h in self.request.upload_handlers if h is not self]
        return SentNameParser(META, input_data, others, encoding).parse()

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None
