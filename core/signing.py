"""The installation's Ed25519 signing key: signed audit and custody checkpoints, package
attestations (NIST AU-9(3): "signed hash functions using asymmetric cryptography").

Where the key comes from (settings, read from the environment):

- ``DOCKET_SIGNING_KEY``: the private key as PEM text (PKCS#8, unencrypted), or
- ``DOCKET_SIGNING_KEY_FILE``: the path of a file holding that PEM.
- ``DOCKET_SIGNING_KEY_CREATE``: when true and the file is missing, the first use creates it
  (mode 0600, never overwriting one that exists). ``make run`` (config.settings.local) turns
  this on with ``var/signing-key.pem``; production never creates a key.
- ``DOCKET_SIGNING_TRUSTED_KEYS``: the path of a file of PEM public keys — the installation's
  earlier keys after a rotation — that still verify what they signed.

Without a key, signing raises ``SigningKeyMissing`` naming what to set; the deploy check
(``manage.py check --deploy``) reports it as an error when ``DOCKET_REQUIRE_SIGNING_KEY`` is on
(production) and always reports a key that is configured but cannot be read.

``key_id`` is the first 16 hex digits of the SHA-256 of the raw 32-byte public key; each
signature is stored with it, so a verifier picks the key that made it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core import checks


class SigningKeyMissing(Exception):
    """No usable signing key is configured (or the configured one cannot be read)."""


def generate_private_pem() -> str:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM text."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def create_key_file(path: str | os.PathLike[str]) -> bool:
    """Write a new private key to ``path`` (mode 0600) unless a file is already there.
    Returns whether a key was created. Never overwrites: the file is opened with O_EXCL."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_private_pem())
    return True


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def _pem_of(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _load_private(pem: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyMissing(f"{source} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyMissing(f"{source} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def _load_public(pem: bytes, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{source} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{source} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


_cache_lock = threading.Lock()
_cache: dict[tuple, Ed25519PrivateKey] = {}


def _config() -> tuple[str, str, bool]:
    return (
        getattr(settings, "DOCKET_SIGNING_KEY", "") or "",
        str(getattr(settings, "DOCKET_SIGNING_KEY_FILE", "") or ""),
        bool(getattr(settings, "DOCKET_SIGNING_KEY_CREATE", False)),
    )


def _private_key() -> Ed25519PrivateKey:
    text, path, create = _config()
    cache_key = (text, path, create)
    with _cache_lock:
        if cache_key in _cache:
            return _cache[cache_key]
        if text:
            key = _load_private(text.encode("ascii", "replace"), "DOCKET_SIGNING_KEY")
        elif path:
            if create:
                create_key_file(path)
            try:
                pem = Path(path).read_bytes()
            except OSError as exc:
                raise SigningKeyMissing(
                    f"DOCKET_SIGNING_KEY_FILE {path} cannot be read: {exc.strerror or exc}"
                ) from exc
            key = _load_private(pem, f"DOCKET_SIGNING_KEY_FILE {path}")
        else:
            raise SigningKeyMissing(
                "No signing key: set DOCKET_SIGNING_KEY (PEM text) or DOCKET_SIGNING_KEY_FILE "
                "(path of a PEM file) to the installation's Ed25519 private key "
                "(docs/operations.md, 'Signing key and checkpoints')."
            )
        _cache.clear()
        _cache[cache_key] = key
        return key


def is_configured() -> bool:
    text, path, _create = _config()
    return bool(text or path)


def public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def public_key_pem() -> str:
    """The installation's public key as PEM (SubjectPublicKeyInfo) — what an auditor needs."""
    return _pem_of(public_key())


def key_id(public_key_pem: str | None = None) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key: the installation's, or the
    one given as PEM."""
    if public_key_pem is None:
        return _key_id_of(public_key())
    return _key_id_of(_load_public(public_key_pem.encode("ascii"), "the public key"))


def sign(data: bytes) -> str:
    """Base64 Ed25519 signature of ``data`` with the installation key."""
    return base64.b64encode(_private_key().sign(data)).decode("ascii")


def trusted_public_keys() -> dict[str, str]:
    """key id → PEM of every key that verifies: the installation's own (when configured) and
    each earlier one listed in ``DOCKET_SIGNING_TRUSTED_KEYS``."""
    keys: dict[str, str] = {}
    path = str(getattr(settings, "DOCKET_SIGNING_TRUSTED_KEYS", "") or "")
    if path:
        for pem in _split_pems(Path(path).read_text(encoding="ascii")):
            public = _load_public(
                pem.encode("ascii"), f"a key in DOCKET_SIGNING_TRUSTED_KEYS {path}"
            )
            keys[_key_id_of(public)] = _pem_of(public)
    if is_configured():
        own = public_key()
        keys[_key_id_of(own)] = _pem_of(own)
    return keys


def _split_pems(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("-----BEGIN "):
            current = [line]
        elif line.startswith("-----END ") and current:
            current.append(line)
            blocks.append("\n".join(current) + "\n")
            current = []
        elif current:
            current.append(line)
    return blocks


def verify(data: bytes, signature: str, *, public_key_pem: str | None = None) -> bool:
    """Whether ``signature`` (base64) is a valid Ed25519 signature of ``data`` — by the given
    public key, or else by any trusted key (the installation's, the rotated-out ones)."""
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    if public_key_pem is not None:
        candidates = [public_key_pem]
    else:
        candidates = list(trusted_public_keys().values())
    for pem in candidates:
        try:
            _load_public(pem.encode("ascii"), "the public key").verify(raw, data)
        except InvalidSignature:
            continue
        return True
    return False


@checks.register(checks.Tags.security, deploy=True)
def check_signing_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Deploy check: the signing key is configured (when required) and readable."""
    if not is_configured():
        if getattr(settings, "DOCKET_REQUIRE_SIGNING_KEY", False):
            return [
                checks.Error(
                    "No signing key is configured; audit checkpoints and package attestations "
                    "cannot be signed.",
                    hint="Set DOCKET_SIGNING_KEY or DOCKET_SIGNING_KEY_FILE "
                    "(docs/operations.md, 'Signing key and checkpoints').",
                    id="docket.E101",
                )
            ]
        return []
    try:
        public_key()
        trusted_public_keys()
    except (SigningKeyMissing, ValueError, OSError) as exc:
        return [checks.Error(f"The signing key cannot be used: {exc}", id="docket.E102")]
    return []
