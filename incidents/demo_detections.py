"""The demo's Falco detections (``manage.py load_demo``, PRODUCT.md "The demo scenario").

The compromised ``store-frontend-ping-php`` pod, as ``incidents.demo_attack`` tells it: as
``www-data`` the attacker gets a shell, fetches a rootkit tarball with curl, decodes it with
``base64 -d``, unpacks it (``tar xvfz``, which runs ``gzip -d``: base-image tools, which no
shipped rule flags) and shreds the shell history. Falco raised one alert per flagged system
call, each at the nanosecond of the ``execve`` (or of shred's ``openat``/``unlinkat``) that
Sysdig's records and the capture show too; they were grouped into one incident candidate,
which the ISSO attached to the main incident once the capture was reviewed. A second pod of the
store read ``/etc/shadow`` and searched for private keys twenty minutes ago: that candidate is
open, in the triage queue.

Rule names, priorities, tags and output formats are those of Falco's rule files
(``falco_rules.yaml``, ``falco-incubating_rules.yaml``, ``falco-sandbox_rules.yaml``), written
here as data: the demo reads nothing outside the project. Each alert is built as Falco emits it
with ``json_output: true`` (``output_fields`` for every field of the format, plus the container
and Kubernetes fields) and stored through ``alerts_store``, like any delivery.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from . import demo_attack, falco
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

NODE = demo_attack.NODE
IMAGE = "registry.demo.example.gov/store/"  # the STORE system's image repositories
PING_PHP = {
    "container.id": demo_attack.CONTAINER_ID,
    "container.name": demo_attack.CONTAINER_NAME,
    "container.image.repository": demo_attack.IMAGE_REPO,
    "container.image.tag": demo_attack.IMAGE_TAG,
    "k8s.ns.name": demo_attack.NAMESPACE,
    "k8s.pod.name": demo_attack.POD,
}
CART = {
    "container.id": "a91c0e7d2b46",
    "container.name": "store-cart",
    "container.image.repository": f"{IMAGE}store-cart",
    "container.image.tag": "2.0.7",
    "k8s.ns.name": "store",
    "k8s.pod.name": "store-cart-5f7b9c-q2x8d",
}
WWW_DATA = {"user.name": demo_attack.USER, "user.uid": demo_attack.UID, "user.loginuid": -1}


def _exec(process, exe, parent, cmdline, **more):
    return {
        **WWW_DATA,
        "evt.type": "execve",
        "proc.name": process,
        "proc.exepath": exe,
        "proc.pname": parent,
        "proc.cmdline": cmdline,
        "proc.tty": demo_attack.TTY,
        "evt.arg.flags": "EXE_LOWER_LAYER",
        **more,
    }


def _step(step: demo_attack.Step, **more):
    return _exec(step.comm, step.exe, step.parent, step.cmdline, **more)


_S = demo_attack.STEP
SHRED = _step(_S["shred"])
ROOTKIT = _S["curl"].cmdline

# (ns after the attack's first command, rule, pod, fields): the attack on the ping pod …
ATTACK = [
    (_S["bash"].offset_ns, "Terminal shell in container", PING_PHP, _step(_S["bash"])),
    (
        _S["curl"].offset_ns,
        "Launch Suspicious Network Tool in Container",
        PING_PHP,
        _step(_S["curl"]),
    ),
    (_S["base64"].offset_ns, "Decoding Payload in Container", PING_PHP, _step(_S["base64"])),
    (_S["shred"].offset_ns, "Remove Bulk Data from Disk", PING_PHP, {**SHRED, "fd.name": None}),
    (
        demo_attack.SHRED_OPEN_NS,
        "Clear Log Activities",
        PING_PHP,
        {**SHRED, "evt.type": "openat", "fd.name": demo_attack.HISTORY},
    ),
    (
        demo_attack.SHRED_UNLINK_NS,
        "Delete or rename shell history",
        PING_PHP,
        {**SHRED, "evt.type": "unlinkat", "evt.arg.name": demo_attack.HISTORY},
    ),
]
# … and the cart pod, twenty minutes ago (ns before now): still waiting in the triage queue.
WAITING = [
    (
        -(24 * 60 * 10**9) + 318_402_117,
        "Read sensitive file untrusted",
        CART,
        _exec(
            "cat",
            "/bin/cat",
            "sh",
            "cat /etc/shadow",
            **{"evt.type": "openat", "fd.name": "/etc/shadow", "proc.aname[2]": "php-fpm"},
        ),
    ),
    (
        -((21 * 60 + 8) * 10**9) + 774_093_551,
        "Search Private Keys or Passwords",
        CART,
        _exec("grep", "/bin/grep", "sh", "grep -r 'BEGIN RSA PRIVATE KEY' /var/www"),
    ),
]

_FIELD = re.compile(r"%([a-zA-Z0-9_.]+(?:\[[^\]]*\])?)")
PRIORITY_SHOWN = {"INFO": "Informational"}


def falco_alert(name: str, *, ns: int, pod: dict, fields: dict) -> dict:
    """An alert of rule ``name`` at ``ns`` (since the epoch) as Falco emits it with
    ``json_output: true``."""
    priority, tags, output = RULES[name]
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


def attack_alerts(now: datetime) -> list[dict]:
    """The alerts Falco raised about the attack (``demo_attack``, relative to ``now``)."""
    start = demo_attack.start_ns(now)
    return [
        falco_alert(rule, ns=start + offset, pod=pod, fields=fields)
        for offset, rule, pod, fields in ATTACK
    ]


def load_detections(*, agency, system, incident, ctx, now: datetime) -> dict[str, int]:
    """Give ``system`` (the store) its selectors, store and group the scenario's alerts, attach
    the attack's candidate to ``incident`` as ``ctx`` (the ISSO), after the capture's review,
    and leave the second pod's candidate open. Returns counts."""
    system.image_repositories = [IMAGE]
    system.k8s_namespaces = ["store"]
    system.save(update_fields=["image_repositories", "k8s_namespaces"])

    # falcosidekick delivers each alert within a second or two of the event.
    delivered = demo_attack.at(now, demo_attack.SHRED_UNLINK_NS) + timedelta(seconds=2)
    _store(agency, attack_alerts(now), received_at=delivered)
    attack = IncidentCandidate.objects.get(
        agency=agency, group_key=f"pod:{demo_attack.NAMESPACE}/{PING_PHP['k8s.pod.name']}"
    )
    candidate_attach(ctx=ctx, candidate=attack, incident=incident, now=now - timedelta(minutes=50))
    waiting = [
        falco_alert(rule, ns=demo_attack.to_ns(now) + offset, pod=pod, fields=fields)
        for offset, rule, pod, fields in WAITING
    ]
    _store(agency, waiting, received_at=now - timedelta(minutes=20))
    return {
        "detections": Detection.objects.filter(agency=agency).count(),
        "candidates": IncidentCandidate.objects.filter(agency=agency).count(),
    }
