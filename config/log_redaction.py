"""Secrets that travel in URL paths are kept out of the logs.

A calendar app cannot sign in or send a header, so the personal calendar feed's secret is in
its URL (``/calendar/<secret>.ics``, ``reporting.urls``): every access log would otherwise
record a credential that reads the user's deadlines in every agency they serve. The URL stays
as it is (the feeds people subscribed to keep working); what is written down becomes
``/calendar/[redacted].ics``.

``RedactSecrets`` is a logging filter: the settings' ``LOGGING`` puts it on the console
handler, on the development server's request log (``django.server``) and on
``django.request`` (which names the path of every 4xx/5xx). ``config/gunicorn.py`` does the
same for gunicorn's access and error logs. A reverse proxy in
front keeps its own access log: configure it the same way (``docs/operations.md``).
"""

from __future__ import annotations

import logging
import re

# Any segment between /calendar/ and .ics, whatever it holds (a guess at a secret is as
# private as the real one), in a path, a request line or a full URL.
SECRET_PATHS = (re.compile(r"(/calendar/)[^/?#\s\"']+?(\.ics)"),)
REDACTED = r"\1[redacted]\2"


def redact(text: str) -> str:
    for pattern in SECRET_PATHS:
        text = pattern.sub(REDACTED, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with the secrets redacted (the record is then passed on,
    never dropped). The formatted message replaces ``msg`` and ``args``, so every handler
    after this one sees the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
