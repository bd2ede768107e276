"""Evidence packages: a signed BagIt 1.0 bag of an incident in one streamed ZIP, built by the
worker from a job row or written by ``export_package``, checked by ``verify_package`` and by
the Library of Congress's ``bagit`` (module and ``bagit.py`` CLI), its signature by
``core.signing`` and by ``openssl``; downloads only for those who see the incident.

Personas (tests/conftest.py): carol the compliance officer, audrey an auditor (granted the
incident here unless a test says otherwise), adam the administrator, alice the ISSO, bob of
the other agency.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import struct
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bagit
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.context import context_for
from accounts.models import Membership, Role
from accounts.scoping import scope
from audit.checkpoints import checkpoint_audit_chains
from audit.models import AuditEntry
from compliance.risk import services as services_risk
from core import ledger, signing
from core.canonical import canonical_sha256
from core.errors import NotFound, NotPermitted
from core.jobs import sweep_now
from core.time import format_local
from evidence import integrity
from evidence import services as evidence_services
from evidence.errors import IntegrityFailure
from evidence.models import Action, CustodyEntry
from incidents.models import AuditorGrant, Incident
from packages import services
from packages.bag import BagBuild
from packages.models import Package
from reporting import reports
from reporting.models import ReportVersion

NOW = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the DST night
LOG = b"Nov  1 01:10:00 web-1 sshd[811]: Accepted publickey for deploy\n" * 40
CAPTURE = bytes(range(256)) * 300  # not compressible, as captures are not
VENV_BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def world(ctx, carol, audrey, agency_a, web_system, audit_grant):
    incident = audit_grant(audrey, web_system, now=NOW - timedelta(hours=5), title="Vault shell")
    carol_ctx = ctx(carol, agency_a)
    items = [
        evidence_services.evidence_upload(
            ctx=carol_ctx,
            incident=incident,
            fileobj=io.BytesIO(LOG),
            filename="auth log (web-1).log",
            kind="log",
        ),
        evidence_services.evidence_upload(
            ctx=carol_ctx,
            incident=incident,
            fileobj=io.BytesIO(CAPTURE),
            filename="dump.bin",
            kind="other",
        ),
    ]
    services_risk.snapshot_take(ctx=carol_ctx, incident=incident)
    return {"incident": incident, "items": items, "carol": carol_ctx}


def demo_user(username):
    return get_user_model().objects.get(username=username)


def _build(ctx, incident, capture) -> Package:
    with capture(execute=True):
        package = services.package_request(ctx=ctx, incident=incident)
    package.refresh_from_db()
    return package


def _stored_zip(package: Package, tmp_path: Path) -> Path:
    out = tmp_path / package.file_name
    with default_storage.open(package.storage_name, "rb") as fh, out.open("wb") as dst:
        shutil.copyfileobj(fh, dst)
    return out


def _unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as zf:
        zf.extractall(into)
    (bag,) = list(into.iterdir())
    return bag


def _rezip(bag: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(bag.rglob("*")):
            if p.is_file():
                zf.write(p, f"{bag.name}/{p.relative_to(bag).as_posix()}")
    return out


def _bagit_cli(bag: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (the venv's bagit.py on a bag this test made)
        [str(VENV_BIN / "python"), str(VENV_BIN / "bagit.py"), "--validate", str(bag)],
        capture_output=True,
        text=True,
        check=False,
    )


def _verify(path: Path, *args) -> tuple[bool, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_package", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, out.getvalue() + err.getvalue() + str(exc)
    return True, out.getvalue() + err.getvalue()


@pytest.fixture
def built(ctx, audrey, agency_a, world, django_capture_on_commit_callbacks, tmp_path):
    package = _build(ctx(audrey, agency_a), world["incident"], django_capture_on_commit_callbacks)
    assert package.state == "done", package.error
    return package, _stored_zip(package, tmp_path)


# --- what a package holds, and that BagIt tools accept it ------------------------------------


def test_a_built_package_validates_with_the_library_of_congress_bagit(built, world, tmp_path):
    package, path = built
    bag_dir = _unzip(path, tmp_path / "unzipped")
    assert bag_dir.name == package.name == path.stem
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # raises BagValidationError on any problem
    assert set(bag.algorithms) == {"sha256", "sha512"}
    cli = _bagit_cli(bag_dir)
    assert cli.returncode == 0, cli.stderr
    assert "is valid" in cli.stderr

    info = bag.info
    assert info["Source-Organization"] == world["incident"].agency.name
    assert info["External-Identifier"] == world["incident"].number
    assert info["Bagging-Date"] == "2026-11-01"
    assert info["Bag-Software-Agent"].startswith("Docket ")
    assert info["BagIt-Profile-Identifier"].endswith("evidence-package-v1.json")
    payload = [p for p in bag_dir.joinpath("data").rglob("*") if p.is_file()]
    assert info["Payload-Oxum"] == f"{sum(p.stat().st_size for p in payload)}.{len(payload)}"

    # Every tag file Docket writes, the signature files included, is in both tag manifests.
    tags = {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"}
    tags |= {"index.html", "signatures/attestation.json", "signatures/attestation.json.sig"}
    for algorithm in ("sha256", "sha512"):
        listed = {
            line.split(maxsplit=1)[1]
            for line in (bag_dir / f"tagmanifest-{algorithm}.txt").read_text().splitlines()
        }
        assert listed == tags


def test_the_package_holds_the_original_bytes_the_custody_and_the_record(built, world, tmp_path):
    package, path = built
    bag_dir = _unzip(path, tmp_path / "unzipped")
    log, capture = world["items"]
    evidence = sorted((bag_dir / "data" / "evidence").iterdir())
    assert [p.read_bytes() for p in evidence] == [LOG, CAPTURE]
    assert evidence[0].name == f"{log.pk:05d}-auth_log_web-1_.log"

    record = json.loads((bag_dir / "data" / "incident.json").read_text())
    assert record["incident"]["number"] == world["incident"].number
    assert record["time_zone"] == "America/New_York"
    assert record["incident"]["created_at_local"].endswith("(America/New_York)")
    assert [e["original_filename"] for e in record["evidence"]] == [
        "auth log (web-1).log",
        "dump.bin",
    ]
    assert record["obligations"] == [] or "due_at" in record["obligations"][0]
    assert record["events"], "the incident's event log is in the record"
    assert list((bag_dir / "data" / "compliance").glob("snapshot-*.json"))
    timeline = json.loads((bag_dir / "data" / "timeline.json").read_text())
    assert timeline["time_zone"] == "America/New_York"
    assert (bag_dir / "data" / "timeline.csv").read_text().startswith("time,time_local,")

    # Each item packed appended an export entry, shown in the packed ledger itself.
    for ev in (log, capture):
        entry = CustodyEntry.objects.filter(evidence=ev).order_by("-seq").first()
        assert entry.action == Action.EXPORT
        assert entry.data["package"] == str(package.uid)
        assert entry.actor.username == "audrey"
        ledger = json.loads(
            (bag_dir / "data" / "custody" / f"{ev.pk:05d}-custody.json").read_text()
        )
        assert ledger["chain"]["intact"] is True
        assert ledger["entries"][-1]["action"] == "export"
        assert ledger["entries"][-1]["entry_hash"] == entry.entry_hash
        assert evidence_services.ledger_check(ev) == []

    index = (bag_dir / "index.html").read_text()
    assert "<script" not in index
    assert log.sha256 in index and "(America/New_York)" in index


def test_the_recorded_sha256_size_and_contents_match_the_stored_zip(built):
    package, path = built
    data = path.read_bytes()
    assert package.sha256 == hashlib.sha256(data).hexdigest()
    assert package.size == len(data)
    with zipfile.ZipFile(path) as zf:
        names = sorted(i.filename for i in zf.infolist())
        recorded = {c["path"]: c["sha256"] for c in package.contents}
        assert sorted(recorded) == names
        for name in names:
            assert recorded[name] == hashlib.sha256(zf.read(name)).hexdigest()
        evidence = [i for i in zf.infolist() if "/data/evidence/" in i.filename]
        assert evidence and all(i.compress_type == zipfile.ZIP_STORED for i in evidence)
    # Every member's local header carries a ZIP64 extra field (its size is not known before it
    # streams), so an item over 4 GiB needs nothing else.
    raw = path.read_bytes()
    for info in zipfile.ZipFile(path).infolist():
        name_len, extra_len = struct.unpack(
            "<HH", raw[info.header_offset + 26 : info.header_offset + 30]
        )
        extra = raw[info.header_offset + 30 + name_len :][:extra_len]
        assert extra[:2] == b"\x01\x00", info.filename
    unzip = shutil.which("unzip")
    assert unzip, "Info-ZIP's unzip is on PATH here"
    tested = subprocess.run([unzip, "-tq", str(path)], capture_output=True, text=True, check=False)  # noqa: S603
    assert tested.returncode == 0, tested.stdout + tested.stderr
    ok, out = _verify(path)
    assert ok, out
    assert f"Issued by Docket: package {package.uid}" in out


def test_a_withdrawn_item_is_left_out_and_said_so(
    ctx, olivia, agency_a, audrey, world, django_capture_on_commit_callbacks, tmp_path
):
    _, capture = world["items"]
    evidence_services.evidence_withdraw(
        ctx=ctx(olivia, agency_a), evidence=capture, reason="Collected from the wrong host"
    )
    package = _build(ctx(audrey, agency_a), world["incident"], django_capture_on_commit_callbacks)
    bag_dir = _unzip(_stored_zip(package, tmp_path), tmp_path / "unzipped")
    assert [p.read_bytes() for p in (bag_dir / "data" / "evidence").iterdir()] == [LOG]
    assert "Collected from the wrong host" in (bag_dir / "index.html").read_text()
    bagit.Bag(str(bag_dir)).validate()


# --- tampering: verify_package and bagit both catch it ---------------------------------------


def _flip_evidence_byte(bag: Path) -> None:
    target = sorted((bag / "data" / "evidence").iterdir())[1]
    data = bytearray(target.read_bytes())
    data[1000] ^= 0x01
    target.write_bytes(bytes(data))


def _remove_file(bag: Path) -> None:
    sorted((bag / "data" / "evidence").iterdir())[0].unlink()


def _add_file(bag: Path) -> None:
    (bag / "data" / "evidence" / "planted.log").write_bytes(b"not from Docket\n")


def _edit_bag_info(bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text(info.read_text().replace("External-Identifier: ", "External-Identifier: X"))


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_flip_evidence_byte, "sha256 does not match manifest-sha256.txt (altered)"),
        (_remove_file, "which is not in the bag (removed?)"),
        (_add_file, "is in the bag but not in manifest-sha256.txt (added?)"),
        (_edit_bag_info, "bag-info.txt: sha256 does not match tagmanifest-sha256.txt"),
    ],
    ids=["flipped-byte", "removed-file", "added-file", "edited-bag-info"],
)
def test_tampering_is_caught_by_verify_package_and_by_bagit(built, tmp_path, tamper, expected):
    _, path = built
    bag_dir = _unzip(path, tmp_path / "unzipped")
    tamper(bag_dir)
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()
    assert _bagit_cli(bag_dir).returncode != 0
    tampered = _rezip(bag_dir, tmp_path / path.name)
    ok, out = _verify(tampered)
    assert not ok
    assert expected in out
    assert "Docket recorded no package with SHA-256" in out


def test_a_rezipped_untouched_bag_verifies_offline_but_is_not_the_issued_file(built, tmp_path):
    _, path = built
    bag_dir = _unzip(path, tmp_path / "unzipped")
    copy = _rezip(bag_dir, tmp_path / path.name)
    ok, out = _verify(copy, "--offline")
    assert ok, out
    ok, out = _verify(copy)
    assert not ok and "Docket recorded no package" in out


def test_a_truncated_zip_is_refused(built, tmp_path):
    _, path = built
    cut = tmp_path / "cut" / path.name
    cut.parent.mkdir()
    cut.write_bytes(path.read_bytes()[:-200])
    ok, out = _verify(cut)
    assert not ok and "not a readable ZIP" in out


# --- the signature ---------------------------------------------------------------------------


def test_the_attestation_is_signed_and_verifies_with_core_signing_and_openssl(built, tmp_path):
    package, path = built
    bag_dir = _unzip(path, tmp_path / "unzipped")
    attestation = bag_dir / "signatures" / "attestation.json"
    sig = bag_dir / "signatures" / "attestation.json.sig"
    document = json.loads(attestation.read_text())
    assert document["timestamp"] == "no TSA"
    assert document["signature"]["key_id"] == signing.key_id() == package.key_id
    for name, entry in document["files"].items():
        assert entry["sha256"] == hashlib.sha256((bag_dir / name).read_bytes()).hexdigest()
    assert signing.verify(attestation.read_bytes(), base64.b64encode(sig.read_bytes()).decode())

    openssl = shutil.which("openssl")
    assert openssl, "openssl is on PATH here (the docs' how-to is tested with it)"
    pub = tmp_path / "pub.pem"
    pub.write_text(signing.public_key_pem())
    command = [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin"]
    command += ["-in", str(attestation), "-sigfile", str(sig)]
    good = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert good.returncode == 0, good.stderr
    assert "Signature Verified Successfully" in good.stdout
    attestation.write_bytes(attestation.read_bytes() + b" ")
    bad = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert bad.returncode != 0


def test_an_attestation_signed_by_another_key_is_refused(built, tmp_path, settings):
    _, path = built
    settings.DOCKET_SIGNING_KEY = signing.generate_private_pem()  # another installation
    ok, out = _verify(path, "--offline")
    assert not ok
    assert "does not verify with this installation's keys" in out


# --- a mismatching item stops the package and alerts ------------------------------------------


def _tamper_stored(ev) -> None:
    stored = Path(default_storage.path(ev.storage_name))
    data = bytearray(stored.read_bytes())
    data[5] ^= 0xFF
    stored.write_bytes(bytes(data))


def test_a_changed_item_stops_the_stream_and_alerts_like_a_download(
    ctx, audrey, agency_a, adam, world
):
    _, capture = world["items"]
    _tamper_stored(capture)
    bag = BagBuild(
        ctx=ctx(audrey, agency_a),
        incident=world["incident"],
        name="stopped",
        package_uid="test",
        now=timezone.now(),
    )
    written = io.BytesIO()
    with pytest.raises(IntegrityFailure):
        for chunk in bag.stream():
            written.write(chunk)
    assert LOG in written.getvalue()  # the first item went out …
    with pytest.raises(zipfile.BadZipFile):  # … but what was written is no ZIP
        zipfile.ZipFile(written)
    state = integrity.of(capture)
    assert state.failed and "changed while it was being read" in state.failure.problem
    assert any("integrity failure" in m.subject and adam.email in m.to for m in mail.outbox)


def test_a_build_with_a_changed_item_fails_and_leaves_no_file(
    ctx, audrey, agency_a, world, media, django_capture_on_commit_callbacks
):
    _tamper_stored(world["items"][0])
    package = _build(ctx(audrey, agency_a), world["incident"], django_capture_on_commit_callbacks)
    assert package.state == "failed"
    assert "changed while it was being read" in package.error
    assert not package.storage_name
    assert not list(Path(media).joinpath("packages").rglob("*.zip*"))
    assert not CustodyEntry.objects.filter(action=Action.EXPORT).exists()


def test_export_package_writes_the_file_and_removes_it_on_a_mismatch(world, tmp_path):
    out = tmp_path / "FTA-package.zip"
    call_command(
        "export_package", world["incident"].number, "--out", str(out), stdout=io.StringIO()
    )
    package = Package.objects.get(written_to="file")
    assert package.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    ok, report = _verify(out)
    assert ok, report
    with pytest.raises(CommandError, match="exists"):
        call_command("export_package", world["incident"].number, "--out", str(out))

    _tamper_stored(world["items"][1])
    again = tmp_path / "again.zip"
    with pytest.raises(CommandError, match="changed while it was being read"):
        call_command("export_package", world["incident"].number, "--out", str(again))
    assert not again.exists()


# --- who may build and download -------------------------------------------------------------


def test_auditor_cannot_download_ungranted_package(
    client, ctx, carol, agency_a, world, django_capture_on_commit_callbacks
):
    package = _build(ctx(carol, agency_a), world["incident"], django_capture_on_commit_callbacks)
    assert package.ready
    outsider = get_user_model().objects.create_user("ursula", email="ursula@fta.example.gov")
    Membership.objects.create(user=outsider, agency=agency_a, role=Role.AUDITOR)
    client.force_login(outsider)
    assert client.get(f"/packages/{package.pk}/download/").status_code == 404
    assert client.get(f"/incidents/{world['incident'].number}/packages/").status_code == 404
    with pytest.raises(NotFound):
        services.package_open(ctx=ctx(outsider, agency_a), package=package)
    with pytest.raises(NotFound):
        services.package_request(ctx=ctx(outsider, agency_a), incident=world["incident"])
    # A grant whose window has passed is no grant.
    AuditorGrant.objects.create(
        incident=world["incident"],
        user=outsider,
        valid_from=timezone.now() - timedelta(days=40),
        valid_until=timezone.now() - timedelta(days=10),
    )
    assert client.get(f"/packages/{package.pk}/download/").status_code == 404
    with pytest.raises(NotFound):
        services.package_open(ctx=ctx(outsider, agency_a), package=package)


def test_an_expired_grant_answers_404_for_the_package(client, ctx, audrey, agency_a, built):
    package, _ = built
    client.force_login(audrey)
    assert client.get(f"/packages/{package.pk}/download/").status_code == 200
    assert package.incident.number in client.get("/auditor/").content.decode()
    with time_machine.travel(NOW + timedelta(days=31), tick=False):  # the default 30 days
        client.force_login(audrey)  # a fresh session: the old one expired too
        assert client.get(f"/packages/{package.pk}/download/").status_code == 404
        assert client.get(f"/incidents/{package.incident.number}/packages/").status_code == 404
        assert package.incident.number not in client.get("/auditor/").content.decode()
        with pytest.raises(NotFound):
            services.package_open(ctx=ctx(audrey, agency_a), package=package)


def test_the_granted_auditor_downloads_the_package_it_built(client, ctx, audrey, agency_a, built):
    package, path = built
    client.force_login(audrey)
    response = client.get(f"/packages/{package.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'filename="{package.file_name}"')
    body = b"".join(response.streaming_content)
    assert (
        hashlib.sha256(body).hexdigest()
        == package.sha256
        == hashlib.sha256(path.read_bytes()).hexdigest()
    )


def test_an_isso_who_sees_the_incident_may_not_download_its_package(ctx, alice, agency_a, built):
    package, _ = built
    with pytest.raises(NotPermitted):
        services.package_open(ctx=ctx(alice, agency_a), package=package)


def test_a_package_changed_in_storage_is_cut_short(ctx, audrey, agency_a, built):
    package, _ = built
    stored = Path(default_storage.path(package.storage_name))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    handle = services.package_open(ctx=ctx(audrey, agency_a), package=package)
    with pytest.raises(IntegrityFailure):
        while handle.read(1 << 20):
            pass
    handle.close()


def test_the_auditor_lands_on_its_grants_with_a_package_each(client, audrey, world, built):
    package, _ = built
    client.force_login(audrey)
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/auditor/"
    page = client.get("/auditor/").content.decode()
    assert world["incident"].number in page
    assert f"/packages/{package.pk}/download/" in page
    assert "(America/New_York)" in page
    grant = AuditorGrant.objects.get(user=audrey)
    assert format_local(grant.valid_until, grant.incident.agency.tz) in page


def test_asking_for_a_package_shows_it_building_then_ready(
    client, carol, world, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    url = f"/incidents/{world['incident'].number}/packages/"
    response = client.post(url)  # not on commit: the worker has not run yet
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Building" in page and 'hx-trigger="every 3s"' in page
    package = Package.objects.get()
    services.package_build_run(job_id=package.pk)
    page = client.get(url).content.decode()
    assert "Ready" in page and f"/packages/{package.pk}/download/" in page
    assert 'hx-trigger="every 3s"' not in page


def test_a_lost_build_message_is_queued_again_by_the_sweep(ctx, carol, agency_a, world):
    package = services.package_request(ctx=ctx(carol, agency_a), incident=world["incident"])
    later = timezone.now() + timedelta(hours=1)
    assert sweep_now(later)["packages.build"] == 1
    package.refresh_from_db()
    assert package.queued_at == later


def test_the_published_profile_describes_the_bags_docket_writes(built, tmp_path):
    _, path = built
    profile = json.loads(
        (
            Path(__file__).resolve().parents[1] / "docs/bagit-profiles/evidence-package-v1.json"
        ).read_text()
    )
    bag = bagit.Bag(str(_unzip(path, tmp_path / "unzipped")))
    assert (
        bag.info["BagIt-Profile-Identifier"]
        == (profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"])
    )
    required = [k for k, rule in profile["Bag-Info"].items() if rule.get("required")]
    assert [k for k in required if not bag.info.get(k)] == []
    assert sorted(bag.algorithms) == sorted(profile["Manifests-Required"])
    assert bag.version_info == (1, 0) and profile["Accept-BagIt-Version"] == ["1.0"]
    assert not Path(bag.path, "fetch.txt").exists() and profile["Allow-Fetch.txt"] is False
    for name in profile["Tag-Files-Required"]:
        assert Path(bag.path, name).is_file(), name


def test_building_and_downloading_are_audit_entries_and_the_package_holds_the_trail(
    client, ctx, audrey, agency_a, world, django_capture_on_commit_callbacks, tmp_path
):
    checkpoint_audit_chains()  # the agency's chain signed before the package is asked for
    package = _build(ctx(audrey, agency_a), world["incident"], django_capture_on_commit_callbacks)
    client.force_login(audrey)
    assert client.get(f"/packages/{package.pk}/download/").status_code == 200
    entries = AuditEntry.objects.filter(subject_type="packages.Package", subject_id=str(package.pk))
    assert [(e.act, e.outcome, e.actor.username) for e in entries.order_by("seq")] == [
        ("package_request", "success", "audrey"),
        ("package_build", "success", "audrey"),
        ("package_download", "success", "audrey"),
    ]
    built = entries.get(act="package_build")
    assert built.changes["sha256"] == package.sha256
    assert built.incident_id == world["incident"].pk
    exports = AuditEntry.objects.filter(act="evidence_export", incident=world["incident"])
    assert exports.count() == 2

    bag_dir = _unzip(_stored_zip(package, tmp_path), tmp_path / "unzipped")
    trail = json.loads((bag_dir / "data" / "audit" / "entries.json").read_text())
    acts = [e["act"] for e in trail["entries"]]
    assert "incident_open" in acts and "package_request" in acts
    assert acts.count("evidence_export") == 2
    for e in trail["entries"]:
        assert ledger.entry_hash(e["hashed"], e["prev_hash"]) == e["entry_hash"]
    signed = json.loads((bag_dir / "data" / "audit" / "checkpoints.json").read_text())
    assert signed["checkpoints"], "the checkpoint taken before covers the first entries"
    cp = signed["checkpoints"][0]
    assert signing.verify(cp["body"].encode(), cp["signature"])
    assert (bag_dir / "data" / "audit" / "entries.csv").read_text().startswith("seq,at,")


def test_a_failed_build_is_an_audit_entry_naming_the_reason(
    ctx, audrey, agency_a, world, django_capture_on_commit_callbacks
):
    _tamper_stored(world["items"][1])
    package = _build(ctx(audrey, agency_a), world["incident"], django_capture_on_commit_callbacks)
    failed = AuditEntry.objects.get(act="package_build", subject_id=str(package.pk))
    assert failed.outcome == "failure"
    assert "changed while it was being read" in failed.reason


def test_the_demo_auditor_signs_in_sees_its_grant_and_validates_its_package_offline(
    db, client, django_capture_on_commit_callbacks, tmp_path
):
    call_command("load_demo", stdout=io.StringIO())
    assert client.login(username="auditor", password="docket-demo-2026")
    home = client.get("/", follow=True)
    assert home.redirect_chain[-1][0] == "/auditor/"
    page = home.content.decode()
    demo = Membership.objects.get(user__username="auditor").agency
    granted = scope(Incident.objects.all(), context_for(demo_user("auditor"), demo))
    (incident,) = granted
    assert incident.number in page
    others = Incident.objects.filter(agency=demo).exclude(pk=incident.pk)
    assert others.exists() and not any(o.number in page for o in others)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/incidents/{incident.number}/packages/")
    package = Package.objects.get(incident=incident)
    assert package.state == "done", package.error
    response = client.get(f"/packages/{package.pk}/download/")
    path = tmp_path / package.file_name
    path.write_bytes(b"".join(response.streaming_content))
    bag_dir = _unzip(path, tmp_path / "unzipped")
    cli = _bagit_cli(bag_dir)
    assert cli.returncode == 0, cli.stderr
    assert list((bag_dir / "data" / "evidence").iterdir())
    ok, out = _verify(path)
    assert ok, out


def _version(report, number: int, pdf: bytes, *, draft: bool):
    name = default_storage.save(f"reports/test/{report.pk}-{number}.pdf", ContentFile(pdf))
    data = {"incident": report.incident.number, "number": number}
    return ReportVersion.objects.create(
        report=report,
        number=number,
        pdf_name=name,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        pdf_size=len(pdf),
        data=data,
        data_sha256=canonical_sha256(data),
        narrative=report.narrative,
        definition_version=report.definition_version,
        renderer_version="test",
        draft=draft,
        rendered_at=timezone.now(),
        report_state="approved" if not draft else report.state,
    )


def test_approved_report_versions_are_packed_and_drafts_are_not(
    ctx, carol, audrey, agency_a, world, django_capture_on_commit_callbacks, tmp_path
):
    obligation = world["incident"].obligations.order_by("pk").first()
    report = reports.report_draft(ctx(carol, agency_a), obligation=obligation)
    _version(report, 1, b"%PDF-1.7 draft watermark", draft=True)
    approved = _version(report, 2, b"%PDF-1.7 the approved one" * 50, draft=False)
    package = _build(ctx(audrey, agency_a), world["incident"], django_capture_on_commit_callbacks)
    bag_dir = _unzip(_stored_zip(package, tmp_path), tmp_path / "unzipped")
    pdfs = list((bag_dir / "data" / "reports").rglob("*.pdf"))
    assert [p.read_bytes() for p in pdfs] == [b"%PDF-1.7 the approved one" * 50]
    (data,) = (bag_dir / "data" / "reports").rglob("*.json")
    document = json.loads(data.read_text())
    assert document["version"]["pdf_sha256"] == approved.pdf_sha256
    assert document["data_sha256"] == canonical_sha256(document["version"]["data"])
    bagit.Bag(str(bag_dir)).validate()

    Path(default_storage.path(approved.pdf_name)).write_bytes(b"%PDF-1.7 rewritten")
    again = _build(ctx(audrey, agency_a), world["incident"], django_capture_on_commit_callbacks)
    assert again.state == "failed" and "no longer matches its recorded SHA-256" in again.error
