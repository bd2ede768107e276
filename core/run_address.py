"""Where ``make run`` serves: ``DOCKET_RUN_ADDRESS`` (runserver's ``[host:]port``, default
``127.0.0.1:8000``), read the same way by ``scripts/run.sh``, the demo loader's sign-in list
and the local settings' ``ALLOWED_HOSTS``. Plain Python."""

from __future__ import annotations

import os

DEFAULT = "127.0.0.1:8000"
# Addresses that listen on every interface: this machine reaches them on its loopback.
EVERYWHERE = {"": "127.0.0.1", "0": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}  # noqa: S104


def _split(address: str | None) -> tuple[str, str]:
    if address is None:
        address = os.environ.get("DOCKET_RUN_ADDRESS", "")
    address = address.strip() or DEFAULT
    host, sep, port = address.rpartition(":")
    return (host, port) if sep else ("", address)


def run_host(address: str | None = None) -> str:
    """The host named in the address (``""`` when it names none or listens everywhere)."""
    host, _ = _split(address)
    return "" if host in EVERYWHERE else host


def run_url(address: str | None = None) -> str:
    """The URL to open: ``0.0.0.0:8080`` → ``http://127.0.0.1:8080/``."""
    host, port = _split(address)
    return f"http://{EVERYWHERE.get(host, host)}:{port}/"
