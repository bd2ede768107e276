"""gunicorn settings for Docket: ``gunicorn -c python:config.gunicorn config.wsgi …``.

Only what every deployment of Docket needs; everything else stays on the command line."""

from gunicorn.glogging import Logger

from config.log_redaction import RedactSecrets


class RedactingGunicornLogger(Logger):
    """gunicorn's logger with ``RedactSecrets`` on its access and error logs: the access log
    formats the request line, path, query, referrer and any header or environ atom, and the
    calendar feed's secret is in the path (``config/log_redaction.py``)."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactSecrets) for f in log.filters):
                log.addFilter(RedactSecrets())


logger_class = RedactingGunicornLogger
