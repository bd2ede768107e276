"""The scap writer (``evidence.scap_writer``): what it writes is a capture Docket's validator
accepts and Debian's sysdig decodes into exactly the commands given — times to the nanosecond,
user, pids, container and pod. Plain tests: no database."""

from __future__ import annotations

import gzip
import io
import os
import shutil
from datetime import UTC, datetime

import pytest

from evidence import formats, scap_commands, scap_writer
from evidence.demo import capture
from incidents import demo_attack

NOW = datetime(2026, 3, 10, 15, tzinfo=UTC)
needs_sysdig = pytest.mark.skipif(
    shutil.which("sysdig") is None and os.environ.get("CI") != "true",
    reason="Debian's sysdig is not installed (make test installs it)",
)


def test_the_demo_capture_is_a_valid_scap_file():
    data = capture(NOW)
    info = formats.validate_scap(io.BytesIO(data))
    assert info.format == "scap"
    assert info.compression == "gzip"
    assert info.details["version"] == "1.2"
    counts = info.details["block_counts"]
    # A container event, then a fork and an execve per command.
    assert counts["event"] == 1 + 2 * len(demo_attack.STEPS)
    assert counts["machine_info"] == counts["user_list"] == counts["process_list"] == 1
    assert capture(NOW) == data  # the same account, the same bytes (and SHA-256)
    assert gzip.decompress(data)[:4] == b"\x0a\x0d\x0d\x0a"


@needs_sysdig
def test_sysdig_reads_the_attack_back(tmp_path):
    path = tmp_path / "demo.scap"
    path.write_bytes(capture(NOW))
    commands = scap_commands.extract(str(path), timeout=60).commands
    start = demo_attack.start_ns(NOW)
    assert [
        (c.time_ns - start, c.cmdline, c.pid, c.ppid, c.user_name, c.cwd) for c in commands
    ] == [
        (s.offset_ns, s.cmdline, s.pid, s.ppid, "www-data", "/var/www/html/")
        for s in demo_attack.STEPS
    ]
    assert {(c.container_id, c.k8s_namespace, c.k8s_pod) for c in commands} == {
        (demo_attack.CONTAINER_ID, "store", "store-frontend-ping-php")
    }
    assert {c.container_image for c in commands} == {
        f"{demo_attack.IMAGE_REPO}:{demo_attack.IMAGE_TAG}"
    }
    first, last = demo_attack.capture_window(NOW)
    assert all(first <= c.time_ns <= last for c in commands)
    assert last - first == 20 * 10**9


def test_a_command_before_the_capture_or_of_an_unknown_parent_is_refused():
    container = scap_writer.Container(full_id="ab" * 32, name="c", image_repo="r", image_tag="t")
    shell = scap_writer.Process(pid=10, ppid=1, comm="sh", exe="/bin/sh")
    child = scap_writer.Process(pid=11, ppid=10, comm="ls", exe="/bin/ls")
    orphan = scap_writer.Process(pid=12, ppid=99, comm="ls", exe="/bin/ls")

    def write(ex):
        return scap_writer.capture(
            hostname="h",
            container=container,
            pod_uid="u",
            users=[(0, 0, "root", "/root", "/bin/sh")],
            running=[shell],
            execs=[ex],
            start_ns=10**18,
        )

    with pytest.raises(ValueError, match="before the capture starts"):
        write(scap_writer.Exec(10**18, child))
    with pytest.raises(ValueError, match="parent 99"):
        write(scap_writer.Exec(10**18 + 10**9, orphan))
    assert formats.validate_scap(io.BytesIO(write(scap_writer.Exec(10**18 + 10**9, child))))
