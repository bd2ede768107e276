"""Reads of the incidents app that gather several kinds of rows.

``incident_timeline`` is the "New Timeline" of an incident: in time order (to the nanosecond
where the source gives it), what happened and what was done —

- **detections**: the Falco alerts and Sysdig policy events of the candidates promoted to, or
  attached to, the incident;
- **commands**: Sysdig activity-audit command records that belong to it. A record belongs when
  it ran where one of those candidates was seen — the same group key (pod, else container,
  else host) — within the candidate's span widened by the grouping window
  (``DOCKET_CANDIDATE_WINDOW_MINUTES``) on both sides, or in a container one of the incident's
  detections ran in, within the span of all its candidates so widened. Membership is decided
  when the timeline is read, not when a record is stored, so records that arrive before a
  candidate is promoted (or after) show up once it is;
- **captures**: the commands decoded from the incident's scap evidence (``CapturedCommand``);
- **actions**: the handlers' acts, the incident's append-only event log (``IncidentEvent``).

A fixed number of queries whatever the size (each source is read once, up to the limit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from accounts.context import AgencyContext
from accounts.scoping import scope

from .ingest import candidate_window
from .models import (
    CapturedCommand,
    CommandExtraction,
    CommandRecord,
    Detection,
    Incident,
    IncidentCandidate,
    IncidentEvent,
)

SOURCES = {
    "detection": "Detection",
    "command": "Command record",
    "capture": "Capture",
    "action": "Handler action",
}
DEFAULT_LIMIT = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Entry:
    """One line of the timeline. ``time_ns`` is ``None`` where the source keeps microseconds
    only (handler actions)."""

    source: str
    time: datetime
    time_ns: int | None
    user: str = ""
    pid: int | None = None
    ppid: int | None = None
    container: str = ""
    command: str = ""
    detail: str = ""
    origin: str = ""  # what within the source: Falco, Sysdig, an evidence file name
    ref: dict = field(default_factory=dict)

    @property
    def sort_ns(self) -> int:
        return self.time_ns if self.time_ns is not None else to_ns(self.time)

    @property
    def source_label(self) -> str:
        return SOURCES[self.source]


@dataclass
class Timeline:
    entries: list[Entry]
    sources: tuple[str, ...]
    limit: int
    truncated: bool
    extractions: list[CommandExtraction]


def to_ns(when: datetime) -> int:
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def local_time(entry: Entry, tz: ZoneInfo) -> str:
    """``2018-08-17 13:35:48.514632619 EDT``: the agency's wall clock, to the nanosecond when
    known (else the microsecond), with the zone's abbreviation."""
    local = entry.time.astimezone(tz)
    if entry.time_ns is not None:
        frac = f"{entry.time_ns % 1_000_000_000:09d}"
    else:
        frac = f"{local.microsecond:06d}"
    return f"{local:%Y-%m-%d %H:%M:%S}.{frac} {local.tzname()}"


def _where(container_id: str, namespace: str, pod: str, hostname: str) -> str:
    if pod:
        where = f"{namespace}/{pod}" if namespace else pod
        return f"{where} ({container_id[:12]})" if container_id else where
    if container_id and container_id != "host":
        return container_id
    return f"host {hostname}" if hostname else ("host" if container_id == "host" else "")


def incident_timeline(
    ctx: AgencyContext,
    incident: Incident,
    *,
    sources: Iterable[str] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Timeline:
    """The incident's timeline (see the module docstring), oldest first, at most ``limit``
    entries (``truncated`` says when more exist), limited to ``sources`` (keys of
    ``SOURCES``; default all). ``extractions`` lists the sysdig runs over the incident's scap
    evidence, so a failed one can be shown with its reason. ``incident`` must be one the
    caller sees; every query is scoped too."""
    wanted = tuple(s for s in SOURCES if sources is None or s in set(sources))
    entries: list[Entry] = []
    truncated = False

    def take(rows) -> list:
        nonlocal truncated
        rows = list(rows[: limit + 1])
        if len(rows) > limit:
            truncated = True
        return rows[:limit]

    if "detection" in wanted:
        detections = (
            scope(Detection.objects.all(), ctx)
            .filter(candidate__incident=incident)
            .order_by("time_ns", "pk")
            .only(
                "pk",
                "time",
                "time_ns",
                "rule",
                "priority",
                "source",
                "hostname",
                "container_id",
                "k8s_namespace",
                "k8s_pod",
                "process_cmdline",
                "process_pid",
                "user_name",
            )
        )
        for d in take(detections):
            entries.append(
                Entry(
                    source="detection",
                    time=d.time,
                    time_ns=d.time_ns,
                    user=d.user_name,
                    pid=d.process_pid,
                    container=_where(d.container_id, d.k8s_namespace, d.k8s_pod, d.hostname),
                    command=d.process_cmdline,
                    detail=f"{d.priority}: {d.rule}",
                    origin="Sysdig" if d.source == "sysdig" else "Falco",
                    ref={"type": "detection", "id": d.pk},
                )
            )

    if "command" in wanted:
        entries.extend(_command_entries(ctx, incident, take))

    extractions: list[CommandExtraction] = []
    if "capture" in wanted:
        captured = (
            scope(CapturedCommand.objects.all(), ctx)
            .filter(evidence__incident=incident)
            .select_related("evidence")
            .only(
                "pk",
                "time",
                "time_ns",
                "user_name",
                "uid",
                "pid",
                "ppid",
                "container_id",
                "k8s_namespace",
                "k8s_pod",
                "cmdline",
                "cwd",
                "evidence__id",
                "evidence__original_filename",
                "evidence__withdrawn_at",
            )
            .order_by("time_ns", "pk")
        )
        for c in take(captured):
            # A withdrawn capture's commands stay visible, marked: they must not be read as
            # standing evidence.
            withdrawn = " (withdrawn evidence)" if c.evidence.withdrawn_at is not None else ""
            entries.append(
                Entry(
                    source="capture",
                    time=c.time,
                    time_ns=c.time_ns,
                    user=c.user_name or ("" if c.uid is None else f"uid {c.uid}"),
                    pid=c.pid,
                    ppid=c.ppid,
                    container=_where(c.container_id, c.k8s_namespace, c.k8s_pod, ""),
                    command=c.cmdline,
                    detail=f"cwd {c.cwd}" if c.cwd else "",
                    origin=c.evidence.original_filename + withdrawn,
                    ref={"type": "evidence", "id": c.evidence_id, "command": c.pk},
                )
            )
        extractions = list(
            scope(CommandExtraction.objects.all(), ctx)
            .filter(evidence__incident=incident)
            .select_related("evidence")
            .order_by("evidence_id")
        )

    if "action" in wanted:
        events = (
            scope(IncidentEvent.objects.all(), ctx)
            .filter(incident=incident)
            .select_related("actor")
            .order_by("at", "pk")
        )
        for ev in take(events):
            state = f" ({ev.from_state or '—'} → {ev.to_state or '—'})" if ev.to_state else ""
            entries.append(
                Entry(
                    source="action",
                    time=ev.at,
                    time_ns=None,
                    user=ev.actor.get_username() if ev.actor else "system",
                    detail=f"{ev.get_kind_display()}{state}" + (f": {ev.note}" if ev.note else ""),
                    ref={"type": "event", "id": ev.pk},
                )
            )

    order = {name: i for i, name in enumerate(SOURCES)}
    entries.sort(key=lambda e: (e.sort_ns, order[e.source], e.ref.get("id", 0)))
    if len(entries) > limit:
        entries, truncated = entries[:limit], True
    return Timeline(
        entries=entries,
        sources=wanted,
        limit=limit,
        truncated=truncated,
        extractions=extractions,
    )


def _command_entries(ctx, incident, take) -> list[Entry]:
    window = candidate_window()
    spans = list(
        scope(IncidentCandidate.objects.all(), ctx)
        .filter(incident=incident)
        .values_list("group_key", "first_seen", "last_seen")
    )
    if not spans:
        return []
    containers = sorted(
        set(
            scope(Detection.objects.all(), ctx)
            .filter(candidate__incident=incident)
            .exclude(container_id__in=("", "host"))
            .values_list("container_id", flat=True)
            .distinct()
        )
    )
    belongs = Q()
    for key, first, last in spans:
        belongs |= Q(
            group_key=key,
            time_ns__gte=to_ns(first - window),
            time_ns__lte=to_ns(last + window),
        )
    if containers:
        start = min(first for _, first, _ in spans) - window
        end = max(last for _, _, last in spans) + window
        belongs |= Q(
            container_id__in=containers,
            time_ns__gte=to_ns(start),
            time_ns__lte=to_ns(end),
        )
    records = (
        scope(CommandRecord.objects.all(), ctx)
        .filter(belongs)
        .order_by("time_ns", "pk")
        .defer("raw", "labels")
    )
    return [
        Entry(
            source="command",
            time=r.time,
            time_ns=r.time_ns,
            user=r.user_name or ("" if r.uid is None else f"uid {r.uid}"),
            pid=r.pid,
            ppid=r.ppid,
            container=_where(r.container_id, r.k8s_namespace, r.k8s_pod, r.hostname),
            command=r.cmdline,
            detail=f"cwd {r.cwd}" if r.cwd else "",
            origin="Sysdig activity audit",
            ref={"type": "command_record", "id": r.pk},
        )
        for r in take(records)
    ]


def parse_sources(values: list[str]) -> tuple[list[str] | None, str]:
    """The sources asked for (``None``: all) and an error naming unknown ones."""
    values = [v for v in values if v]
    unknown = sorted({v for v in values if v not in SOURCES})
    if unknown:
        known = ", ".join(SOURCES)
        return None, f"Unknown source(s) {', '.join(unknown)}; choose from {known}."
    return (values or None), ""
