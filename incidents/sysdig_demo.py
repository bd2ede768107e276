"""Demo data of the Sysdig slice: what Sysdig Secure saw in the compromised store-frontend pod
of the main demo incident — the activity-audit record of every command of the attack and three
runtime policy events — stored through the ingestion service and attached to the incident, so
its timeline (``/incidents/<number>/timeline/``) tells the story. Every record and event carries
the nanosecond of the system call it reports, the same as Falco's alerts and the capture
(``incidents.demo_attack``). The shell-history event is the one whose policy ("Suspicious
Filesystem Changes", as in the seed presentation) took the 20-second capture. Called once by
``load_demo``."""

from __future__ import annotations

from datetime import datetime

from . import demo_attack, falco
from .demo_detections import RULES
from .ingest import candidate_attach, detections_group, sysdig_store
from .models import CandidateStatus, IncidentCandidate

# The same pod, container and node as the Falco alerts of ``demo_detections``.
CONTAINER = demo_attack.CONTAINER_ID
POD = demo_attack.POD
HOST = demo_attack.NODE
LABELS = {
    "host.hostName": HOST,
    "container.image.repo": demo_attack.IMAGE_REPO,
    "container.image.tag": demo_attack.IMAGE_TAG,
    "kubernetes.cluster.name": "demo-prod",
    "kubernetes.namespace.name": demo_attack.NAMESPACE,
    "kubernetes.pod.name": POD,
}
# The same rules' tags as the Falco alerts of the demo (one account of the attack).
SHELL_TAGS = RULES["Terminal shell in container"][1]
HISTORY_TAGS = RULES["Delete or rename shell history"][1]
LOG_TAGS = RULES["Clear Log Activities"][1]
_S = demo_attack.STEP
CAPTURE = {
    "type": "POLICY_ACTION_CAPTURE",
    "successful": True,
    "token": "7c1f0d9a-demo-capture-store-frontend",
    "beforeEventNs": int(demo_attack.CAPTURE_BEFORE.total_seconds() * 1e9),
    "afterEventNs": int(demo_attack.CAPTURE_AFTER.total_seconds() * 1e9),
}
# (ns after the first command, policy, rule, severity, tags, step, file, actions)
EVENTS = (
    (
        _S["bash"].offset_ns,
        "Terminal shell in container",
        "Terminal shell in container",
        5,
        SHELL_TAGS,
        _S["bash"],
        "",
        [],
    ),
    (
        demo_attack.SHRED_OPEN_NS,
        "Suspicious Filesystem Changes",
        "Clear Log Activities",
        4,
        LOG_TAGS,
        _S["shred"],
        demo_attack.HISTORY,
        [],
    ),
    (
        demo_attack.SHRED_UNLINK_NS,
        "Suspicious Filesystem Changes",
        "Delete or rename shell history",
        4,
        HISTORY_TAGS,
        _S["shred"],
        demo_attack.HISTORY,
        [CAPTURE],
    ),
)


def items(now: datetime) -> list[dict]:
    """Sysdig's items about the attack, as its API hands them over (relative to ``now``)."""
    start = demo_attack.start_ns(now)
    found = []
    for n, step in enumerate(demo_attack.STEPS):
        found.append(
            {
                "id": f"demo-cmd-{n}",
                "type": "command",
                "timestamp": start + step.offset_ns,
                "containerId": CONTAINER,
                "cmdline": step.cmdline,
                "comm": step.comm,
                "pcomm": step.parent,
                "pid": step.pid,
                "ppid": step.ppid,
                "uid": demo_attack.UID,
                "username": demo_attack.USER,
                "cwd": demo_attack.CWD,
                "hostname": HOST,
                "tty": demo_attack.TTY,
                "labels": LABELS,
            }
        )
    for n, (offset, policy, rule, severity, tags, step, path, actions) in enumerate(EVENTS):
        fields = {
            "container.id": CONTAINER,
            "proc.pid": step.pid,
            "proc.cmdline": step.cmdline,
            "proc.pname": step.parent,
            "user.name": demo_attack.USER,
        }
        if path:
            fields["fd.name"] = path
        found.append(
            {
                "id": f"demo-event-{n}",
                "timestamp": start + offset,
                "name": policy,
                "severity": severity,
                "containerId": CONTAINER,
                "content": {
                    "ruleName": rule,
                    "ruleTags": tags,
                    "output": f"{rule} (user={demo_attack.USER} command={step.cmdline})",
                    "fields": fields,
                },
                "labels": LABELS,
                "actions": actions,
            }
        )
    return found


def load(*, agency, incident, ctx, now: datetime, attached: datetime) -> int:
    """Store the demo's Sysdig items for ``agency`` (the attack relative to ``now``), group
    them and attach the candidate to ``incident`` at ``attached``; returns how many items were
    stored."""
    result = sysdig_store(
        agency=agency,
        items=[falco.Item(index=i, value=v) for i, v in enumerate(items(now))],
        now=attached,
    )
    detections_group(agency_id=agency.pk, now=attached)
    # The Falco alerts' candidate of the same pod is attached already: Sysdig's events, reported
    # later, form a new open one.
    candidate = IncidentCandidate.objects.get(
        agency=agency,
        group_key=f"pod:{demo_attack.NAMESPACE}/{POD}",
        status=CandidateStatus.OPEN,
    )
    candidate_attach(ctx=ctx, candidate=candidate, incident=incident, now=attached)
    return result.accepted


def load_into(scenario, incident) -> int:
    """``load`` for the ``load_demo`` scenario; the ISSO attaches the candidate after starting
    triage."""
    return load(
        agency=scenario.demo,
        incident=incident,
        ctx=scenario.ctx["isso"],
        now=scenario.now,
        attached=scenario.ago(hours=5, minutes=46),
    )
