"""Writing a small scap capture of executed commands. Pure Python, no Django.

The demo's capture is made here, from the same account of the attack as its Falco alerts and
Sysdig records (``incidents.demo_attack``), instead of shipping a binary or copying a real
capture into the project. What is written is what libscap's own dumper writes (libscap
``scap_savefile.c`` of falcosecurity/libs, the version Debian's sysdig 0.29 is built on), in
the block format ``evidence.formats`` validates (``u32 type, u32 total_len, body padded to 4,
u32 total_len``, little-endian):

- section header ``0x0A0D0D0A`` (magic ``0x1A2B3C4D``, version 1.2), machine info ``0x201``,
  user list ``0x220`` (UL_BLOCK_TYPE_V2), process list ``0x215`` (PL_BLOCK_TYPE_V9: the threads
  alive when the capture starts);
- event blocks ``0x216`` (EV_BLOCK_TYPE_V2: ``u16 cpu``, then the event header ``u64 ts,
  u64 tid, u32 len, u16 type, u32 nparams``, ``u16`` parameter lengths, parameter values):
  a container event (``PPME_CONTAINER_JSON_E``, 272) carrying the container's name, image and
  Kubernetes labels, as sysdig writes at the start of a dump; then for each command the child
  side of its fork (``PPME_SYSCALL_CLONE_20_X``, 223) and the exit of its ``execve``
  (``PPME_SYSCALL_EXECVE_19_X``, 293), the event from which ``sysdig -r`` reports the command
  (time, user, pid, parent, container, pod, command line).

The container id comes from the cgroups, as libsinsp reads it (``…/<64 hex digits>``).
"""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SHB = 0x0A0D0D0A
MACHINE_INFO = 0x201
USER_LIST_V2 = 0x220
PROCESS_LIST_V9 = 0x215
EVENT_V2 = 0x216

CONTAINER_JSON_E = 272
CLONE_20_X = 223
EXECVE_19_X = 293
CT_DOCKER = 0
LOOKUP_SUCCESSFUL = 1
FDLIMIT = 1_048_576
FORK_LEAD_NS = 40_000  # the child's side of the fork, this long before its execve returns


@dataclass(frozen=True)
class Container:
    full_id: str  # 64 hex digits; sysdig reports the first 12
    name: str
    image_repo: str
    image_tag: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.full_id[:12]

    def cgroups(self, pod_uid: str) -> tuple[str, ...]:
        path = f"/kubepods/besteffort/pod{pod_uid}/{self.full_id}"
        return tuple(f"{subsys}={path}" for subsys in ("cpuset", "cpu", "memory", "pids"))


@dataclass(frozen=True)
class Process:
    """One thread-group leader, as it is when it runs ``exe`` with ``args``."""

    pid: int
    ppid: int
    comm: str
    exe: str
    args: tuple[str, ...] = ()
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    tty: int = 0
    env: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exec:
    """``process`` (forked by its parent just before) runs its command at ``time_ns``."""

    time_ns: int
    process: Process


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _s16(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<H", len(data)) + data


def _nul(values: Iterable[str]) -> bytes:
    """Strings each ended by NUL, as the kernel hands over argv, env and cgroups."""
    return b"".join(v.encode() + b"\0" for v in values)


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def _section_header() -> bytes:
    return _block(SHB, struct.pack("<IHHq", 0x1A2B3C4D, 1, 2, -1))


def _machine_info(hostname: str, cpus: int = 4, memory: int = 16 << 30) -> bytes:
    # scap_machine_info, packed: num_cpus, memory_size_bytes, max_pid, hostname[128], 4 reserved
    return _block(
        MACHINE_INFO,
        struct.pack("<IQQ128sQQQQ", cpus, memory, 4_194_304, hostname.encode()[:127], 0, 0, 0, 0),
    )


def _user_list(users: Sequence[tuple[int, int, str, str, str]]) -> bytes:
    """``users``: (uid, gid, name, home, shell); each also gives a group of its gid."""
    body = b""
    for uid, gid, name, home, shell in users:
        entry = struct.pack("<BII", 0, uid, gid) + _s16(name) + _s16(home) + _s16(shell)
        body += struct.pack("<I", 4 + len(entry)) + entry
    for _, gid, name, _, _ in users:
        entry = struct.pack("<BI", 1, gid) + _s16(name)
        body += struct.pack("<I", 4 + len(entry)) + entry
    return _block(USER_LIST_V2, body)


def _process_entry(p: Process, cgroups: tuple[str, ...]) -> bytes:
    # scap_write_proclist_entry_bufs, field by field.
    entry = struct.pack("<qqqqq", p.pid, p.pid, p.ppid, p.pid, p.pid)  # tid pid ptid sid vpgid
    entry += _s16(p.comm) + _s16(p.exe) + _s16(p.exe)  # comm, exe, exepath
    entry += _s16(_nul(p.args)) + _s16(p.cwd)
    entry += struct.pack("<QIII", FDLIMIT, 0, p.uid, p.gid)  # fdlimit flags uid gid
    entry += struct.pack("<IIIQQ", 0, 0, 0, 0, 0)  # vmsize vmrss vmswap pfmajor pfminor
    entry += _s16(_nul(p.env))
    entry += struct.pack("<qq", p.pid, p.pid)  # vtid, vpid
    entry += _s16(_nul(cgroups)) + _s16("/")  # cgroups, root
    entry += struct.pack("<iB", -1, 0)  # loginuid, exe_writable
    return struct.pack("<I", 4 + len(entry)) + entry


def _event(time_ns: int, tid: int, etype: int, params: Sequence[bytes]) -> bytes:
    lengths = b"".join(struct.pack("<H", len(p)) for p in params)
    data = b"".join(params)
    header = struct.pack("<QQIHI", time_ns, tid, 26 + len(lengths) + len(data), etype, len(params))
    return _block(EVENT_V2, struct.pack("<H", 0) + header + lengths + data)


def _i64(v: int) -> bytes:
    return struct.pack("<q", v)


def _u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def _u32(v: int) -> bytes:
    return struct.pack("<I", v)


def _i32(v: int) -> bytes:
    return struct.pack("<i", v)


def _container_event(time_ns: int, tid: int, c: Container) -> bytes:
    info = {
        "container": {
            "id": c.id,
            "full_id": c.full_id,
            "type": CT_DOCKER,
            "name": c.name,
            "image": f"{c.image_repo}:{c.image_tag}",
            "imageid": "",
            "imagerepo": c.image_repo,
            "imagetag": c.image_tag,
            "imagedigest": "",
            "privileged": False,
            "is_pod_sandbox": False,
            "lookup_state": LOOKUP_SUCCESSFUL,
            "created_time": 0,
            "labels": c.labels,
            "Mounts": [],
            "env": [],
        }
    }
    return _event(time_ns, tid, CONTAINER_JSON_E, [_cstr(json.dumps(info, sort_keys=True))])


def _clone_child(time_ns: int, child: Process, parent: Process, cgroups) -> bytes:
    # The child's return from clone (res 0): it is still a copy of its parent.
    params = [
        _i64(0),
        _cstr(parent.exe),
        _nul(parent.args),
        _i64(child.pid),
        _i64(child.pid),
        _i64(parent.pid),
        _cstr(parent.cwd),
        _i64(FDLIMIT),
        _u64(0),
        _u64(0),
        _u32(0),
        _u32(0),
        _u32(0),
        _cstr(parent.comm),
        _nul(cgroups),
        _u32(0),  # flags
        _u32(child.uid),
        _u32(child.gid),
        _i64(child.pid),
        _i64(child.pid),
    ]
    return _event(time_ns, child.pid, CLONE_20_X, params)


def _execve_exit(time_ns: int, p: Process, cgroups) -> bytes:
    params = [
        _i64(0),  # res
        _cstr(p.exe),
        _nul(p.args),
        _i64(p.pid),  # tid
        _i64(p.pid),
        _i64(p.ppid),
        _cstr(p.cwd),
        _u64(FDLIMIT),
        _u64(0),
        _u64(0),
        _u32(0),
        _u32(0),
        _u32(0),
        _cstr(p.comm),
        _nul(cgroups),
        _nul(p.env),
        _i32(p.tty),
        _i64(p.pid),  # pgid
        _i32(-1),  # loginuid
        _u32(0),  # flags
    ]
    return _event(time_ns, p.pid, EXECVE_19_X, params)


def capture(
    *,
    hostname: str,
    container: Container,
    pod_uid: str,
    users: Sequence[tuple[int, int, str, str, str]],
    running: Sequence[Process],
    execs: Sequence[Exec],
    start_ns: int,
) -> bytes:
    """A gzip-compressed scap capture that starts at ``start_ns`` with ``running`` alive in
    ``container`` and records each of ``execs`` (a fork by its parent, then the command)."""
    cgroups = container.cgroups(pod_uid)
    known = {p.pid: p for p in running}
    out = [
        _section_header(),
        _machine_info(hostname),
        _user_list(users),
        _block(PROCESS_LIST_V9, b"".join(_process_entry(p, cgroups) for p in running)),
        _container_event(start_ns, running[0].pid, container),
    ]
    for ex in sorted(execs, key=lambda e: e.time_ns):
        if ex.time_ns - FORK_LEAD_NS < start_ns:
            raise ValueError(f"{ex.process.comm} runs before the capture starts")
        parent = known.get(ex.process.ppid)
        if parent is None:
            raise ValueError(f"the parent {ex.process.ppid} of {ex.process.comm} is not known")
        out.append(_clone_child(ex.time_ns - FORK_LEAD_NS, ex.process, parent, cgroups))
        out.append(_execve_exit(ex.time_ns, ex.process, cgroups))
        known[ex.process.pid] = ex.process
    # mtime=0: the same account gives the same bytes, hence the same SHA-256.
    return gzip.compress(b"".join(out), mtime=0)
