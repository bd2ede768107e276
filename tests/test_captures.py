"""Commands executed in scap captures, decoded by Debian's sysdig: the runner on the real
captures of ``../shared/data/scap/`` (``evidence.scap_commands``), the extraction after a scap
upload commits, re-running it, and every way it fails being recorded instead of raised
(``evidence.captures``)."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core.errors import InvalidInput, NotFound, NotPermitted
from evidence import captures, scap_commands
from evidence import services as evidence_services
from evidence.captures import capture_commands_extract, capture_commands_request
from evidence.models import Action, CustodyEntry
from incidents.models import CapturedCommand, CommandExtraction, ExtractionStatus

from .support.captures import fake_sysdig, needs_sysdig
from .support.data import shared_file

CURL_NS = 1534527348514632619  # 2018-08-17T17:35:48.514632619Z, event 211 of curl_google.scap


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def incident(open_incident):
    return open_incident(now=timezone.now() - timedelta(hours=2))


@pytest.fixture
def upload(ctx, alice, agency_a, incident, django_capture_on_commit_callbacks):
    """``upload(name, kind="scap")``: alice uploads a real capture; what is queued on commit
    (the extraction, run eagerly by Celery in tests) runs."""

    def _upload(name, *, kind="scap", content=None):
        data = content if content is not None else shared_file("scap", name).read_bytes()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            ev = evidence_services.evidence_upload(
                ctx=ctx(alice, agency_a),
                incident=incident,
                fileobj=io.BytesIO(data),
                filename=name,
                kind=kind,
            )
        _upload.callbacks = callbacks
        return ev

    return _upload


# --- the runner, on the real captures ------------------------------------------------------


@needs_sysdig
@pytest.mark.parametrize("name", ["curl_google.scap", "raw.scap"])
def test_sysdig_finds_curl_in_the_real_capture(name):
    result = scap_commands.extract(str(shared_file("scap", name)))
    assert result.tool.startswith("sysdig version ")
    [curl] = result.commands
    assert curl.cmdline == "curl -6 http://www.google.com"
    assert (curl.evt_num, curl.time_ns) == (211, CURL_NS)
    assert curl.time == datetime(2018, 8, 17, 17, 35, 48, 514632, tzinfo=UTC)
    assert (curl.pid, curl.ppid, curl.tid) == (17497, 3200, 17497)
    assert (curl.process_name, curl.parent_name, curl.exe) == ("curl", "bash", "curl")
    assert curl.cwd == "/home/ubuntu"
    assert curl.container_id == "host"
    assert curl.uid is None  # the capture's user table does not know uid (uint32)-1


@needs_sysdig
def test_sysdig_finds_the_ipv6_client():
    [cmd] = scap_commands.extract(str(shared_file("scap", "test_ipv6_client.scap"))).commands
    assert (cmd.time_ns, cmd.pid, cmd.ppid) == (1534551451397502021, 19747, 19117)
    assert cmd.exe == "./test_ipv6_client"


@needs_sysdig
def test_a_capture_libscap_cannot_read_fails_with_sysdigs_reason():
    with pytest.raises(scap_commands.ExtractionFailed, match=r"exit status 1\): .*truncated"):
        scap_commands.extract(str(shared_file("scap", "curl_google_comments.scap")))


def test_the_argv_has_no_shell_and_names_every_field():
    args = scap_commands.argv("/usr/bin/sysdig", "/var/evidence/x.scap")
    assert args[:4] == ["/usr/bin/sysdig", "-r", "/var/evidence/x.scap", "-j"]
    assert args[4] == "-p" and args[5].startswith("*%evt.num %evt.rawtime")
    assert args[6] == scap_commands.FILTER


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (b"not json\n", "line 1 is not JSON"),
        (b'{"evt.num": 1, "evt.rawtime": 5}\n[1]\n', "line 2 is not a JSON object"),
        (b'{"evt.num": "x", "evt.rawtime": 5}\n', "no event number or time"),
    ],
)
def test_unexpected_output_is_refused_whole(output, reason):
    with pytest.raises(scap_commands.ExtractionFailed, match=reason):
        scap_commands.parse(output)


def test_a_line_separator_inside_a_command_line_does_not_split_its_json_line():
    # JSON writers leave U+2028 raw in strings; an attacker can put one in a command line.
    line = '{"evt.num": 3, "evt.rawtime": 5, "proc.cmdline": "echo a\u2028b", "proc.pid": 9}\n'
    [c] = scap_commands.parse(line.encode())
    assert c.cmdline == "echo a\u2028b" and c.pid == 9


def test_odd_values_in_the_output_are_made_storable():
    [c] = scap_commands.parse(
        b'{"evt.num": 7, "evt.rawtime": 1000, "proc.cmdline": "sh -c \\u0000x", "proc.pid": true,'
        b' "user.uid": 0, "user.name": ["root"], "proc.cwd": null}\n\n'
    )
    assert c.cmdline == "sh -c \ufffdx"
    assert c.pid is None and c.uid == 0 and c.user_name == '["root"]' and c.cwd == ""


def test_a_missing_binary_is_named():
    with pytest.raises(scap_commands.ExtractionFailed, match="sysdig is not installed"):
        scap_commands.extract("/var/evidence/x.scap", binary="/nonexistent/sysdig")


def test_the_time_limit_kills_sysdig(tmp_path):
    binary = fake_sysdig(tmp_path, "sleep 30")
    started = timezone.now()
    with pytest.raises(scap_commands.ExtractionFailed, match=r"did not finish within 0\.5 seconds"):
        scap_commands.run([binary], timeout=0.5)
    assert timezone.now() - started < timedelta(seconds=10)


def test_the_output_cap_kills_sysdig(tmp_path):
    binary = fake_sysdig(tmp_path, "yes '{}'")
    with pytest.raises(scap_commands.ExtractionFailed, match="more than 100000 bytes"):
        scap_commands.run([binary], max_output=100_000, timeout=30)


# --- after an upload, and again --------------------------------------------------------------


@needs_sysdig
def test_a_scap_upload_gets_its_commands_after_commit(upload, incident):
    ev = upload("curl_google.scap")
    extraction = CommandExtraction.objects.get(evidence=ev)
    assert extraction.status == ExtractionStatus.SUCCEEDED, extraction.error
    assert (extraction.commands, extraction.runs, extraction.error) == (1, 1, "")
    assert extraction.tool.startswith("sysdig version 0.")
    [cmd] = CapturedCommand.objects.filter(evidence=ev)
    assert (cmd.cmdline, cmd.time_ns, cmd.pid, cmd.ppid, cmd.evt_num) == (
        "curl -6 http://www.google.com",
        CURL_NS,
        17497,
        3200,
        211,
    )
    assert cmd.raw["proc.cmdline"] == "curl -6 http://www.google.com"
    # The read is on the item's custody ledger, and the chain still holds.
    read = CustodyEntry.objects.filter(evidence=ev, action=Action.VIEW).get()
    assert read.actor_name == "system" and "sysdig" in read.note
    assert evidence_services.ledger_check(ev) == []


@needs_sysdig
def test_running_it_again_stores_the_same_commands_once(upload):
    ev = upload("curl_google.scap")
    out = io.StringIO()
    call_command("extract_commands", str(ev.pk), stdout=out)
    assert f"evidence {ev.pk}: 1 command(s) (sysdig version" in out.getvalue()
    assert CapturedCommand.objects.filter(evidence=ev).count() == 1
    assert CommandExtraction.objects.get(evidence=ev).runs == 2


def test_other_evidence_is_not_decoded(upload, incident):
    ev = upload("notes.txt", kind="document", content=b"Notes of the call.\n")
    assert not CommandExtraction.objects.exists()
    with pytest.raises(InvalidInput, match="not a scap capture"):
        capture_commands_extract(evidence_id=ev.pk)


def test_a_missing_sysdig_is_recorded_not_raised(upload, settings):
    settings.DOCKET_SYSDIG_BINARY = "/nonexistent/sysdig"
    ev = upload("curl_google.scap")
    extraction = CommandExtraction.objects.get(evidence=ev)
    assert extraction.status == ExtractionStatus.FAILED
    assert "sysdig is not installed" in extraction.error
    assert extraction.finished_at is not None
    assert not CapturedCommand.objects.exists()


@needs_sysdig
def test_a_capture_sysdig_cannot_read_is_recorded_with_its_reason(upload):
    ev = upload("curl_google_comments.scap")  # valid blocks, but libscap 0.29 refuses it
    extraction = CommandExtraction.objects.get(evidence=ev)
    assert extraction.status == ExtractionStatus.FAILED
    assert "exit status 1" in extraction.error and "truncated" in extraction.error
    assert not CapturedCommand.objects.filter(evidence=ev).exists()
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 extraction"):
        call_command("extract_commands", str(ev.pk), stdout=io.StringIO(), stderr=err)
    assert "FAILED: sysdig failed" in err.getvalue()


def test_a_tampered_file_is_not_decoded(upload, settings):
    settings.DOCKET_SYSDIG_BINARY = "/nonexistent/sysdig"
    ev = upload("curl_google.scap")
    with open(default_storage.path(ev.storage_name), "ab") as fh:
        fh.write(b"tampered")
    extraction = capture_commands_extract(evidence_id=ev.pk)
    assert extraction.status == ExtractionStatus.FAILED
    assert "SHA-256" in extraction.error
    # The read that found it is on the ledger as a failed verification.
    failed = ev.custody.get(action=Action.VERIFY)
    assert failed.note.startswith("FAILED: SHA-256 mismatch while decoding commands")
    assert failed.data["ok"] is False and failed.actor_name == "system"


@needs_sysdig
def test_a_storage_without_local_paths_is_copied_to_a_temporary_file(upload, monkeypatch):
    ev = upload("raw.scap")

    class Remote:
        """A storage that has no local paths (like S3): only ``open``."""

        def path(self, name):
            raise NotImplementedError("remote storage")

        def open(self, name, mode="rb"):
            return default_storage.open(name, mode)

    monkeypatch.setattr(captures, "default_storage", Remote())
    extraction = capture_commands_extract(evidence_id=ev.pk)
    assert extraction.status == ExtractionStatus.SUCCEEDED, extraction.error
    assert extraction.commands == 1


def test_a_failed_rerun_records_the_error_and_leaves_no_commands(upload, settings, tmp_path):
    settings.DOCKET_SYSDIG_BINARY = fake_sysdig(
        tmp_path,
        'echo \'{"evt.num": 5, "evt.rawtime": 1534527348514632619, '
        '"proc.cmdline": "id", "proc.pid": 9}\'',
    )
    ev = upload("raw.scap")
    assert CapturedCommand.objects.get(evidence=ev).cmdline == "id"
    settings.DOCKET_SYSDIG_BINARY = fake_sysdig(tmp_path, "echo broken >&2; exit 3")
    extraction = capture_commands_extract(evidence_id=ev.pk)
    assert extraction.status == ExtractionStatus.FAILED
    assert extraction.error == "sysdig failed (exit status 3): broken"
    assert (extraction.commands, extraction.runs) == (0, 2)
    assert not CapturedCommand.objects.filter(evidence=ev).exists()


def test_extract_commands_names_an_unknown_item(db):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("extract_commands", "999999", stderr=err)
    assert "No evidence 999999" in err.getvalue()


def test_a_rerun_request_is_scoped_and_needs_a_handler(
    upload,
    ctx,
    carol,
    audrey,
    bob,
    agency_a,
    agency_b,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.DOCKET_SYSDIG_BINARY = "/nonexistent/sysdig"
    ev = upload("raw.scap")
    with pytest.raises(NotFound):
        capture_commands_request(ctx=ctx(bob, agency_b), evidence=ev)
    with pytest.raises(NotPermitted):
        capture_commands_request(ctx=ctx(audrey, agency_a), evidence=ev)
    with django_capture_on_commit_callbacks(execute=True):
        capture_commands_request(ctx=ctx(carol, agency_a), evidence=ev)
    assert CommandExtraction.objects.get(evidence=ev).runs == 2


def test_the_api_queues_a_rerun_for_handlers_only(
    upload, api, carol, olivia, audrey, bob, settings, django_capture_on_commit_callbacks
):
    settings.DOCKET_SYSDIG_BINARY = "/nonexistent/sysdig"
    ev = upload("raw.scap")
    url = f"/api/v1/evidence/{ev.pk}/extract-commands"
    assert api(bob).post(url).status_code == 404
    assert api(audrey).post(url).status_code == 404  # an auditor not granted the incident
    assert api(olivia).post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api(carol).post(url)
    assert response.status_code == 202 and response.json() == {"queued": ev.pk}
    extraction = CommandExtraction.objects.get(evidence=ev)
    assert extraction.runs == 2 and "/nonexistent/sysdig" in extraction.error


def test_sysdig_runs_under_prlimit_when_it_is_installed(monkeypatch):
    args = ["/usr/bin/sysdig", "-r", "x"]
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert scap_commands.limited(args, max_memory=1 << 30, cpu_seconds=301) == [
        "/usr/bin/prlimit",
        f"--as={1 << 30}",
        "--cpu=301",
        "--",
        *args,
    ]
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert scap_commands.limited(args, max_memory=1 << 30, cpu_seconds=301) == args


@needs_sysdig
@pytest.mark.skipif(shutil.which("prlimit") is None, reason="util-linux prlimit not installed")
def test_the_memory_cap_stops_sysdig(upload, settings):
    settings.DOCKET_SYSDIG_MAX_MEMORY_BYTES = 8 << 20
    ev = upload("curl_google.scap")
    extraction = CommandExtraction.objects.get(evidence=ev)
    assert extraction.status == ExtractionStatus.FAILED
    assert "sysdig failed (exit status" in extraction.error
    assert not CapturedCommand.objects.exists()


def test_a_flood_on_standard_error_is_cut_to_its_first_lines(tmp_path):
    binary = fake_sysdig(tmp_path, "yes 'libscap: warning' | head -c 5000000 >&2; exit 2")
    with pytest.raises(scap_commands.ExtractionFailed) as exc:
        scap_commands.run([binary], timeout=30)
    assert str(exc.value).startswith("sysdig failed (exit status 2): libscap: warning")
    assert len(str(exc.value)) < 600
