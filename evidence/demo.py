"""Demo data of the evidence slice: what the ISSO collected from the compromised
store-frontend pod of the main demo incident — the Falco alert export and the node's journal —
uploaded through ``evidence_upload`` (streamed, hashed, validated), handed to the compliance
officer (offer, then acknowledgement), checked, and one duplicate withdrawn by the approving
official with its reason. Every step is a custody entry. Called once by ``load_demo``."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from . import services

HOST = "ip-10-20-3-41.ec2.internal"
POD = "store-frontend-ping-php-6b7f9-q2m4x"
IMAGE = "registry.demo.example.gov/store/store-frontend-ping-php:1.4.2"
ALERTS = (  # (seconds after the first, rule, priority, output)
    (
        0,
        "Terminal shell in container",
        "Notice",
        "A shell was spawned in a container (user=www-data",
    ),
    (56, "Delete or rename shell history", "Warning", "Shell history had been deleted or renamed"),
    (
        59,
        "Clear Log Activities",
        "Warning",
        "Log files were tampered (file=/var/log/nginx/access.log",
    ),
)


def _alerts(first: datetime) -> bytes:
    lines = []
    for seconds, rule, priority, output in ALERTS:
        at = (first + timedelta(seconds=seconds)).astimezone(UTC)
        lines.append(
            json.dumps(
                {
                    "time": at.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
                    "rule": rule,
                    "priority": priority,
                    "output": f"{at:%H:%M:%S} {priority}: {output} k8s.pod={POD})",
                    "hostname": HOST,
                    "output_fields": {"k8s.pod.name": POD, "container.image.repository": IMAGE},
                }
            )
        )
    return ("\n".join(lines) + "\n").encode()


def _journal(first: datetime) -> bytes:
    lines = [
        f"{(first + timedelta(seconds=s)).astimezone(UTC):%b %d %H:%M:%S} {HOST} {text}"
        for s, text in (
            (-30, "kubelet[1187]: I1 pod store/store-frontend-ping-php-6b7f9-q2m4x running"),
            (21, 'kernel: audit: type=1400 comm="curl" name="/tmp/.x"'),
            (58, 'kernel: audit: type=1400 comm="shred" name="/var/www/.bash_history"'),
        )
    ]
    return ("\n".join(lines) + "\n").encode()


def evidence_demo(*, isso, compliance, approver, incident, now: datetime) -> list:
    """Upload, hand over, verify and withdraw, as the people of the demo did it in the hours
    after detection (``isso``, ``compliance``, ``approver`` are their agency contexts)."""
    first = now - timedelta(hours=6, minutes=11)
    source = {
        "source_host": HOST,
        "source_namespace": "store",
        "source_pod": POD,
        "source_image": IMAGE,
    }
    alerts = services.evidence_upload(
        ctx=isso,
        incident=incident,
        fileobj=io.BytesIO(_alerts(first)),
        filename="falco-alerts-store-frontend.jsonl",
        kind="falco_alerts",
        collected_at=now - timedelta(hours=5, minutes=40),
        metadata={
            **source,
            "collecting_tool": "falcosidekick 2.29.0 file output",
            "description": "Falco alerts of the pod from the first shell to the log tampering.",
        },
        now=now - timedelta(hours=5, minutes=30),
    )
    journal = services.evidence_upload(
        ctx=isso,
        incident=incident,
        fileobj=io.BytesIO(_journal(first)),
        filename="node-journal.log",
        kind="log",
        collected_at=now - timedelta(hours=5, minutes=38),
        metadata={**source, "collecting_tool": "journalctl (systemd 252)"},
        now=now - timedelta(hours=5, minutes=29),
    )
    duplicate = services.evidence_upload(
        ctx=isso,
        incident=incident,
        fileobj=io.BytesIO(_journal(first)),
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
    return [alerts, journal, duplicate]
