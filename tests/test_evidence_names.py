"""An evidence item's original name is part of the record (issue 12, defect 6): a name with
path separators, control or bidirectional-override characters, NUL, or over 255 characters is
refused with the reason on every upload path, never rewritten. Django's multipart parser used
to strip such names before Docket saw them (``../../etc/passwd`` became ``passwd``); the raw
PUT and the command refused them already."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.models import Evidence

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
CONTENT = b"one line of an application log\n"

BAD_NAMES = [
    ("../../etc/passwd", "path separators"),
    ("..\\..\\boot.ini", "path separators"),
    ("evil\u202egol.exe", "control or formatting"),
    ("nul\x00.log", "control or formatting"),
    ("tab\there.log", "control or formatting"),
    ("x" * 252 + ".log", "longer than 255 characters"),
    ("..", "names no file"),
]
IDS = ["parent-dirs", "backslashes", "bidi-override", "nul", "tab", "too-long", "dot-dot"]


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def incident(open_incident):
    return open_incident(now=NOW - timedelta(hours=3))


def stored_files(media) -> list[Path]:
    root = Path(media)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def multipart(name: str, *, kind: str = "log") -> tuple[bytes, str]:
    """A multipart body as a client sends it, the file's name in its Content-Disposition
    (RFC 2231 encoded when it is not printable ASCII). Django's test client cannot send one:
    it keeps only the base name of a file."""
    boundary = uuid.uuid4().hex
    if name.isascii() and name.isprintable() and '"' not in name:
        disposition = f'filename="{name}"'
    else:
        disposition = f"filename*=UTF-8''{quote(name, safe='')}"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="kind"\r\n\r\n'
            f"{kind}\r\n"
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; {disposition}\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + CONTENT
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _post(client, url, name):
    body, content_type = multipart(name)
    return client.generic("POST", url, body, content_type=content_type)


@pytest.mark.parametrize(("name", "words"), BAD_NAMES, ids=IDS)
def test_api_multipart_refuses_a_bad_name_with_the_reason(api, alice, incident, media, name, words):
    response = _post(api(alice), f"/api/v1/incidents/{incident.number}/evidence/", name)
    assert response.status_code == 400, response.content[:300]
    assert words in response.json()["detail"]
    assert not Evidence.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize(("name", "words"), BAD_NAMES, ids=IDS)
def test_upload_page_refuses_a_bad_name_on_the_file_field(
    client, alice, incident, media, name, words
):
    client.force_login(alice)
    response = _post(client, f"/incidents/{incident.number}/evidence/", name)
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page
    assert 'href="#id_file"' in page
    assert not Evidence.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize(("name", "words"), BAD_NAMES, ids=IDS)
def test_raw_put_refuses_the_same_names(api, alice, incident, media, name, words):
    response = api(alice).put(
        f"/api/v1/incidents/{incident.number}/evidence/raw?kind=log&filename={quote(name)}",
        data=CONTENT,
        content_type="application/octet-stream",
    )
    assert response.status_code == 400
    # A NUL never reaches the upload: no URL may hold one (RefuseNulMiddleware).
    assert (words if "\x00" not in name else "NUL") in response.json()["detail"]
    assert not Evidence.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize("name", ["report (final) & notes.log", "a&amp;b.log", "Übersicht.log"])
def test_a_good_name_is_kept_exactly_as_sent(api, client, alice, incident, name):
    response = _post(api(alice), f"/api/v1/incidents/{incident.number}/evidence/", name)
    assert response.status_code == 201, response.content[:300]
    assert response.json()["original_filename"] == name
    client.force_login(alice)
    page = _post(client, f"/incidents/{incident.number}/evidence/", name)
    assert page.status_code == 302
    assert Evidence.objects.order_by("pk").last().original_filename == name


def test_the_command_refuses_a_bad_name_with_the_reason(alice, incident, tmp_path, media):
    path = tmp_path / "evil\u202egol.log"
    path.write_bytes(CONTENT)
    with pytest.raises(CommandError, match="control or formatting"):
        call_command("upload_evidence", incident.number, str(path), kind="log", user="alice")
    assert not Evidence.objects.exists()


def test_other_uploads_keep_django_s_name():
    """The handler only adds ``sent_name``: what other uploads read as ``name`` is unchanged."""
    from django.test import RequestFactory

    body, content_type = multipart("dir/plan.csv")
    request = RequestFactory().generic("POST", "/", body, content_type=content_type)
    uploaded = request.FILES["file"]
    assert uploaded.name == "plan.csv"
    assert uploaded.sent_name == "dir/plan.csv"
