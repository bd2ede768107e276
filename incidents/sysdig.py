"""Sysdig Secure as data: runtime policy events and activity-audit command records.

Pure Python, no Django, beside ``incidents.falco`` whose body reading, time parsing, tag
mapping and alert building it reuses. ``POST /api/v1/ingest/sysdig`` and ``ingest_sysdig``
receive a body holding either shape, mixed (see ``../shared/DETECTION.md``):

- a **runtime policy event** (``id``, ``timestamp`` in ns, ``name`` = the policy,
  ``severity`` 0–7, ``containerId``, ``content{ruleName, ruleTags[], output, fields{}}``,
  ``labels{}``, ``actions[]``) becomes a ``falco.Alert`` (stored as a Detection with source
  ``sysdig``, grouped like Falco alerts);
- an **activity-audit command record** (``timestamp`` ns, ``cmdline``, ``comm``, ``pcomm``,
  ``pid``, ``ppid``, ``cwd``, ``uid``, ``username``, ``containerId``, ``hostname``, ``tty``,
  ``labels{}``) becomes a ``Command`` (stored as a CommandRecord).

The two are told apart by content: an object with a ``content`` object is a policy event, one
with ``cmdline`` a command record; anything else is refused naming what is missing.

Severity: Sysdig uses the syslog levels, as Falco's priorities do, so the mapping is one to
one — 0 Emergency, 1 Alert, 2 Critical, 3 Error (Sysdig's "High" band, 0–3), 4 Warning,
5 Notice ("Medium", 4–5), 6 Informational ("Low"), 7 Debug ("Info").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.canonical import canonical_sha256

from . import falco
from .falco import Rejected, _json_type, scrub

SOURCE = "sysdig"
POLICY_EVENT = "policy_event"
COMMAND = "command"

# Sysdig severity (syslog level) → Falco priority; see the module docstring.
SEVERITY_PRIORITY = dict(enumerate(falco.PRIORITIES))
SEVERITY_BAND = {0: "High", 1: "High", 2: "High", 3: "High", 4: "Medium", 5: "Medium"}
SEVERITY_BAND |= {6: "Low", 7: "Info"}

# Sysdig label → the Falco field it stands for, so falco.CONTEXT_FIELDS finds it. Fields of
# the event's ``content.fields`` win over labels.
LABEL_FIELDS = {
    "container.id": "container.id",
    "container.image.repo": "container.image.repository",
    "container.image.repository": "container.image.repository",
    "container.image.tag": "container.image.tag",
    "container.image": "container.image",
    "container.image.name": "container.image",
    "kubernetes.cluster.name": "k8s.cluster.name",
    "kubernetes.namespace.name": "k8s.ns.name",
    "kubernetes.pod.name": "k8s.pod.name",
    "host.hostName": "host.hostName",
}
HOST_LABELS = ("host.hostName", "host.hostname", "host.name")

# Column lengths of incidents.CommandRecord.
COMMAND_LENGTHS = {
    "user_name": 255,
    "comm": 255,
    "pcomm": 255,
    "container_id": 128,
    "hostname": 255,
    "k8s_cluster": 253,
    "k8s_namespace": 253,
    "k8s_pod": 253,
    "container_image": 512,
}
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def shape(item: object) -> str:
    """``POLICY_EVENT`` or ``COMMAND`` for an item of a Sysdig body; ``Rejected`` naming the
    problem for anything else."""
    if not isinstance(item, dict):
        raise Rejected(f"not a JSON object (got {_json_type(item)})")
    if "content" in item:
        return POLICY_EVENT
    if "cmdline" in item:
        kind = item.get("type")
        if kind not in (None, "", "command"):
            raise Rejected(
                f"activity-audit record of type {str(kind)[:40]!r} is not supported "
                "(only command records)"
            )
        return COMMAND
    if "rule" in item and ("output_fields" in item or "priority" in item):
        raise Rejected("this is a Falco alert, not a Sysdig item: send it to /api/v1/ingest/falco")
    raise Rejected(
        "neither a Sysdig runtime policy event (no 'content' object) nor an activity-audit "
        "command record (no 'cmdline')"
    )


# --- values ----------------------------------------------------------------------------------


def parse_timestamp(value: object, name: str = "timestamp") -> tuple[datetime, int]:
    """Nanoseconds since the epoch (an integer, or a string of digits) → (UTC datetime to the
    microsecond, ns). An ISO 8601 string with a zone is accepted too."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or value is None:
        raise Rejected(f"{name} must be nanoseconds since the epoch, not {_json_type(value)}")
    if isinstance(value, int):
        if not 0 <= value <= _INT_MAX:
            raise Rejected(f"{name} {value} is outside 1970–2262 (nanoseconds since the epoch)")
        return falco.time_from_ns(value), value
    if isinstance(value, str):
        try:
            return falco.parse_time(value)
        except falco.BadTime as exc:
            raise Rejected(f"bad {name}: {exc}") from exc
    raise Rejected(f"{name} must be nanoseconds since the epoch, not {_json_type(value)}")


def _int(item: Mapping, name: str, path: str | None = None) -> int | None:
    value = item.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(f"{path or name} must be an integer, not {_json_type(value)}")
    if not _INT_MIN <= value <= _INT_MAX:
        raise Rejected(f"{path or name} is out of range")
    return value


def _str(item: Mapping, name: str, path: str | None = None) -> str:
    value = item.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Rejected(f"{path or name} must be a string, not {_json_type(value)}")
    return value


def _obj(item: Mapping, name: str, path: str | None = None) -> dict:
    value = item.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(f"{path or name} must be an object, not {_json_type(value)}")
    return value


def _labels(item: Mapping) -> dict:
    labels = _obj(item, "labels")
    for key, value in labels.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise Rejected(f"labels.{key} must be a string, not {_json_type(value)}")
    return labels


def _host(labels: Mapping, fallback: str = "") -> str:
    for name in HOST_LABELS:
        value = labels.get(name)
        if isinstance(value, str) and value:
            return value
    return fallback


def _digest(kind: str, values: list) -> str:
    return canonical_sha256([kind, *values], allow_nan=True)


def severity_priority(value: object) -> str:
    """Sysdig severity 0–7 (an integer or a string of one digit) → Falco priority name."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value not in SEVERITY_PRIORITY:
        raise Rejected(
            f"severity must be an integer from 0 (most severe) to 7, not {str(value)[:40]!r}"
        )
    return SEVERITY_PRIORITY[value]


# --- policy events ---------------------------------------------------------------------------


def normalise_event(item: object) -> falco.Alert:
    """A runtime policy event → a ``falco.Alert`` (source ``sysdig``); ``Rejected`` naming the
    problem. Context comes from ``content.fields`` (Falco field names), then from the labels
    and ``containerId``. The content hash covers the event id, time, policy, rule, output,
    fields, container and labels — not ``actions``, whose outcome Sysdig fills in later — so
    a redelivery stores nothing new."""
    if not isinstance(item, dict):
        raise Rejected(f"not a JSON object (got {_json_type(item)})")
    content = _obj(item, "content")
    missing = [n for n in ("timestamp", "severity") if item.get(n) in (None, "")]
    if content.get("ruleName") in (None, ""):
        missing.append("content.ruleName")
    if missing:
        raise Rejected(f"missing required field(s): {', '.join(missing)}")
    rule = content["ruleName"]
    if not isinstance(rule, str) or not rule.strip():
        raise Rejected(f"content.ruleName must be a non-empty string, not {_json_type(rule)}")
    priority = severity_priority(item["severity"])
    time, time_ns = parse_timestamp(item["timestamp"])
    fields = _obj(content, "fields", "content.fields")
    tags = content.get("ruleTags")
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Rejected("content.ruleTags must be an array of strings")
    output = _str(content, "output", "content.output")
    policy = _str(item, "name")
    event_id = item.get("id")
    if event_id is not None and not isinstance(event_id, str | int):
        raise Rejected(f"id must be a string, not {_json_type(event_id)}")
    container_id = _str(item, "containerId")
    labels = _labels(item)
    actions = item.get("actions")
    if actions is not None and not isinstance(actions, list):
        raise Rejected(f"actions must be an array, not {_json_type(actions)}")
    fallback = fields.get("host.hostname")
    hostname = _host(labels, fallback if isinstance(fallback, str) else "")
    context = {
        LABEL_FIELDS[k]: v for k, v in labels.items() if k in LABEL_FIELDS and v not in (None, "")
    }
    if container_id:
        context["container.id"] = container_id
    context.update({k: v for k, v in fields.items() if v not in (None, "")})
    # Labels are left out, as for command records: enrichment may change them between
    # deliveries of the same event.
    digest = _digest(POLICY_EVENT, [event_id, time_ns, policy, rule, output, fields, container_id])
    return falco.build_alert(
        content_hash=digest,
        kind=falco.Kind.ALERT,
        rule=rule,
        priority=priority,
        source=SOURCE,
        hostname=hostname,
        time=time,
        time_ns=time_ns,
        output=output or policy,
        tags=tags,
        output_fields=fields,
        raw=item,
        context=context,
    )


# --- command records -------------------------------------------------------------------------


@dataclass
class Command:
    """One activity-audit command record, normalised; ``raw`` is the item as received."""

    content_hash: str
    time: datetime
    time_ns: int
    cmdline: str
    comm: str = ""
    pcomm: str = ""
    pid: int | None = None
    ppid: int | None = None
    uid: int | None = None
    user_name: str = ""
    cwd: str = ""
    tty: int | None = None
    container_id: str = ""
    container_image: str = ""
    hostname: str = ""
    k8s_cluster: str = ""
    k8s_namespace: str = ""
    k8s_pod: str = ""
    labels: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @property
    def group_key(self) -> str:
        return falco.group_key(
            k8s_namespace=self.k8s_namespace,
            k8s_pod=self.k8s_pod,
            container_id=self.container_id,
            hostname=self.hostname,
        )


def normalise_command(item: object) -> Command:
    """An activity-audit command record → a ``Command``; ``Rejected`` naming the problem.
    Namespace, pod, cluster and image come from the labels. The content hash covers what the
    command was (time, host, container, process ids, user, command line, working directory,
    tty) — not the record's ``id`` or its labels, which enrichment may change."""
    if not isinstance(item, dict):
        raise Rejected(f"not a JSON object (got {_json_type(item)})")
    missing = [n for n in ("timestamp", "cmdline") if item.get(n) in (None, "")]
    if missing:
        raise Rejected(f"missing required field(s): {', '.join(missing)}")
    time, time_ns = parse_timestamp(item["timestamp"])
    cmdline = _str(item, "cmdline")
    values = {
        name: _str(item, key)
        for name, key in (
            ("comm", "comm"),
            ("pcomm", "pcomm"),
            ("user_name", "username"),
            ("cwd", "cwd"),
            ("container_id", "containerId"),
            ("hostname", "hostname"),
        )
    }
    ints = {name: _int(item, name) for name in ("pid", "ppid", "uid", "tty")}
    labels = _labels(item)

    def label(*names: str) -> str:
        for name in names:
            value = labels.get(name)
            if value not in (None, ""):
                return str(value)
        return ""

    values["hostname"] = values["hostname"] or _host(labels)
    values["container_id"] = values["container_id"] or label("container.id")
    values["k8s_cluster"] = label("kubernetes.cluster.name")
    values["k8s_namespace"] = label("kubernetes.namespace.name")
    values["k8s_pod"] = label("kubernetes.pod.name")
    repo, tag = (
        label("container.image.repo", "container.image.repository"),
        label("container.image.tag"),
    )
    values["container_image"] = (
        f"{repo}:{tag}"
        if repo and tag
        else repo or label("container.image", "container.image.name")
    )
    digest = _digest(
        COMMAND,
        [
            time_ns,
            values["hostname"],
            values["container_id"],
            ints["pid"],
            ints["ppid"],
            ints["uid"],
            values["user_name"],
            cmdline,
            values["cwd"],
            ints["tty"],
            values["comm"],
            values["pcomm"],
        ],
    )
    # Every value comes from ``item``: as for alerts (``falco.build_alert``), one look at the
    # whole of it spares scrubbing each value when there is nothing to replace.
    fix = scrub if falco._needs_scrub(item) else falco._unchanged
    cut = {
        name: fix(value)[: COMMAND_LENGTHS[name]] if name in COMMAND_LENGTHS else fix(value)
        for name, value in values.items()
    }
    return Command(
        content_hash=digest,
        time=time,
        time_ns=time_ns,
        cmdline=fix(cmdline),
        labels=fix(labels),
        raw=fix(item),
        **ints,
        **cut,
    )
