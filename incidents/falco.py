"""Falco alerts as data: reading request bodies, normalising alerts, hashing them, mapping tags.

Pure Python, no Django: the ingestion service (``incidents.ingest``) and the ``ingest_falco``
command store what this module produces. The payload shapes are those of
``../shared/DETECTION.md``: a raw Falco alert (``json_output: true``), a falcosidekick payload
(the same plus a ``uuid`` that is new on every delivery, so it is ignored), the
falcosidekick-ui envelope ``{"event": {...}, "outputs": [...]}``, a JSON array of any of these,
or JSON lines (Falco's file output, NDJSON).

Context comes from ``output_fields``, never from the human ``output`` text, whose wording
changes between Falco versions.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core import safejson
from core.canonical import canonical_sha256

# --- priorities ------------------------------------------------------------------------------

# Falco's eight priorities, most severe first (syslog order).
PRIORITIES = (
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
)
_PRIORITY_BY_NAME = {p.lower(): p for p in PRIORITIES} | {"info": "Informational"}


def normalise_priority(value: object) -> str | None:
    """``"CRITICAL"``, ``"critical"`` → ``"Critical"``; ``"info"`` → ``"Informational"``;
    ``None`` for anything Falco does not emit."""
    if not isinstance(value, str):
        return None
    return _PRIORITY_BY_NAME.get(value.strip().lower())


# --- time ------------------------------------------------------------------------------------

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<clock>\d{2}:\d{2}:\d{2})"
    r"(?:[.,](?P<frac>\d{1,9}))?\s*(?P<zone>[Zz]|[+-]\d{2}:?\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What a PostgreSQL bigint holds, as nanoseconds since the epoch: years 1677 to 2262.
_NS_MIN, _NS_MAX = -(2**63), 2**63 - 1


class BadTime(ValueError):
    pass


def parse_time(value: object) -> tuple[datetime, int]:
    """An ISO 8601 instant with up to nine fractional digits → (UTC datetime truncated to
    microseconds, nanoseconds since the epoch). Python's own parsers drop the last three
    digits; Falco's times carry them. An instant without a zone is refused: it is ambiguous."""
    if not isinstance(value, str):
        raise BadTime(f"time must be an ISO 8601 string, not {_json_type(value)}")
    m = _ISO.match(value.strip())
    if not m:
        raise BadTime(f"time {value[:64]!r} is not an ISO 8601 timestamp with a zone")
    try:
        whole = datetime.fromisoformat(f"{m['date']}T{m['clock']}")
    except ValueError as exc:
        raise BadTime(f"time {value[:64]!r} is not a valid date and time ({exc})") from exc
    zone = m["zone"]
    offset = timedelta(0)
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        if hours > 23 or minutes > 59:
            raise BadTime(f"time {value[:64]!r} has an impossible UTC offset")
        offset = sign * timedelta(hours=hours, minutes=minutes)
    frac_ns = int((m["frac"] or "").ljust(9, "0"))
    try:
        utc = (whole - offset).replace(tzinfo=UTC)
    except OverflowError as exc:
        raise BadTime(f"time {value[:64]!r} is out of range") from exc
    delta = utc - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + frac_ns
    if not _NS_MIN <= ns <= _NS_MAX:
        raise BadTime(f"time {value[:64]!r} is outside 1677–2262")
    return utc.replace(microsecond=frac_ns // 1000), ns


def time_from_ns(ns: int) -> datetime:
    """Nanoseconds since the epoch → UTC datetime truncated to microseconds."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def format_ns(ns: int) -> str:
    """Nanoseconds since the epoch → ``2023-05-25T13:44:05.478445995Z``."""
    whole = _EPOCH + timedelta(seconds=ns // 1_000_000_000)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{ns % 1_000_000_000:09d}Z"


# --- tags ------------------------------------------------------------------------------------

# MITRE ATT&CK Enterprise tactics: id and name. Falco tags name them (``mitre_<tactic>``) or
# give the id (``TA0003``); both map to one entry "TA0003 Persistence".
ATTACK_TACTICS = {
    "TA0043": "Reconnaissance",
    "TA0042": "Resource Development",
    "TA0001": "Initial Access",
    "TA0002": "Execution",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
    "TA0009": "Collection",
    "TA0011": "Command and Control",
    "TA0010": "Exfiltration",
    "TA0040": "Impact",
}
_TACTIC_ID_BY_SLUG = {
    re.sub(r"[^a-z]+", "_", name.lower()): tid for tid, name in ATTACK_TACTICS.items()
}


def _tactic_from_slug(m: re.Match) -> str:
    slug = m["slug"].lower().strip("_")
    tid = _TACTIC_ID_BY_SLUG.get(slug)
    if tid:
        return f"{tid} {ATTACK_TACTICS[tid]}"
    return slug.replace("_", " ").title().replace(" And ", " and ")


def _tactic_from_id(m: re.Match) -> str:
    tid = m["id"].upper()
    return f"{tid} {ATTACK_TACTICS[tid]}" if tid in ATTACK_TACTICS else tid


def _control(prefix: str):
    def render(m: re.Match) -> str:
        return f"{prefix} {m['ref']}"

    return render


def _nist_800_53(m: re.Match) -> str:
    ref = f"{m['family'].upper()}-{int(m['number'])}"
    if m["enh"]:
        ref += f"({int(m['enh'])})"
    return f"NIST SP 800-53 {ref}"


# (pattern, category, render). Tried in order; the first pattern that matches a tag wins, so
# the specific ones come before the general ones. Categories are Detection fields.
TAG_RULES: tuple[tuple[re.Pattern, str, object], ...] = (
    # Sysdig's managed rules: MITRE_TA0002_execution, MITRE_T1059.004_unix_shell
    (re.compile(r"^MITRE_(?P<id>TA\d{4})(?:_.*)?$", re.I), "mitre_tactics", _tactic_from_id),
    (
        re.compile(r"^MITRE_(?P<id>T\d{4}(?:\.\d{3})?)(?:_.*)?$", re.I),
        "mitre_techniques",
        lambda m: m["id"].upper(),
    ),
    (re.compile(r"^(?P<id>TA\d{4})$", re.I), "mitre_tactics", _tactic_from_id),
    (
        re.compile(r"^(?P<id>T\d{4}(?:\.\d{3})?)$", re.I),
        "mitre_techniques",
        lambda m: m["id"].upper(),
    ),
    (re.compile(r"^mitre_(?P<slug>[a-z_]+)$", re.I), "mitre_tactics", _tactic_from_slug),
    (
        re.compile(
            r"^NIST_800-53(?:_r\d)?_(?P<family>[A-Z]{2})-(?P<number>\d{1,3})"
            r"(?:\((?P<enh>\d{1,3})\)|\.(?P<enh2>\d{1,3}))?$",
            re.I,
        ),
        "control_refs",
        lambda m: (
            _nist_800_53(m)
            if not m["enh2"]
            else f"NIST SP 800-53 {m['family'].upper()}-{int(m['number'])}({int(m['enh2'])})"
        ),
    ),
    (
        re.compile(r"^PCI_DSS_(?P<ref>[0-9A-Z]+(?:\.[0-9A-Z]+)*)$", re.I),
        "control_refs",
        _control("PCI DSS"),
    ),
    (
        re.compile(r"^NIST_800-(?P<pub>\d+[A-Z]?)(?:_(?P<ref>.+))?$", re.I),
        "control_refs",
        lambda m: f"NIST SP 800-{m['pub'].upper()}" + (f" {m['ref']}" if m["ref"] else ""),
    ),
    (re.compile(r"^SOC_?2_(?P<ref>.+)$", re.I), "control_refs", _control("SOC 2")),
    (re.compile(r"^ISO_?27001_(?P<ref>.+)$", re.I), "control_refs", _control("ISO/IEC 27001")),
    (re.compile(r"^HIPAA_(?P<ref>.+)$", re.I), "control_refs", _control("HIPAA")),
    (re.compile(r"^GDPR_(?P<ref>.+)$", re.I), "control_refs", _control("GDPR")),
    (re.compile(r"^FedRAMP_(?P<ref>.+)$", re.I), "control_refs", _control("FedRAMP")),
    (re.compile(r"^CIS_(?P<ref>.+)$"), "control_refs", _control("CIS")),
)


@dataclass(frozen=True)
class TagMapping:
    mitre_tactics: tuple[str, ...] = ()
    mitre_techniques: tuple[str, ...] = ()
    control_refs: tuple[str, ...] = ()


def map_tags(tags: Iterable[str]) -> TagMapping:
    """Tags → ATT&CK tactics (``"TA0005 Defense Evasion"``), techniques (``"T1070"``) and
    control references (``"NIST SP 800-53 AU-10"``, ``"PCI DSS 10.2.5"``), each list without
    repeats, in the order the tags give them. Tags no rule knows (``container``,
    ``maturity_stable``) map to nothing; they stay in the detection's tag list."""
    found: dict[str, dict[str, None]] = {
        "mitre_tactics": {},
        "mitre_techniques": {},
        "control_refs": {},
    }
    for tag in tags:
        for pattern, category, render in TAG_RULES:
            m = pattern.match(tag)
            if m:
                found[category][render(m)] = None
                break
    return TagMapping(**{k: tuple(v) for k, v in found.items()})


# --- normalised alerts -----------------------------------------------------------------------


class Kind:
    ALERT = "alert"
    TEST = "test"
    INTERNAL = "internal"


# Where context lives in output_fields, first present wins. ka.* are Kubernetes audit events.
CONTEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "container_id": ("container.id",),
    "image_repository": ("container.image.repository",),
    "image_tag": ("container.image.tag",),
    "image": ("container.image",),
    "k8s_cluster": ("k8s.cluster.name", "kubernetes.cluster.name", "cluster", "k8s_cluster"),
    "k8s_namespace": ("k8s.ns.name", "ka.target.namespace", "ka.resp.namespace"),
    "k8s_pod": ("k8s.pod.name", "ka.target.pod.name"),
    "process_name": ("proc.name",),
    "process_cmdline": ("proc.cmdline",),
    "process_pid": ("proc.pid", "proc.vpid"),
    "user_name": ("user.name", "ka.user.name"),
    "file_path": ("fd.name", "fs.path.name", "fd.filename"),
}

# Column lengths of incidents.Detection: longer values are cut, never refused.
MAX_LENGTHS = {
    "rule": 255,
    "source": 64,
    "hostname": 255,
    "container_id": 128,
    "container_image": 512,
    "k8s_cluster": 253,
    "k8s_namespace": 253,
    "k8s_pod": 253,
    "process_name": 255,
    "user_name": 255,
}


class Rejected(ValueError):
    """An item that cannot be stored; the message is the reason given to the sender."""


@dataclass
class Alert:
    """One Falco alert, normalised. ``raw`` is the item as received (envelope removed)."""

    content_hash: str
    kind: str
    rule: str
    priority: str
    source: str
    hostname: str
    time: datetime
    time_ns: int
    output: str
    tags: list[str]
    output_fields: dict
    container_id: str = ""
    container_image: str = ""
    image_repository: str = ""
    k8s_cluster: str = ""
    k8s_namespace: str = ""
    k8s_pod: str = ""
    process_name: str = ""
    process_cmdline: str = ""
    process_pid: int | None = None
    user_name: str = ""
    file_path: str = ""
    mitre_tactics: list[str] = field(default_factory=list)
    mitre_techniques: list[str] = field(default_factory=list)
    control_refs: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def group_key(self) -> str:
        return group_key(
            k8s_namespace=self.k8s_namespace,
            k8s_pod=self.k8s_pod,
            container_id=self.container_id,
            hostname=self.hostname,
        )


def group_key(*, k8s_namespace: str, k8s_pod: str, container_id: str, hostname: str) -> str:
    """What detections of one system are grouped by: the pod, else the container, else the
    host (Falco names host processes' container ``host``)."""
    if k8s_pod:
        return f"pod:{k8s_namespace}/{k8s_pod}"[:300]
    if container_id and container_id != "host":
        return f"container:{container_id}"[:300]
    return f"host:{hostname}"[:300]


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def unwrap(item: object) -> object:
    """The alert inside a falcosidekick-ui envelope ``{"event": {...}, "outputs": [...]}``;
    anything else as it is."""
    if (
        isinstance(item, dict)
        and isinstance(item.get("event"), dict)
        and "rule" not in item
        and ("outputs" in item or len(item) == 1)
    ):
        return item["event"]
    return item


def content_hash(*, rule: str, time_ns: int, hostname: str, output: str, output_fields) -> str:
    """sha256 (hex) of canonical JSON of what identifies an alert. Not falcosidekick's
    ``uuid`` (new on every delivery), and the time as integer nanoseconds, so a forwarder that
    re-serialises the timestamp (Go drops trailing zeros) does not make a redelivery new."""
    return canonical_sha256([rule, time_ns, hostname, output, output_fields])


_UNSAFE = re.compile(r"[\x00\ud800-\udfff]")


def scrub(value):
    """``value`` with what PostgreSQL cannot store in text or jsonb replaced by U+FFFD: NUL
    characters and lone surrogates (both are valid JSON escapes)."""
    if isinstance(value, str):
        if not _UNSAFE.search(value):
            return value
        fixed = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return fixed.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


# What scrub() replaces, as json.dumps(..., ensure_ascii=False) writes it: NUL escaped, lone
# surrogates as they are (a backslash-u-0000 in the text itself only costs the slow path).
_UNSAFE_JSON = re.compile(r"\\u0000|[\ud800-\udfff]")


def _needs_scrub(item) -> bool:
    try:
        text = json.dumps(item, ensure_ascii=False, check_circular=False)
    except (TypeError, ValueError):
        return True
    return bool(_UNSAFE_JSON.search(text))


def _unchanged(value):
    return value


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _first(fields: Mapping, names: Sequence[str]):
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return value
    return None


def _cut(name: str, value: str) -> str:
    limit = MAX_LENGTHS.get(name)
    return value[:limit] if limit else value


def _kind(rule: str, source: str, hostname: str, tags: Sequence[str]) -> str:
    if rule.startswith("Falco internal:") or source == "internal":
        return Kind.INTERNAL
    # falcosidekick's /test endpoint (and its UI's "test" button).
    if rule == "Test rule" and (hostname == "falcosidekick" or "test" in tags):
        return Kind.TEST
    return Kind.ALERT


REQUIRED = ("rule", "priority", "time")


def normalise(item: object) -> Alert:
    """One received item → an ``Alert``; raises ``Rejected`` naming the problem."""
    item = unwrap(item)
    if not isinstance(item, dict):
        raise Rejected(f"not a JSON object (got {_json_type(item)})")
    missing = [name for name in REQUIRED if item.get(name) in (None, "")]
    if missing:
        raise Rejected(f"missing required field(s): {', '.join(missing)}")
    rule = item["rule"]
    if not isinstance(rule, str) or not rule.strip():
        raise Rejected(f"rule must be a non-empty string, not {_json_type(rule)}")
    priority = normalise_priority(item["priority"])
    if priority is None:
        raise Rejected(
            f"unknown priority {str(item['priority'])[:40]!r} "
            f"(expected one of {', '.join(PRIORITIES)}, any case, or info)"
        )
    try:
        time, time_ns = parse_time(item["time"])
    except BadTime as exc:
        raise Rejected(f"bad time: {exc}") from exc
    fields = item.get("output_fields")
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise Rejected(f"output_fields must be an object, not {_json_type(fields)}")
    tags = item.get("tags")
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Rejected("tags must be an array of strings")
    for name in ("hostname", "output", "source"):
        if item.get(name) is not None and not isinstance(item[name], str):
            raise Rejected(f"{name} must be a string, not {_json_type(item[name])}")
    hostname = item.get("hostname") or ""
    output = item.get("output") or ""
    source = item.get("source") or ""

    digest = content_hash(
        rule=rule, time_ns=time_ns, hostname=hostname, output=output, output_fields=fields
    )
    return build_alert(
        content_hash=digest,
        kind=_kind(rule, source, hostname, tags),
        rule=rule,
        priority=priority,
        source=source,
        hostname=hostname,
        time=time,
        time_ns=time_ns,
        output=output,
        tags=tags,
        output_fields=fields,
        raw={k: v for k, v in item.items() if k != "uuid"},
    )


def build_alert(
    *,
    content_hash: str,
    kind: str,
    rule: str,
    priority: str,
    source: str,
    hostname: str,
    time: datetime,
    time_ns: int,
    output: str,
    tags: list[str],
    output_fields: dict,
    raw: dict,
    context: Mapping | None = None,
) -> Alert:
    """An ``Alert`` from validated values: context (container, image, Kubernetes, process,
    user, file) looked up in ``context`` (default: ``output_fields``) by ``CONTEXT_FIELDS``,
    tags mapped, values cut to their columns and made storable. Shared by the Falco and the
    Sysdig Secure normalisers."""
    digest, fields = content_hash, output_fields
    lookup = fields if context is None else context
    # Every value below comes from ``raw`` (the item as received), and most items hold nothing
    # to scrub: one C-speed look at the whole of it spares walking it.
    fix = scrub if _needs_scrub(raw) else _unchanged
    ctx = {name: _first(lookup, names) for name, names in CONTEXT_FIELDS.items()}
    repository = _text(ctx["image_repository"])
    image = repository
    if repository and ctx["image_tag"]:
        image = f"{repository}:{_text(ctx['image_tag'])}"
    elif not repository and ctx["image"]:
        image = _text(ctx["image"])
        repository = image.rsplit("@", 1)[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository.rsplit(":", 1)[0]
    pid = ctx["process_pid"]
    if isinstance(pid, str) and pid.lstrip("-").isdigit():
        pid = int(pid)
    if not isinstance(pid, int) or isinstance(pid, bool) or not _NS_MIN <= pid <= _NS_MAX:
        pid = None
    tags = [fix(t) for t in tags]
    mapped = map_tags(tags)
    values = {
        "rule": rule,
        "source": source,
        "hostname": hostname,
        "container_id": _text(ctx["container_id"]),
        "container_image": image,
        "k8s_cluster": _text(ctx["k8s_cluster"]),
        "k8s_namespace": _text(ctx["k8s_namespace"]),
        "k8s_pod": _text(ctx["k8s_pod"]),
        "process_name": _text(ctx["process_name"]),
        "process_cmdline": _text(ctx["process_cmdline"]),
        "user_name": _text(ctx["user_name"]),
        "file_path": _text(ctx["file_path"]),
    }
    values = {name: _cut(name, fix(value)) for name, value in values.items()}
    return Alert(
        content_hash=digest,
        kind=kind,
        priority=priority,
        time=time,
        time_ns=time_ns,
        output=fix(output),
        tags=tags,
        output_fields=fix(fields),
        image_repository=fix(repository),
        process_pid=pid,
        mitre_tactics=list(mapped.mitre_tactics),
        mitre_techniques=list(mapped.mitre_techniques),
        control_refs=list(mapped.control_refs),
        raw=fix(raw),
        **values,
    )


# --- request bodies --------------------------------------------------------------------------


class Unreadable(ValueError):
    """The whole body cannot be read: nothing of it is stored."""


@dataclass(frozen=True)
class Item:
    """One item of a body: its index, and either its value or why it could not be parsed.
    ``line`` is its line number in a JSON-lines body."""

    index: int
    value: object = None
    error: str | None = None
    line: int | None = None


NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
        "application/json-lines",
        "application/json-seq",
    }
)


def _reject_constant(name: str):
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str):
    """One JSON value; ``safejson.TooDeep`` (a ``ValueError``) beyond its nesting limit."""
    return safejson.loads(text, parse_constant=_reject_constant)


def _describe(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def iter_lines(lines: Iterable[str], *, first_line: int = 1) -> Iterator[Item]:
    """JSON lines → items, numbered from 0; blank lines are skipped (and not numbered)."""
    index = 0
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            yield Item(index=index, value=loads(line), line=number)
        except ValueError as exc:
            yield Item(index=index, error=f"invalid JSON: {_describe(exc)}", line=number)
        index += 1


def parse_body(text: str, content_type: str = "") -> list[Item]:
    """A request body (already decoded) → its items.

    A JSON array gives one item per element; any other JSON value is one item. A body declared
    as JSON lines, or one that is not a single JSON value but whose first line is, is read line
    by line: a bad line is a bad item, not a bad body. Raises ``Unreadable`` when no item can
    be read at all."""
    if not text.strip():
        raise Unreadable("the body is empty")
    media = content_type.split(";", 1)[0].strip().lower()
    if media in NDJSON_TYPES:
        return _lines_or_unreadable(text)
    try:
        value = loads(text)
    except ValueError as whole_error:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if len(lines) > 1:
            try:
                loads(lines[0])
            except ValueError:
                pass
            else:
                return _lines_or_unreadable(text)
        if isinstance(whole_error, safejson.TooDeep):
            raise Unreadable(f"the body is JSON {whole_error}") from None
        raise Unreadable(f"the body is not valid JSON: {_describe(whole_error)}") from None
    if isinstance(value, list):
        return [Item(index=i, value=v) for i, v in enumerate(value)]
    return [Item(index=0, value=value)]


def _lines_or_unreadable(text: str) -> list[Item]:
    items = list(iter_lines(text.split("\n")))
    if not items:
        raise Unreadable("the body holds no JSON lines")
    if all(i.error for i in items):
        raise Unreadable(
            f"no line of the body is valid JSON (line {items[0].line}: {items[0].error})"
        )
    return items


# --- attribution -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selectors:
    """What attributes a detection to one information system (its selector fields)."""

    system_id: int
    host_patterns: tuple[str, ...] = ()
    k8s_clusters: tuple[str, ...] = ()
    k8s_namespaces: tuple[str, ...] = ()
    image_repositories: tuple[str, ...] = ()


def _glob(value: str, patterns: Sequence[str]) -> bool:
    value = value.lower()
    return any(fnmatch.fnmatchcase(value, p.strip().lower()) for p in patterns if p.strip())


def _image_under(repository: str, prefixes: Sequence[str]) -> bool:
    """Whether ``repository`` is one of ``prefixes`` or lies under one, on a path boundary:
    ``registry.gov/store`` covers ``registry.gov/store/web``, not ``registry.gov/storefront``."""
    repository = repository.lower()
    for prefix in prefixes:
        prefix = prefix.strip().lower()
        if not prefix:
            continue
        if prefix.endswith("/") and repository.startswith(prefix):
            return True
        if repository == prefix or repository.startswith(prefix + "/"):
            return True
    return False


def matches(selectors: Selectors, alert: Alert) -> bool:
    """A system's selectors match when any of these holds: the host name matches one of its
    host patterns (shell-style, any case); the alert's Kubernetes context matches its clusters
    and namespaces (both when both are given; patterns too); the container image repository is
    one of its repositories or lies under one."""
    if alert.hostname and _glob(alert.hostname, selectors.host_patterns):
        return True
    if selectors.k8s_clusters or selectors.k8s_namespaces:
        cluster_ok = not selectors.k8s_clusters or (
            bool(alert.k8s_cluster) and _glob(alert.k8s_cluster, selectors.k8s_clusters)
        )
        namespace_ok = not selectors.k8s_namespaces or (
            bool(alert.k8s_namespace) and _glob(alert.k8s_namespace, selectors.k8s_namespaces)
        )
        has_k8s = bool(alert.k8s_cluster or alert.k8s_namespace)
        if has_k8s and cluster_ok and namespace_ok:
            return True
    return bool(
        alert.image_repository
        and _image_under(alert.image_repository, selectors.image_repositories)
    )


def attribute(alert: Alert, systems: Sequence[Selectors]) -> int | None:
    """The id of the first system (in the order given) whose selectors match, else ``None``:
    the alert waits in the agency's triage queue."""
    for selectors in systems:
        if matches(selectors, alert):
            return selectors.system_id
    return None
