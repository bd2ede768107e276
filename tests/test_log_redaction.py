"""The calendar feed's secret is its URL path: no log Docket configures writes it down, and the
feed URL people subscribed to keeps working."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.urls import reverse

from config.log_redaction import redact

SECRET = "Zq3xV9_secret-Token0123456789abcdefghijklmnopq"
PATH = f"/calendar/{SECRET}.ics"


@pytest.fixture
def streams():
    """``streams(logger_name)``: the handlers of that logger write into one StringIO."""
    swapped = []

    def _capture(name: str) -> io.StringIO:
        out = io.StringIO()
        for handler in logging.getLogger(name).handlers:
            if type(handler) is logging.StreamHandler:  # ours, not pytest's
                swapped.append((handler, handler.setStream(out)))
        assert swapped, f"{name} has handlers"
        return out

    yield _capture
    for handler, stream in swapped:
        handler.setStream(stream)


@pytest.mark.parametrize(
    "line",
    [
        f'"GET {PATH} HTTP/1.1" 200 1234',
        f"Not Found: {PATH}",
        f"http://docket.example.gov{PATH}?x=1",
        f'"HEAD {PATH} HTTP/1.1" 404 0 "https://docket.example.gov/calendar/" "Calendar/1.0"',
    ],
)
def test_redact_hides_the_feed_secret_and_keeps_the_rest(line):
    out = redact(line)
    assert SECRET not in out
    assert "/calendar/[redacted].ics" in out
    assert out.replace("[redacted]", SECRET) == line


def test_the_development_servers_request_log_redacts_the_secret(streams):
    out = streams("django.server")
    fake = SimpleNamespace(request=None, log_date_time_string=lambda: "10/Mar/2026 15:00:00")
    for status in ("200", "404"):
        WSGIRequestHandler.log_message(fake, '"%s" %s %s', f"GET {PATH} HTTP/1.1", status, "99")
    written = out.getvalue()
    assert SECRET not in written
    assert written.count('"GET /calendar/[redacted].ics HTTP/1.1"') == 2


def test_django_request_warnings_redact_the_secret(db, streams):
    out = streams("")  # the root logger's console handler, where django.request ends up
    assert Client().get(PATH).status_code == 404  # unknown token: "Not Found: <path>"
    written = out.getvalue()
    assert "Not Found: /calendar/[redacted].ics" in written
    assert SECRET not in written


def test_gunicorns_access_log_redacts_the_secret(tmp_path):
    from gunicorn.config import Config

    from config import gunicorn as gunicorn_settings

    cfg = Config()
    cfg.set("logger_class", gunicorn_settings.logger_class)
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %(U)s "%(f)s" %({raw_uri}e)s %({x-orig}i)s')
    log = cfg.logger_class(cfg)
    environ = {
        "REMOTE_ADDR": "203.0.113.7",
        "REQUEST_METHOD": "GET",
        "RAW_URI": PATH,
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://docket.example.gov{PATH}",
    }
    resp = SimpleNamespace(status="200 OK", headers=[], sent=10)
    req = SimpleNamespace(headers=[("X-ORIG", PATH)])
    log.access(resp, req, environ, timedelta(milliseconds=3))
    log.error("Error handling request %s", PATH)
    for handler in log.access_log.handlers + log.error_log.handlers:
        handler.flush()
    access = (tmp_path / "access.log").read_text()
    assert access.count("/calendar/[redacted].ics") == 5, access
    assert SECRET not in access
    assert SECRET not in (tmp_path / "error.log").read_text()


def test_the_subscribed_feed_url_still_works(client, carol):
    client.force_login(carol)
    page = client.post(reverse("calendar-settings")).content.decode()
    url = re.search(r'value="http://testserver(/calendar/[^"]+\.ics)"', page).group(1)
    response = Client().get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
