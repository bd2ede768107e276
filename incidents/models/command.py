from django.db import models
from django.db.models import Q


class CommandRecord(models.Model):
    """One command Sysdig Secure's activity audit recorded (``POST /api/v1/ingest/sysdig``,
    ``ingest_sysdig``): when (with its nanoseconds), who, which process and parent, where
    (container, host, Kubernetes namespace and pod from the labels), what (command line,
    working directory). ``raw`` keeps the record as received.

    Stored once per agency (``content_hash``, ``incidents.sysdig.normalise_command``). Not tied
    to an incident when stored: the incident timeline finds the records of its detections'
    pods, containers and hosts within their time span (``incidents.timeline``), so records
    that arrive before a candidate is promoted show up once it is.
    """

    agency_path = "agency"

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="command_records"
    )
    token = models.ForeignKey(
        "accounts.IngestToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="command_records",
        help_text="The ingest token that delivered it (empty: a file import).",
    )
    content_hash = models.CharField(max_length=64)
    time = models.DateTimeField(help_text="When the command ran (UTC, to the microsecond).")
    time_ns = models.BigIntegerField(help_text="The same instant in nanoseconds since the epoch.")
    cmdline = models.TextField()
    comm = models.CharField(max_length=255, blank=True)
    pcomm = models.CharField(max_length=255, blank=True, help_text="The parent's command name.")
    pid = models.BigIntegerField(null=True, blank=True)
    ppid = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    user_name = models.CharField(max_length=255, blank=True)
    cwd = models.TextField(blank=True)
    tty = models.BigIntegerField(null=True, blank=True)
    container_id = models.CharField(max_length=128, blank=True)
    container_image = models.CharField(max_length=512, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    k8s_cluster = models.CharField(max_length=253, blank=True)
    k8s_namespace = models.CharField(max_length=253, blank=True)
    k8s_pod = models.CharField(max_length=253, blank=True)
    group_key = models.CharField(
        max_length=300, help_text="pod:<namespace>/<pod>, container:<id> or host:<name>."
    )
    labels = models.JSONField(default=dict, blank=True)
    raw = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["time_ns", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "content_hash"], name="command_record_once_per_agency"
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "group_key", "time_ns"]),
            models.Index(
                fields=["agency", "container_id", "time_ns"],
                condition=~Q(container_id=""),
                name="command_record_container",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_name or self.uid} {self.cmdline[:60]} at {self.time:%Y-%m-%d %H:%M:%S}Z"


class ExtractionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class CommandExtraction(models.Model):
    """The latest run of Debian's ``sysdig`` over one scap evidence item
    (``evidence.captures``): when, whether it worked, how many commands it found, and the
    error when it did not — a missing binary, a corrupt capture, a time-out, too much output.
    Re-running replaces the item's captured commands and this record."""

    agency_path = "evidence__incident__agency"
    incident_path = "evidence__incident"

    evidence = models.OneToOneField(
        "evidence.Evidence", on_delete=models.PROTECT, related_name="command_extraction"
    )
    status = models.CharField(
        max_length=16, choices=ExtractionStatus.choices, default=ExtractionStatus.PENDING
    )
    error = models.TextField(blank=True)
    commands = models.PositiveIntegerField(default=0)
    tool = models.CharField(max_length=100, blank=True, help_text="sysdig's version line.")
    runs = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the run was last queued; a pending run waiting too long is queued "
        "again by the job sweep.",
    )

    class Meta:
        indexes = [models.Index(fields=["status", "queued_at"], name="extraction_status_queued")]

    def __str__(self) -> str:
        return f"evidence {self.evidence_id}: {self.status} ({self.commands} commands)"


class CapturedCommand(models.Model):
    """One command executed in a scap capture (an ``execve`` that returned), as ``sysdig``
    decoded it from the evidence item: time with its nanoseconds, user, pid and parent pid,
    container, command line. ``raw`` keeps sysdig's JSON line. Unique per item and event
    number, so extracting twice stores each command once."""

    agency_path = "evidence__incident__agency"
    incident_path = "evidence__incident"

    evidence = models.ForeignKey(
        "evidence.Evidence", on_delete=models.PROTECT, related_name="captured_commands"
    )
    evt_num = models.BigIntegerField(help_text="sysdig's event number within the capture.")
    time = models.DateTimeField()
    time_ns = models.BigIntegerField()
    user_name = models.CharField(max_length=255, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    pid = models.BigIntegerField(null=True, blank=True)
    ppid = models.BigIntegerField(null=True, blank=True)
    tid = models.BigIntegerField(null=True, blank=True)
    process_name = models.CharField(max_length=255, blank=True)
    parent_name = models.CharField(max_length=255, blank=True)
    exe = models.TextField(blank=True)
    cmdline = models.TextField()
    cwd = models.TextField(blank=True)
    tty = models.BigIntegerField(null=True, blank=True)
    container_id = models.CharField(max_length=128, blank=True)
    container_name = models.CharField(max_length=255, blank=True)
    container_image = models.CharField(max_length=512, blank=True)
    k8s_namespace = models.CharField(max_length=253, blank=True)
    k8s_pod = models.CharField(max_length=253, blank=True)
    raw = models.JSONField()

    class Meta:
        ordering = ["time_ns", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence", "evt_num"], name="captured_command_once_per_event"
            ),
        ]
        indexes = [models.Index(fields=["evidence", "time_ns"])]

    def __str__(self) -> str:
        return f"{self.pid} {self.cmdline[:60]} at {self.time:%Y-%m-%d %H:%M:%S}Z"
