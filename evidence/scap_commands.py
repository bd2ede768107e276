"""The commands executed in a scap capture, decoded by Debian's ``sysdig`` (0.29).

Pure Python, no Django: ``evidence.captures`` hands it a local file and stores what it returns.
A capture is untrusted input and libscap a large C parser, so sysdig runs like one: an argv list
(no shell), a minimal environment, stdin closed, its own process group killed at the time limit,
address space and CPU time capped with ``prlimit`` (util-linux) when present, standard output
read against a byte cap (the process is killed beyond it), standard error kept only for the
first lines of the reason. Anything that goes wrong is an ``ExtractionFailed``
naming it; nothing is half-returned.

What sysdig 0.29 prints with ``-j -p'*%f1 %f2 …'``: one JSON object per line, keyed by field
name; ``*`` makes it print events whose fields have no value (as ``null``) instead of skipping
them. The filter keeps ``execve``/``execveat`` exits that succeeded: the moment a command runs,
with the new process's command line. ``evt.rawtime`` is nanoseconds since the epoch;
``proc.cwd`` is empty in older captures, where the exit event's ``cwd`` argument has it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime

from incidents.falco import scrub, time_from_ns

FIELDS = (
    "evt.num",
    "evt.rawtime",
    "user.name",
    "user.uid",
    "proc.pid",
    "proc.ppid",
    "thread.tid",
    "proc.name",
    "proc.pname",
    "proc.exe",
    "proc.cmdline",
    "proc.cwd",
    "evt.arg.cwd",
    "proc.tty",
    "container.id",
    "container.name",
    "container.image",
    "k8s.ns.name",
    "k8s.pod.name",
)
FILTER = "evt.type in (execve, execveat) and evt.dir=< and evt.failed=false"
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024
DEFAULT_MAX_MEMORY = 2 * 1024 * 1024 * 1024
STDERR_KEPT = 4096
CHUNK = 64 * 1024
# user.uid when the capture holds no user table entry: (uint32)-1.
_NO_UID = (4294967295, -1)


class ExtractionFailed(Exception):
    """sysdig could not give the commands of a capture; the message says why."""


@dataclass
class Captured:
    """One executed command of a capture."""

    evt_num: int
    time_ns: int
    time: datetime
    cmdline: str
    user_name: str = ""
    uid: int | None = None
    pid: int | None = None
    ppid: int | None = None
    tid: int | None = None
    process_name: str = ""
    parent_name: str = ""
    exe: str = ""
    cwd: str = ""
    tty: int | None = None
    container_id: str = ""
    container_name: str = ""
    container_image: str = ""
    k8s_namespace: str = ""
    k8s_pod: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class Extraction:
    commands: list[Captured]
    tool: str


def argv(binary: str, path: str) -> list[str]:
    """The command line: read ``path`` offline, JSON, our fields, executed commands only."""
    fmt = "*" + " ".join(f"%{name}" for name in FIELDS)
    return [binary, "-r", path, "-j", "-p", fmt, FILTER]


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/"}


def resolve(binary: str) -> str:
    found = shutil.which(binary)
    if not found:
        raise ExtractionFailed(
            f"sysdig is not installed (no {binary!r} on PATH): install Debian's sysdig package"
        )
    return found


def version(binary: str, timeout: float = 10.0) -> str:
    """sysdig's version line (``sysdig version 0.29.3``), or "" when it gives none."""
    try:
        done = subprocess.run(  # noqa: S603 - argv list, no shell
            [binary, "--version"],
            capture_output=True,
            timeout=timeout,
            env=_env(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    return lines[0][:100] if lines else ""


def run(
    args: list[str], *, timeout: float = DEFAULT_TIMEOUT, max_output: int = DEFAULT_MAX_OUTPUT
) -> bytes:
    """Run ``args``; its standard output, or ``ExtractionFailed`` on a missing binary, a
    non-zero exit, the time limit or the output cap."""
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            start_new_session=True,
        )
    except OSError as exc:
        raise ExtractionFailed(f"sysdig could not be started: {exc.strerror or exc}") from exc
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        _kill(proc)

    errors = bytearray()

    def drain():  # keep the first lines of standard error, discard the rest
        while chunk := proc.stderr.read(CHUNK):
            if len(errors) < STDERR_KEPT:
                errors.extend(chunk[: STDERR_KEPT - len(errors)])

    timer = threading.Timer(timeout, kill)
    reader = threading.Thread(target=drain, daemon=True)
    timer.start()
    reader.start()
    out = bytearray()
    too_much = False
    try:
        while chunk := proc.stdout.read(CHUNK):
            out += chunk
            if len(out) > max_output:
                too_much = True
                _kill(proc)
                break
    finally:
        proc.stdout.close()
        code = proc.wait()
        timer.cancel()
        timer.join()
        reader.join(timeout=5)
        if reader.is_alive():  # a leftover of its process group still holds standard error
            _kill(proc)
            reader.join(timeout=5)
        proc.stderr.close()
    if timed_out.is_set():
        raise ExtractionFailed(f"sysdig did not finish within {timeout:g} seconds")
    if too_much:
        raise ExtractionFailed(f"sysdig printed more than {max_output} bytes")
    if code != 0:
        reason = bytes(errors).decode("utf-8", "replace").strip()
        reason = " ".join(reason.split())[:500] or "no message"
        raise ExtractionFailed(f"sysdig failed (exit status {code}): {reason}")
    return bytes(out)


def limited(args: list[str], *, max_memory: int, cpu_seconds: int) -> list[str]:
    """``args`` under util-linux ``prlimit`` (address space and CPU time caps), when it is
    installed; as they are otherwise."""
    prlimit = shutil.which("prlimit")
    if not prlimit or max_memory <= 0:
        return args
    return [prlimit, f"--as={max_memory}", f"--cpu={max(cpu_seconds, 1)}", "--", *args]


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return _int(int(value.strip()))
    return None


def _str(value, limit: int | None = None) -> str:
    if value is None:
        return ""
    text = scrub(value if isinstance(value, str) else json.dumps(value))
    return text[:limit] if limit else text


def parse(output: bytes) -> list[Captured]:
    """sysdig's JSON lines → commands, in the order printed. A line that is not a JSON object
    with an integer ``evt.num`` and ``evt.rawtime`` makes the whole output refused."""
    commands = []
    # Only "\n" ends a line: str.splitlines would also cut at U+0085/U+2028/U+2029, which JSON
    # writers leave raw inside strings — one such command line must not void the extraction.
    text = output.decode("utf-8", "replace")
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ExtractionFailed(f"sysdig output line {number} is not JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise ExtractionFailed(f"sysdig output line {number} is not a JSON object")
        num, ns = _int(row.get("evt.num")), _int(row.get("evt.rawtime"))
        if num is None or ns is None or ns < 0:
            raise ExtractionFailed(
                f"sysdig output line {number} has no event number or time (evt.num, evt.rawtime)"
            )
        uid = _int(row.get("user.uid"))
        commands.append(
            Captured(
                evt_num=num,
                time_ns=ns,
                time=time_from_ns(ns),
                cmdline=_str(row.get("proc.cmdline")),
                user_name=_str(row.get("user.name"), 255),
                uid=None if uid in _NO_UID else uid,
                pid=_int(row.get("proc.pid")),
                ppid=_int(row.get("proc.ppid")),
                tid=_int(row.get("thread.tid")),
                process_name=_str(row.get("proc.name"), 255),
                parent_name=_str(row.get("proc.pname"), 255),
                exe=_str(row.get("proc.exe")),
                cwd=_str(row.get("proc.cwd")) or _str(row.get("evt.arg.cwd")),
                tty=_int(row.get("proc.tty")),
                container_id=_str(row.get("container.id"), 128),
                container_name=_str(row.get("container.name"), 255),
                container_image=_str(row.get("container.image"), 512),
                k8s_namespace=_str(row.get("k8s.ns.name"), 253),
                k8s_pod=_str(row.get("k8s.pod.name"), 253),
                raw=scrub(row),
            )
        )
    return commands


def extract(
    path: str,
    *,
    binary: str = "sysdig",
    timeout: float = DEFAULT_TIMEOUT,
    max_output: int = DEFAULT_MAX_OUTPUT,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> Extraction:
    """The executed commands of the capture at ``path`` (gzip or not: sysdig reads both)."""
    found = resolve(binary)
    args = limited(argv(found, path), max_memory=max_memory, cpu_seconds=int(timeout) + 1)
    output = run(args, timeout=timeout, max_output=max_output)
    return Extraction(commands=parse(output), tool=version(found))
