"""The demo agency's compliance history (called from ``load_demo``), so the main incident's
snapshot says something: controls other than satisfied when the pod was compromised, some
fixed since (the state "as of" the incident differs from today's), a risk assessment before
the incident, open POA&M items and a snapshot taken as the supplemental report is drafted.

When the systems already have a control history (another part of the demo recorded one), it
is left as it is: only the risk assessments, POA&M items and the snapshot are added on top.

The demo cannot read ``../shared`` at run time: when a NIST SP 800-53 catalog was imported
(``import_catalog``) its controls are used; otherwise a small reference set of real SP 800-53
Rev. 5 identifiers and titles (U.S. Government work, public domain) is created as a framework
marked as a demo subset. Every write goes through the services with ``now=`` in the past.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from compliance.models import AssessmentStatus, Baseline, Control, ControlAssessment, Framework
from compliance.risk.services import (
    poam_close,
    poam_create,
    poam_create_from_incident,
    risk_assessment_record,
    snapshot_take,
)
from compliance.services import assessment_record

DEMO_FRAMEWORK = "NIST SP 800-53 Rev. 5 (demo subset)"
DEMO_VERSION = "5.1.1-demo"
DEMO_BASELINE = "MODERATE-DEMO"
FAMILIES = {
    "ac": "Access Control",
    "au": "Audit and Accountability",
    "cm": "Configuration Management",
    "ia": "Identification and Authentication",
    "ir": "Incident Response",
    "ra": "Risk Assessment",
    "sc": "System and Communications Protection",
    "si": "System and Information Integrity",
}
CONTROLS = [
    ("AC-2", "Account Management"),
    ("AC-3", "Access Enforcement"),
    ("AC-6", "Least Privilege"),
    ("AU-2", "Event Logging"),
    ("AU-6", "Audit Record Review, Analysis, and Reporting"),
    ("AU-9", "Protection of Audit Information"),
    ("AU-12", "Audit Record Generation"),
    ("CM-2", "Baseline Configuration"),
    ("CM-7", "Least Functionality"),
    ("IA-2", "Identification and Authentication (Organizational Users)"),
    ("IR-4", "Incident Handling"),
    ("IR-6", "Incident Reporting"),
    ("RA-5", "Vulnerability Monitoring and Scanning"),
    ("SC-7", "Boundary Protection"),
    ("SI-3", "Malicious Code Protection"),
    ("SI-4", "System Monitoring"),
]
LICENCE = (
    "Identifiers and titles of NIST SP 800-53 Rev. 5 (U.S. Government work, public domain): a "
    "demo subset of 16 controls, not the catalog. Import the catalog with import_catalog."
)
S = AssessmentStatus


def _identifier(label: str) -> str:
    family, number = label.split("-")
    return f"{family.lower()}-{int(number)}"


def _framework() -> tuple[dict[str, Control], Baseline | None]:
    """The controls of CONTROLS by label, from an imported NIST catalog if there is one (and
    its MODERATE baseline), else from the demo subset (created once)."""
    wanted = [_identifier(label) for label, _ in CONTROLS]
    imported = (
        Framework.objects.filter(
            Q(name__startswith="NIST SP 800-53")
            | Q(name__startswith="NIST Special Publication 800-53")
        )
        .exclude(name=DEMO_FRAMEWORK)
        .order_by("-version")
    )
    for framework in imported:
        found = {c.identifier: c for c in framework.controls.filter(identifier__in=wanted)}
        if len(found) == len(wanted):
            baseline = framework.baselines.filter(name="MODERATE").first()
            return {label: found[_identifier(label)] for label, _ in CONTROLS}, baseline
    framework, _ = Framework.objects.get_or_create(
        name=DEMO_FRAMEWORK,
        version=DEMO_VERSION,
        defaults={"source": "Docket demo data (load_demo)", "licence_note": LICENCE},
    )
    controls = {}
    for label, title in CONTROLS:
        family, number = label.split("-")
        controls[label], _ = Control.objects.get_or_create(
            framework=framework,
            identifier=_identifier(label),
            defaults={
                "label": label,
                "title": title,
                "family": FAMILIES[family.lower()],
                "sort_key": f"{family.lower()}-{int(number):02d}",
            },
        )
    baseline, _ = Baseline.objects.get_or_create(
        framework=framework,
        name=DEMO_BASELINE,
        defaults={"title": "Demo subset of the NIST SP 800-53 Rev. 5 MODERATE baseline"},
    )
    baseline.controls.set(controls.values())
    return controls, baseline


def _history(store, case, compliance, now: datetime) -> dict[str, Control]:
    """A baseline and months of assessments: STORE weak on AU-9, CM-7 and RA-5 when the pod
    was compromised, AU-9 and CM-7 fixed an hour ago; CASE weak on IA-2."""
    controls, baseline = _framework()
    for system in (store, case):
        if system.baseline_id is None and baseline is not None:
            system.baseline = baseline
            system.save(update_fields=["baseline"])

    def assess(system, label, status, at, finding=""):
        assessment_record(
            ctx=compliance,
            system=system,
            control=controls[label],
            status=status,
            assessed_at=at,
            method="examine" if status == S.SATISFIED else "test",
            finding=finding,
            now=at,
        )

    # STORE: the annual assessment five months ago, a re-assessment two months ago, and
    # fixes made after the incident (an hour ago), so its state then differs from today's.
    annual = now - timedelta(days=150)
    weak = {
        "AC-6": "The PHP ping page runs with the web server's full privileges.",
        "AU-9": "Audit logs and shell history are writable by the web server user (www-data).",
        "CM-7": "The store-frontend image ships bash, curl and tar, which the app never uses.",
    }
    for label, _ in CONTROLS:
        if label == "SI-3":
            continue  # never assessed: counts as not assessed
        status = S.OTHER_THAN_SATISFIED if label in weak else S.SATISFIED
        assess(store, label, status, annual, weak.get(label, ""))
    reassessed = now - timedelta(days=60)
    assess(store, "AC-6", S.SATISFIED, reassessed)
    assess(
        store,
        "RA-5",
        S.OTHER_THAN_SATISFIED,
        reassessed,
        "The monthly scan found 4 high-severity CVEs in the store-frontend base image.",
    )
    # CASE: assessed four months ago; one weakness.
    for label, _ in CONTROLS:
        status = S.OTHER_THAN_SATISFIED if label == "IA-2" else S.SATISFIED
        finding = "Case workers sign in with passwords only." if label == "IA-2" else ""
        assess(case, label, status, now - timedelta(days=120), finding)
    fixed = now - timedelta(hours=1)
    assess(store, "AU-9", S.SATISFIED, fixed)
    assess(store, "CM-7", S.SATISFIED, fixed)
    return controls


def _assessed_controls(system) -> dict[str, Control]:
    """The controls of CONTROLS by label, in the frameworks ``system`` is already assessed in
    (another demo's history); those absent there are left out."""
    frameworks = ControlAssessment.objects.filter(system=system).values("control__framework")
    labels = [label for label, _ in CONTROLS]
    found: dict[str, Control] = {}
    for c in Control.objects.filter(framework__in=frameworks, label__in=labels).order_by("pk"):
        found.setdefault(c.label, c)
    return found


def compliance_demo_load(*, store, case, ctx: dict, incident, now: datetime) -> None:
    """Risk assessments, POA&M items (one from the main ``incident``) and a snapshot of it,
    on top of a control history: the one already recorded for STORE and CASE (another demo's,
    left as it is), else months of assessments against a baseline given here."""
    compliance = ctx["compliance"]
    if ControlAssessment.objects.filter(system__in=[store, case]).exists():
        controls = _assessed_controls(store)
    else:
        controls = _history(store, case, compliance, now)
    annual, reassessed = now - timedelta(days=150), now - timedelta(days=60)
    fixed = now - timedelta(hours=1)

    def control_ids(*labels):
        return [controls[label].pk for label in labels if label in controls]

    risk_assessment_record(
        ctx=compliance,
        system=store,
        conducted_at=now - timedelta(days=45),
        assessor="Independent assessor (Northbridge Assurance)",
        method="qualitative",
        overall_risk="moderate",
        summary=(
            "Internet-facing storefront with no customer records in the pods. Main threats: "
            "exploitation of the PHP front end and container escape. Residual risk moderate "
            "until the POA&M items on audit log protection and image hardening close."
        ),
        now=now - timedelta(days=44),
    )
    risk_assessment_record(
        ctx=compliance,
        system=case,
        conducted_at=now - timedelta(days=100),
        assessor="Agency risk office",
        method="semi_quantitative",
        overall_risk="high",
        summary="High-value case data; password-only sign-in for case workers.",
        now=now - timedelta(days=99),
    )

    au9 = poam_create(
        ctx=compliance,
        system=store,
        weakness="Audit logs writable by the web server user",
        description="Audit logs and shell history are writable by the web server user.",
        source="assessment",
        severity="moderate",
        scheduled_completion=(now - timedelta(days=20)).date(),
        controls=control_ids("AU-9"),
        milestones=[("Ship logs to the central collector", (now - timedelta(days=90)).date())],
        now=annual + timedelta(days=2),
    )
    poam_create(
        ctx=compliance,
        system=store,
        weakness="High-severity CVEs in the store-frontend base image",
        description="Found by the monthly vulnerability scan.",
        source="scan",
        severity="high",
        scheduled_completion=(now + timedelta(days=30)).date(),
        controls=control_ids("RA-5", "CM-2"),
        milestones=[
            ("Rebuild on the patched base image", (now + timedelta(days=7)).date()),
            ("Rescan and verify", (now + timedelta(days=14)).date()),
        ],
        now=reassessed + timedelta(days=1),
    )
    poam_close(
        ctx=compliance,
        item=au9,
        note="Logs now go to the collector; www-data can no longer write them.",
        now=fixed,
    )
    poam_create_from_incident(
        ctx=ctx["isso"],
        incident=incident,
        weakness="The web server user could run shells and destroy its history",
        severity="high",
        remediation=[
            ("Rotate the pod's service account token", (now + timedelta(days=1)).date()),
            ("Drop shells and download tools from the image", (now + timedelta(days=14)).date()),
            ("Make the web root and history files read-only", (now + timedelta(days=21)).date()),
        ],
        now=now - timedelta(minutes=50),
    )
    # Taken as the demo is loaded: a snapshot holds what Docket knew when it was taken, and a
    # history recorded by another part of the demo is recorded "now".
    snapshot_take(ctx=compliance, incident=incident, now=now)
