"""The installation's Ed25519 key (core.signing): signatures verify with it and with rotated-out
keys listed as trusted, fail on changed data or another key, and a missing or broken key is a
clear error, for signing and for the deploy check."""

import hashlib
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from core import signing


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_signature_verifies_and_fails_on_one_changed_byte():
    data = b"docket checkpoint\nlength 3\n"
    signature = signing.sign(data)
    assert signing.verify(data, signature)
    assert signing.verify(data, signature, public_key_pem=signing.public_key_pem())
    assert not signing.verify(data + b"x", signature)
    assert not signing.verify(data, "not base64!")
    other = _public_pem(signing.generate_private_pem())
    assert not signing.verify(data, signature, public_key_pem=other)


def test_key_id_is_the_sha256_of_the_raw_public_key():
    raw = signing.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert signing.key_id() == hashlib.sha256(raw).hexdigest()[:16]
    assert signing.key_id(signing.public_key_pem()) == signing.key_id()


def test_missing_key_is_a_clear_error(settings):
    settings.DOCKET_SIGNING_KEY = ""
    settings.DOCKET_SIGNING_KEY_FILE = ""
    with pytest.raises(signing.SigningKeyMissing, match="DOCKET_SIGNING_KEY"):
        signing.sign(b"x")


def test_a_key_that_is_not_ed25519_is_refused(settings):
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    settings.DOCKET_SIGNING_KEY = pem
    with pytest.raises(signing.SigningKeyMissing, match="not an Ed25519 key"):
        signing.sign(b"x")


def test_key_file_is_created_once_with_mode_0600_and_never_overwritten(settings, tmp_path):
    path = tmp_path / "var" / "signing-key.pem"
    settings.DOCKET_SIGNING_KEY = ""
    settings.DOCKET_SIGNING_KEY_FILE = str(path)
    settings.DOCKET_SIGNING_KEY_CREATE = True
    first_id = signing.key_id()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_bytes()
    assert signing.create_key_file(path) is False
    assert path.read_bytes() == before
    settings.DOCKET_SIGNING_KEY_CREATE = False  # a fresh configuration reads the same file
    assert signing.key_id() == first_id


def test_key_file_is_not_created_unless_asked(settings, tmp_path):
    path = tmp_path / "missing.pem"
    settings.DOCKET_SIGNING_KEY = ""
    settings.DOCKET_SIGNING_KEY_FILE = str(path)
    settings.DOCKET_SIGNING_KEY_CREATE = False
    with pytest.raises(signing.SigningKeyMissing, match="cannot be read"):
        signing.sign(b"x")
    assert not path.exists()


def test_rotated_out_key_still_verifies_what_it_signed(settings, tmp_path):
    old_private = signing.generate_private_pem()
    settings.DOCKET_SIGNING_KEY = old_private
    data = b"signed before the rotation"
    old_signature = signing.sign(data)
    old_id = signing.key_id()

    settings.DOCKET_SIGNING_KEY = signing.generate_private_pem()
    assert not signing.verify(data, old_signature)  # the new key alone does not
    trusted = tmp_path / "trusted.pem"
    trusted.write_text(_public_pem(old_private))
    settings.DOCKET_SIGNING_TRUSTED_KEYS = str(trusted)
    assert signing.verify(data, old_signature)
    assert set(signing.trusted_public_keys()) == {old_id, signing.key_id()}


def test_deploy_check_requires_a_key_in_production(settings):
    settings.DOCKET_SIGNING_KEY = ""
    settings.DOCKET_SIGNING_KEY_FILE = ""
    settings.DOCKET_REQUIRE_SIGNING_KEY = True
    errors = signing.check_signing_key()
    assert [e.id for e in errors] == ["docket.E101"]
    with pytest.raises(SystemCheckError, match=r"docket\.E101"):
        call_command("check", "--deploy", "--tag", "security")
    settings.DOCKET_REQUIRE_SIGNING_KEY = False
    assert signing.check_signing_key() == []


def test_deploy_check_reports_an_unreadable_key(settings, tmp_path):
    bad = tmp_path / "key.pem"
    bad.write_text("not a key")
    settings.DOCKET_SIGNING_KEY = ""
    settings.DOCKET_SIGNING_KEY_FILE = str(bad)
    assert [e.id for e in signing.check_signing_key()] == ["docket.E102"]


def test_production_deploy_check_passes_with_a_key_and_fails_without(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "check-deploy-" + "x9Q" * 20,
        "DJANGO_ALLOWED_HOSTS": "docket.example.gov",
        "DOCKET_SIGNING_KEY": signing.generate_private_pem(),
    }
    env.pop("DOCKET_SIGNING_KEY_FILE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    ok = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert ok.returncode == 0, ok.stderr
    del env["DOCKET_SIGNING_KEY"]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert missing.returncode != 0
    assert "docket.E101" in missing.stderr


def test_generated_key_is_ed25519():
    key = serialization.load_pem_private_key(signing.generate_private_pem().encode(), None)
    assert isinstance(key, Ed25519PrivateKey)
