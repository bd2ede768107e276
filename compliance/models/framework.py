"""Frameworks, their controls and baselines: global reference data, shared by every agency.

A framework is a published catalog at one version (NIST SP 800-53 r5, CIS Controls v8, PCI DSS
4.0). Its controls keep the catalog's own identifiers; enhancements point to the control they
enhance. A baseline is a named selection of a framework's controls (an OSCAL profile: LOW,
MODERATE, HIGH). None of these belong to an agency, so they declare no ``agency_path``: what
an agency owns is its systems' assessments of these controls.
"""

from django.db import models


class Framework(models.Model):
    """A control catalog at one version, e.g. NIST SP 800-53 Revision 5.1.1, version 5.1.1+u4.

    ``licence_note`` says what of its text may be shown: NIST's catalogs are U.S. Government
    work in the public domain; CIS and PCI text is copyrighted, so Docket keeps identifiers and
    short titles of those unless an agency imports its licensed text.
    """

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
            models.UniqueConstraint(fields=["name", "version"], name="framework_name_version")
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
