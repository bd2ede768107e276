"""Frameworks, their controls, baselines and crosswalks.

A framework is a published catalog at one version (NIST SP 800-53 r5, CIS Controls v8, PCI DSS
4.0). Its controls keep the catalog's own identifiers; enhancements point to the control they
enhance. A baseline is a named selection of a framework's controls (an OSCAL profile: LOW,
MODERATE, HIGH).

A framework without an agency is reference data every agency sees (NIST from OSCAL, the
skeletons Docket ships); one with an agency was imported by that agency under its licence and
only that agency sees it, its controls and its crosswalk rows (``shared_when_agency_null``,
applied by ``accounts.scoping.scope``). See docs/adr/0010.
"""

from django.db import models
from django.db.models import Q


class Framework(models.Model):
    """A control catalog at one version, e.g. NIST SP 800-53 Revision 5.1.1, version 5.1.1+u4.

    ``licence_note`` says what of its text may be shown: NIST's catalogs are U.S. Government
    work in the public domain; CIS and PCI text is copyrighted, so Docket keeps identifiers and
    short titles of those unless an agency imports its licensed text.

    ``agency`` empty: a reference framework every agency sees; set: imported by that agency
    under its licence, visible only to it. ``(name, version)`` is unique per owner.
    """

    agency_path = "agency"
    shared_when_agency_null = True

    agency = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="frameworks",
        help_text="Empty: reference data for every agency. Set: that agency's licensed import.",
    )
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=64)
    source = models.CharField(
        max_length=500, blank=True, help_text="Where the catalog came from (file, OSCAL UUID)."
    )
    licence_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"],
                condition=Q(agency__isnull=True),
                name="framework_reference_name_version",
            ),
            models.UniqueConstraint(
                fields=["agency", "name", "version"],
                condition=Q(agency__isnull=False),
                name="framework_agency_name_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.version})"


class Control(models.Model):
    """One control or control enhancement of a framework.

    ``identifier`` is the catalog's own id (``ac-2.1`` in NIST's OSCAL, ``10.2.5`` in PCI DSS):
    the key imports and profiles match on. ``label`` is how people write it (``AC-2(1)``).
    ``sort_key`` orders controls as the catalog does (NIST's ``sort-id``, ``ac-02.01``), which
    plain string order of identifiers would not (``ac-10`` before ``ac-2``).
    """

    agency_path = "framework__agency"
    shared_when_agency_null = True

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="controls")
    identifier = models.CharField(max_length=100)
    label = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=500)
    family = models.CharField(max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="enhancements",
        help_text="For an enhancement, the control it enhances.",
    )
    sort_key = models.CharField(max_length=100)
    statement = models.TextField(
        blank=True, help_text="The control text, where its licence allows keeping it."
    )
    withdrawn = models.BooleanField(default=False)

    class Meta:
        ordering = ["sort_key", "identifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "identifier"], name="control_identifier_per_framework"
            )
        ]
        indexes = [
            models.Index(fields=["framework", "sort_key"], name="control_framework_sort"),
            models.Index(fields=["framework", "label"], name="control_framework_label"),
        ]

    def __str__(self) -> str:
        return f"{self.label or self.identifier} {self.title}"


class Baseline(models.Model):
    """A named selection of a framework's controls (FIPS 199 LOW, MODERATE, HIGH…)."""

    agency_path = "framework__agency"
    shared_when_agency_null = True

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="baselines")
    name = models.CharField(max_length=64)
    title = models.CharField(max_length=500, blank=True)
    controls = models.ManyToManyField(Control, related_name="baselines", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["framework", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "name"], name="baseline_name_per_framework"
            )
        ]

    def __str__(self) -> str:
        return f"{self.framework.name} {self.name}"


class Relationship(models.TextChoices):
    """How the target control relates to the source control of a crosswalk row."""

    EQUIVALENT = "equivalent", "Equivalent"
    SUBSET = "subset", "Subset (the source covers part of the target)"
    SUPERSET = "superset", "Superset (the source covers more than the target)"
    RELATED = "related", "Related"


class ControlMapping(models.Model):
    """One crosswalk row: a control of one framework mapped to a control of another.

    Read in both directions when resolving references (``compliance.crosswalk``). ``agency``
    empty: a reference row (Docket's shipped crosswalk), linking reference controls only; set:
    the agency's own row, which may link its licensed controls too and only it sees.
    ``source`` says who drew the mapping (a publication, "Docket"), ``note`` why.
    """

    agency_path = "agency"
    shared_when_agency_null = True

    agency = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="control_mappings",
    )
    source_control = models.ForeignKey(
        Control, on_delete=models.CASCADE, related_name="mappings_from"
    )
    target_control = models.ForeignKey(
        Control, on_delete=models.CASCADE, related_name="mappings_to"
    )
    relationship = models.CharField(max_length=16, choices=Relationship.choices)
    source = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source_control", "target_control"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_control", "target_control"],
                condition=Q(agency__isnull=True),
                name="mapping_reference_once",
            ),
            models.UniqueConstraint(
                fields=["agency", "source_control", "target_control"],
                condition=Q(agency__isnull=False),
                name="mapping_agency_once",
            ),
            models.CheckConstraint(
                condition=~Q(source_control=models.F("target_control")),
                name="mapping_not_to_itself",
            ),
        ]
        indexes = [models.Index(fields=["target_control"], name="mapping_target")]

    def __str__(self) -> str:
        return f"{self.source_control_id} {self.relationship} {self.target_control_id}"
