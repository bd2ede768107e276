"""Demo data of the system pages: inventory details and an assessment history.

``compliance_demo`` fills in the inventory of the demo agency's systems (component, ATO, owner,
detection selectors where none are set) and records, through ``assessment_record``, a year of
assessments against a short excerpt of NIST SP 800-53 Rev. 5 (public domain: identifiers and
titles as NIST publishes them). Idempotent: the framework is created once, and a system that
already has assessments gets no more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from accounts.context import AgencyContext

from .models import (
    AssessmentStatus,
    AuthorizationStatus,
    Control,
    ControlAssessment,
    Framework,
    InformationSystem,
)
from .services import NIST_LICENCE, assessment_record

FRAMEWORK = ("NIST SP 800-53 Rev. 5 (demo excerpt)", "5.1.1-demo")
CONTROLS = [
    ("ac-2", "AC-2", "Account Management", "Access Control"),
    ("ac-3", "AC-3", "Access Enforcement", "Access Control"),
    ("au-2", "AU-2", "Event Logging", "Audit and Accountability"),
    ("au-6", "AU-6", "Audit Record Review, Analysis, and Reporting", "Audit and Accountability"),
    ("cm-6", "CM-6", "Configuration Settings", "Configuration Management"),
    ("cm-7", "CM-7", "Least Functionality", "Configuration Management"),
    ("ia-2", "IA-2", "Identification and Authentication (Organizational Users)", "Identification"),
    ("ra-5", "RA-5", "Vulnerability Monitoring and Scanning", "Risk Assessment"),
    ("sc-7", "SC-7", "Boundary Protection", "System and Communications Protection"),
    ("si-3", "SI-3", "Malicious Code Protection", "System and Information Integrity"),
    ("si-4", "SI-4", "System Monitoring", "System and Information Integrity"),
]
S = AssessmentStatus
# (control, status, days ago, method, finding) — oldest first; SC-7 and SI-3 left unassessed.
HISTORY = [
    ("ac-2", S.SATISFIED, 330, "examine", ""),
    ("ac-3", S.SATISFIED, 330, "test", ""),
    ("au-2", S.SATISFIED, 330, "examine", ""),
    ("au-6", S.SATISFIED, 330, "interview", ""),
    ("cm-6", S.SATISFIED, 330, "test", ""),
    ("cm-7", S.SATISFIED, 330, "examine", ""),
    ("ia-2", S.NOT_APPLICABLE, 330, "examine", "Customers only; no organizational users."),
    ("ra-5", S.SATISFIED, 330, "test", ""),
    ("ac-2", S.OTHER_THAN_SATISFIED, 40, "examine", "Two departed staff still hold accounts."),
    ("ac-2", S.SATISFIED, 12, "examine", "Accounts removed; quarterly review in place."),
    (
        "cm-7",
        S.OTHER_THAN_SATISFIED,
        0,
        "test",
        "The store-frontend image ships curl, base64 and tar: tools the attacker used.",
    ),
    ("si-4", S.NOT_ASSESSED, 0, "", "Falco rules under review after the incident."),
]


def demo_framework() -> Framework:
    framework, _ = Framework.objects.get_or_create(
        name=FRAMEWORK[0],
        version=FRAMEWORK[1],
        defaults={"source": "Docket demo data", "licence_note": NIST_LICENCE},
    )
    if not framework.controls.exists():
        Control.objects.bulk_create(
            Control(
                framework=framework,
                identifier=identifier,
                label=label,
                title=title,
                family=family,
                sort_key=f"{identifier[:2]}-{int(identifier[3:]):02d}",
            )
            for identifier, label, title, family in CONTROLS
        )
    return framework


def compliance_demo(
    *, ctx: AgencyContext, systems: list[InformationSystem], now: datetime
) -> Framework:
    """Inventory details and assessments for ``systems`` (recorded by ``ctx``, a compliance
    officer); the first system gets the full history, the others a clean first assessment."""
    framework = demo_framework()
    controls = {c.identifier: c for c in framework.controls.all()}
    today = now.date()
    for i, system in enumerate(systems):
        system.component = system.component or "Office of the Chief Information Officer"
        system.system_owner = system.system_owner or "Dana Whitfield"
        system.authorizing_official = system.authorizing_official or "Alice Park"
        if system.ato_date is None:
            system.ato_status = AuthorizationStatus.AUTHORIZED
            system.ato_date = today - timedelta(days=3 * 365 - 60 + 30 * i)
            # The first one expires within 60 days; the second expired 10 days ago.
            system.ato_expires = today + (timedelta(days=60) if i == 0 else timedelta(days=-10))
        if i == 0 and not system.k8s_namespaces:
            system.k8s_namespaces = ["store"]
            system.image_repositories = ["registry.demo.example.gov/store/"]
        system.save()
        if ControlAssessment.objects.filter(system=system).exists():
            continue
        history = HISTORY if i == 0 else [h for h in HISTORY if h[2] == 330]
        for identifier, status, days, method, finding in history:
            assessment_record(
                ctx=ctx,
                system=system,
                control=controls[identifier],
                status=status,
                implementation_status="implemented" if status == S.SATISFIED else "",
                assessed_at=now - timedelta(days=days, hours=1),
                method=method,
                finding=finding,
                now=now,
            )
    return framework
