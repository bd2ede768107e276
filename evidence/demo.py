"""Demo data of the evidence slice: what the ISSO collected from the compromised
store-frontend pod of the main demo incident — the 20-second capture Sysdig Secure's policy
took around the shell-history event, the Falco alert export and the node's journal — uploaded
through ``evidence_upload`` (streamed, hashed, validated), handed to the compliance officer
(offer, then acknowledgement), checked, and one duplicate withdrawn by the approving official
with its reason. Every step is a custody entry. Called once by ``load_demo``.

All three files are made from the one account of the attack (``incidents.demo_attack``): the
capture is a small, valid scap file built by ``evidence.scap_writer`` with the attack's
commands at their nanoseconds (nothing is copied from ``../shared/data``), so that once sysdig
has decoded it (after the upload commits) the timeline shows the same commands at the same
times from Falco, from Sysdig's records and from the capture.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from incidents import demo_attack
from incidents.demo_detections import attack_alerts

from . import scap_writer, services

HOST = demo_attack.NODE
POD = demo_attack.POD
IMAGE = f"{demo_attack.IMAGE_REPO}:{demo_attack.IMAGE_TAG}"
CAPTURE_NAME = "policy-capture-store-frontend-ping-php.scap"
USERS = (
    (0, 0, "root", "/root", "/bin/bash"),
    (33, 33, "www-data", "/var/www", "/usr/sbin/nologin"),
)


def _process(step: demo_attack.Step) -> scap_writer.Process:
    a = demo_attack
    return scap_writer.Process(
        pid=step.pid,
        ppid=step.ppid,
        comm=step.comm,
        exe=step.exe,
        args=step.args,
        cwd=a.CWD,
        uid=a.UID,
        gid=a.UID,
        tty=a.TTY,
        env=a.ENV,
    )


def capture(now: datetime) -> bytes:
    """The capture (gzip-wrapped scap): from 5 s before Sysdig's shell-history event to 15 s
    after, with the php-fpm worker and its shell running when it starts and every command of
    the attack."""
    a = demo_attack
    www = {"cwd": a.CWD, "uid": a.UID, "gid": a.UID}
    running = [
        scap_writer.Process(
            pid=a.PHP_FPM_PID, ppid=1, comm="php-fpm", exe="/usr/local/sbin/php-fpm", **www
        ),
        scap_writer.Process(
            pid=a.SHELL_PID,
            ppid=a.PHP_FPM_PID,
            comm="sh",
            exe="/bin/sh",
            args=("-c", "ping -c 1 127.0.0.1; bash"),
            tty=a.TTY,
            env=a.ENV,
            **www,
        ),
    ]
    container = scap_writer.Container(
        full_id=a.CONTAINER_FULL_ID,
        name=f"k8s_{a.CONTAINER_NAME}_{a.POD}_{a.NAMESPACE}_{a.POD_UID}_0",
        image_repo=a.IMAGE_REPO,
        image_tag=a.IMAGE_TAG,
        labels={
            "io.kubernetes.pod.name": a.POD,
            "io.kubernetes.pod.namespace": a.NAMESPACE,
            "io.kubernetes.pod.uid": a.POD_UID,
            "io.kubernetes.container.name": a.CONTAINER_NAME,
        },
    )
    first, _ = a.capture_window(now)
    return scap_writer.capture(
        hostname=a.NODE,
        container=container,
        pod_uid=a.POD_UID,
        users=USERS,
        running=running,
        execs=[scap_writer.Exec(a.step_ns(now, s), _process(s)) for s in a.STEPS],
        start_ns=first,
    )


def _alerts(now: datetime) -> bytes:
    """Falco's alerts about the attack as its file output writes them (JSON lines)."""
    return "".join(json.dumps(alert) + "\n" for alert in attack_alerts(now)).encode()


def _journal(now: datetime) -> bytes:
    a = demo_attack
    tarball, shred = a.at(now, a.STEP["base64"].offset_ns), a.at(now, a.STEP["shred"].offset_ns)
    lines = [
        f"{when.astimezone(UTC):%b %d %H:%M:%S} {HOST} {text}"
        for when, text in (
            (a.at(now) - timedelta(seconds=30), f"kubelet[1187]: I1 pod store/{POD} running"),
            (tarball, f'kernel: audit: type=1400 comm="base64" name="{a.TARBALL_PATH}"'),
            (shred, f'kernel: audit: type=1400 comm="shred" name="{a.HISTORY}"'),
        )
    ]
    return ("\n".join(lines) + "\n").encode()


def evidence_demo(*, isso, compliance, approver, incident, now: datetime) -> list:
    """Upload, hand over, verify and withdraw, as the people of the demo did it in the hours
    after detection (``isso``, ``compliance``, ``approver`` are their agency contexts)."""
    source = {
        "source_host": HOST,
        "source_namespace": demo_attack.NAMESPACE,
        "source_pod": POD,
        "source_container": demo_attack.CONTAINER_ID,
        "source_image": IMAGE,
    }
    a = demo_attack
    capture_end = a.at(now, a.SHRED_UNLINK_NS) + a.CAPTURE_AFTER
    scap = services.evidence_upload(
        ctx=isso,
        incident=incident,
        fileobj=io.BytesIO(capture(now)),
        filename=CAPTURE_NAME,
        kind="scap",
        collected_at=capture_end,
        metadata={
            **source,
            "collected_by": 'Sysdig Secure, policy "Suspicious Filesystem Changes"',
            "collecting_tool": "Sysdig Secure policy capture (5 s before, 15 s after the event)",
            "description": (
                "The 20-second syscall capture around the shell-history event: every command "
                "of the attack, from bash to shred."
            ),
        },
        now=now - timedelta(hours=5, minutes=31),
    )
    alerts = services.evidence_upload(
        ctx=isso,
        incident=incident,
        fileobj=io.BytesIO(_alerts(now)),
        filename="falco-alerts-store-frontend.jsonl",
        kind="falco_alerts",
        collected_at=now - timedelta(hours=5, minutes=40),
        metadata={
            **source,
            "collecting_tool": "falcosidekick 2.29.0 file output",
            "description": "Falco alerts of the pod from the first shell to the shredded history.",
        },
        now=now - timedelta(hours=5, minutes=30),
    )
    journal = services.evidence_upload(
        ctx=isso,
        incident=incident,
        fileobj=io.BytesIO(_journal(now)),
        filename="node-journal.log",
        kind="log",
        collected_at=now - timedelta(hours=5, minutes=38),
        metadata={**source, "collecting_tool": "journalctl (systemd 252)"},
        now=now - timedelta(hours=5, minutes=29),
    )
    duplicate = services.evidence_upload(
        ctx=isso,
        incident=incident,
        fileobj=io.BytesIO(_journal(now)),
        filename="node-journal (copy).log",
        kind="log",
        metadata={"description": "Uploaded twice by mistake."},
        now=now - timedelta(hours=5, minutes=28),
    )
    offer = services.transfer_offer(
        ctx=isso,
        evidence=alerts,
        to_user=compliance.user,
        note="For the OIG evidence package.",
        now=now - timedelta(hours=4, minutes=10),
    )
    services.transfer_accept(
        ctx=compliance, transfer=offer, note="Received.", now=now - timedelta(hours=4)
    )
    services.evidence_verify(ctx=compliance, evidence=alerts, now=now - timedelta(hours=3))
    services.evidence_withdraw(
        ctx=approver,
        evidence=duplicate,
        reason=f"Duplicate of evidence {journal.pk} (the same journal uploaded twice).",
        now=now - timedelta(hours=2, minutes=30),
    )
    return [scap, alerts, journal, duplicate]
