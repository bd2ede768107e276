from django.conf import settings
from django.db import models
from django.db.models import Q

from incidents.falco import PRIORITIES, Kind


class Priority(models.TextChoices):
    """Falco's priorities, most severe first."""

    EMERGENCY = PRIORITIES[0]
    ALERT = PRIORITIES[1]
    CRITICAL = PRIORITIES[2]
    ERROR = PRIORITIES[3]
    WARNING = PRIORITIES[4]
    NOTICE = PRIORITIES[5]
    INFORMATIONAL = PRIORITIES[6]
    DEBUG = PRIORITIES[7]


class DetectionKind(models.TextChoices):
    ALERT = Kind.ALERT, "Alert"
    TEST = Kind.TEST, "Test event"
    INTERNAL = Kind.INTERNAL, "Falco internal message"


class CandidateStatus(models.TextChoices):
    OPEN = "open", "Open"
    PROMOTED = "promoted", "Promoted to an incident"
    ATTACHED = "attached", "Attached to an incident"
    DISMISSED = "dismissed", "Dismissed"


class IncidentCandidate(models.Model):
    """Detections of one system and one pod (else container, else host) close together in time:
    what an ISSO triages. Detections join an open candidate when they fall within
    ``DOCKET_CANDIDATE_WINDOW_MINUTES`` of it (``incidents.ingest.detections_group``, run after
    commit by the ``group_detections`` task). A candidate without a system waits in the agency's
    triage queue. It ends promoted to a new incident, attached to an existing one, or dismissed
    with a reason (``incidents.ingest.candidate_*``).
    """

    agency_path = "agency"
    # The triage queue: handlers read it agency-wide; an auditor only the candidates that
    # became (or joined) an incident granted to it.
    grant_path = "incident"

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="incident_candidates"
    )
    system = models.ForeignKey(
        "compliance.InformationSystem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incident_candidates",
        help_text="Empty: no system's selectors matched; the candidate is in the triage queue.",
    )
    group_key = models.CharField(
        max_length=300, help_text="pod:<namespace>/<pod>, container:<id> or host:<name>."
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.OPEN
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="candidates",
    )
    dismissed_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen", "-pk"]
        indexes = [
            models.Index(fields=["agency", "status", "-last_seen"]),
            models.Index(fields=["agency", "group_key", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "dismissed"], incident__isnull=True)
                | Q(status__in=["promoted", "attached"], incident__isnull=False),
                name="candidate_incident_matches_status",
            ),
        ]

    def __str__(self) -> str:
        where = self.system.acronym if self.system_id else "triage"
        return f"{where} {self.group_key} ({self.count} detections, {self.status})"


class Detection(models.Model):
    """One runtime alert as a detection tool sent it (Falco, through falcosidekick or not),
    normalised: priority, time with its nanoseconds, context from ``output_fields``, tags mapped
    to ATT&CK and control references (``incidents.falco``). ``raw`` keeps the item as received
    (without falcosidekick's per-delivery ``uuid``).

    Stored once per agency: ``content_hash`` (sha256 of rule, time, host, output and
    output_fields) is unique per agency, so a redelivery stores nothing new. Test events and
    Falco's internal messages are kept with their ``kind`` and are never grouped.
    """

    agency_path = "agency"
    # The triage queue: handlers read it agency-wide; an auditor only the detections of the
    # incidents granted to it.
    grant_path = "candidate__incident"

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="detections"
    )
    system = models.ForeignKey(
        "compliance.InformationSystem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="detections",
    )
    candidate = models.ForeignKey(
        IncidentCandidate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="detections",
    )
    token = models.ForeignKey(
        "accounts.IngestToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="detections",
        help_text="The ingest token that delivered it (empty: a file import).",
    )
    content_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=DetectionKind.choices)
    rule = models.CharField(max_length=255)
    priority = models.CharField(max_length=16, choices=Priority.choices)
    source = models.CharField(max_length=64, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    time = models.DateTimeField(help_text="When the event happened (UTC, to the microsecond).")
    time_ns = models.BigIntegerField(help_text="The same instant in nanoseconds since the epoch.")
    output = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    output_fields = models.JSONField(default=dict, blank=True)
    container_id = models.CharField(max_length=128, blank=True)
    container_image = models.CharField(max_length=512, blank=True)
    k8s_cluster = models.CharField(max_length=253, blank=True)
    k8s_namespace = models.CharField(max_length=253, blank=True)
    k8s_pod = models.CharField(max_length=253, blank=True)
    process_name = models.CharField(max_length=255, blank=True)
    process_cmdline = models.TextField(blank=True)
    process_pid = models.BigIntegerField(null=True, blank=True)
    user_name = models.CharField(max_length=255, blank=True)
    file_path = models.TextField(blank=True)
    mitre_tactics = models.JSONField(default=list, blank=True)
    mitre_techniques = models.JSONField(default=list, blank=True)
    control_refs = models.JSONField(default=list, blank=True)
    raw = models.JSONField()
    received_at = models.DateTimeField()
    grouped_at = models.DateTimeField(
        null=True, blank=True, help_text="When grouping placed it in a candidate."
    )

    class Meta:
        ordering = ["-time_ns", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "content_hash"], name="detection_once_per_agency"
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "-time_ns"]),
            models.Index(fields=["candidate", "time_ns"]),
            models.Index(
                fields=["agency", "time_ns"],
                condition=Q(grouped_at__isnull=True, kind="alert"),
                name="detection_ungrouped",
            ),
        ]

    def __str__(self) -> str:
        host = self.hostname or "?"
        return f"{self.priority} {self.rule} on {host} at {self.time:%Y-%m-%d %H:%M:%S}Z"
