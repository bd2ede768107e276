"""``manage.py load_demo``: the demo scenario of PRODUCT.md, with times relative to now.

The Department of Demonstration (DEMO) runs two systems in Kubernetes. Its online store's
``store-frontend-ping-php`` pod was compromised about six hours ago; the approving official
determined it major about three hours ago, so the seven-day clocks to Congress and the
Inspector General are running. Six more incidents put an obligation in every status (overdue,
due soon, met late, waived, withdrawn, closed after being met). A second agency (ODA) with one
user shows that agencies do not see each other's incidents.

Everything is written through the services (``incident_open``, ``incident_transition``,
``determination_record``, ``submission_record``, ``obligation_waive``…), each given ``now=`` to
place the act in the past, exactly as a user would have done it then. Idempotent: when the
DEMO agency exists the command changes nothing and only prints the sign-ins.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.context import context_for
from accounts.models import Agency, Role
from accounts.services import agency_create, membership_grant
from audit.commands import AuditedCommand
from compliance.demo import compliance_demo
from compliance.models import ImpactLevel, InformationSystem
from compliance.risk.demo import compliance_demo_load
from core.run_address import run_url
from evidence.demo import evidence_demo
from incidents import demo_attack, sysdig_demo
from incidents.demo_detections import load_detections
from incidents.models import (
    AttackVector,
    Decision,
    FunctionalImpact,
    IndicatorType,
    InformationImpact,
    Location,
    PiiAct,
    Recoverability,
)
from incidents.services import (
    additional_information_record,
    auditor_grant,
    determination_record,
    incident_open,
    incident_transition,
)
from reporting.models import ANNUAL_KIND, CisaSeverity, Obligation, Submission
from reporting.reports import (
    cisa_response_record,
    report_approve,
    report_draft,
    report_edit,
    report_record_submission,
    report_render_now,
    report_submit_for_review,
)
from reporting.services import obligation_waive, submission_record

MINUTE = timedelta(minutes=1)
PASSWORD = "docket-demo-2026"  # noqa: S105 (published demo credential)
DEMO = "DEMO"
OTHER = "ODA"
MAIN_TITLE = "Compromised store-frontend-ping-php pod"

# What the demo's people wrote where the suggested narrative left a section empty.
REPORT_NARRATIVE = {
    "summary": "A web shell in the Online Store's ping page ran root-level tooling in the "
    "store-frontend-ping-php pod and destroyed the shell history.",
    "mitigations": "- The pod was isolated with a deny-all network policy and its image "
    "pinned for forensics.\n- The service account token readable by www-data is being "
    "rotated and its use audited.",
    "determination-statement": "The approving official determined this a major incident "
    "under OMB M-17-05: a compromise of the public Online Store is likely to harm public "
    "confidence, and the agency assessed NCISS level 3 (High).",
    "actions-taken": "- The compromised pod was contained and its capture preserved as "
    "evidence.\n- CISA was notified within the hour and updated after the determination.",
    "next-steps": "- Eradicate the rootkit and rebuild the image from a verified base.\n- "
    "Supplement this notice as the investigation finds more.",
    "changes": "The capture's review found one bash process that ran every command of the "
    "attack; the pod's service account token was readable by www-data.",
    "threats-narrative": "An unidentified actor exploited command injection in the ping page.",
    "risk-narrative": "",
    "compliance-narrative": "",
    "response-narrative": "Containment within three hours of identification; eradication is "
    "under way.",
    "agency-summary": "The agency's major incidents of the fiscal year, as recorded in Docket.",
    # The 30-day report of the case-records breach.
    "how-occurred": "A contractor account unused for 200 days signed in from an unfamiliar "
    "network and exported case summaries through the reporting module; the account's "
    "credentials are believed to have been reused from an unrelated breach.",
    "risk-of-harm": "The senior agency official for privacy assessed the risk of harm as "
    "moderate: the summaries name people and their case status, but hold no Social Security "
    "or financial account numbers.",
    "delay": "None: notice to individuals was not delayed at the request of law enforcement.",
    "notification": "- Letters to the 41,000 individuals within 30 days of discovery.\n- "
    "Twelve months of identity monitoring offered to each.",
}

# (username, role, agency, first name, last name, note) in the order they are printed.
PEOPLE = (
    ("isso", Role.ISSO, DEMO, "Isabel", "Soto", "assigned to STORE"),
    ("compliance", Role.COMPLIANCE_OFFICER, DEMO, "Carlos", "Ortega", ""),
    ("approver", Role.APPROVING_OFFICIAL, DEMO, "Alice", "Park", ""),
    ("auditor", Role.AUDITOR, DEMO, "Audrey", "Lin", f"may read {MAIN_TITLE!r}"),
    ("admin", Role.AGENCY_ADMIN, DEMO, "Adam", "Reyes", "staff: /admin/"),
    ("outsider", Role.COMPLIANCE_OFFICER, OTHER, "Olga", "Nash", "sees none of DEMO's incidents"),
)

MAIN_SUMMARY = f"""\
Falco flagged the store-frontend-ping-php pod (namespace store, deployment store-frontend) of \
the Online Store. Running as www-data through a shell the PHP ping page started, the attacker \
started bash, listed the web root (ls), fetched a rootkit tarball with \
curl -s {demo_attack.TARBALL_URL} and decoded it on the fly (base64 -d) into \
{demo_attack.TARBALL_PATH}, removed an earlier copy (rm -rf rk-master/), unpacked it with \
tar xvfz (which ran gzip -d to decompress it) and finally wiped the shell history with \
shred -f {demo_attack.HISTORY}. The eight commands ran within half a second.

Falco alerts: "Delete or rename shell history" and "Clear Log Activities" (shred on \
{demo_attack.HISTORY}), "Remove Bulk Data from Disk" (shred); before them "Terminal shell in \
container" (bash), "Launch Suspicious Network Tool in Container" (curl) and "Decoding Payload \
in Container" (base64). Sysdig Secure recorded every command and, on the shell-history event, \
took a 20-second syscall capture (5 s before, 15 s after), which is attached to the case.

No evidence yet that the attacker left the pod; the store's payment flow is hosted by the \
payment processor and the pod holds no customer records."""


class Command(AuditedCommand):
    help = "Load the demo agency, its people and incidents (relative to now). Idempotent."

    def handle(self, *args, **options):
        if Agency.objects.filter(abbreviation=DEMO).exists():
            self.stdout.write(f"Demo data already loaded (agency {DEMO} exists); nothing changed.")
        else:
            scenario = Scenario(timezone.now())
            with transaction.atomic():
                counts = scenario.load()
            for username in scenario.reused:
                self.stderr.write(
                    f"User {username!r} already existed: it was given its demo role, but its "
                    "password was left unchanged."
                )
            self.stdout.write(
                self.style.SUCCESS(
                    "Loaded the demo: "
                    + ", ".join(f"{n} {label}" for label, n in counts.items())
                    + "."
                )
            )
        self._print_sign_ins()

    def _print_sign_ins(self):
        out = self.stdout.write
        out("")
        out(f"Docket is at {run_url()} — sign in as one of:")
        out(f"  {'username':<11} {'password':<17} role")
        for username, role, agency, *_, note in PEOPLE:
            extra = f" — {note}" if note else ""
            out(f"  {username:<11} {PASSWORD:<17} {Role(role).label} ({agency}){extra}")
        out(f"Main incident: {MAIN_TITLE!r} (a major incident; its seven-day clocks are running).")
        out("")


class Scenario:
    """Builds the demo in the database, every act placed at an instant relative to ``now``."""

    def __init__(self, now: datetime):
        self.now = now.replace(second=0, microsecond=0)
        self.users = {}
        self.reused: list[str] = []  # usernames that existed before: password left alone

    def ago(self, **delta) -> datetime:
        return self.now - timedelta(**delta)

    # --- agencies, systems, people --------------------------------------------------------

    def load(self) -> dict[str, int]:
        founded = self.ago(days=30)
        self.demo = agency_create(
            name="Department of Demonstration",
            abbreviation=DEMO,
            time_zone="America/New_York",
            marking="CUI",
            now=founded,
        )
        other = Agency.objects.filter(abbreviation=OTHER).first() or agency_create(
            name="Other Demonstration Agency",
            abbreviation=OTHER,
            time_zone="America/Los_Angeles",
            marking="CUI",
            now=founded,
        )
        self.store = self._system(self.demo, "Online Store", "STORE", "moderate/moderate/low")
        self.case = self._system(self.demo, "Case Management", "CASE", "high/high/moderate")
        grants = self._system(other, "Grants Portal", "GRANTS", "moderate/moderate/moderate")
        agencies = {DEMO: self.demo, OTHER: other}
        for username, role, abbr, first, last, _ in PEOPLE:
            user = self._user(username, first, last, staff=role == Role.AGENCY_ADMIN)
            systems = [self.store] if role == Role.ISSO else ()
            membership_grant(user=user, agency=agencies[abbr], role=role, systems=systems)
            self.users[username] = user
        self.ctx = {
            name: context_for(self.users[name], self.demo)
            for name in ("isso", "compliance", "approver")
        }

        # In the order they were opened, so the numbers follow the calendar.
        self.closed_after_met()
        breach = self.due_soon()
        self.dismissed()
        self.met_late()
        self.waived()
        main = self.main()
        # Falco's alerts first: they give STORE the selectors that attribute Sysdig's events.
        load_detections(
            agency=self.demo, system=self.store, incident=main, ctx=self.ctx["isso"], now=self.now
        )
        sysdig_demo.load_into(self, main)
        self.overdue()
        evidence_demo(**self.ctx, incident=main, now=self.now)
        self.other_agency(other, grants)
        self._grant_auditor(main)
        compliance_demo(ctx=self.ctx["compliance"], systems=[self.store, self.case], now=self.now)
        compliance_demo_load(
            store=self.store, case=self.case, ctx=self.ctx, incident=main, now=self.now
        )
        self.reports(main, breach=breach)
        return {
            "agencies": 2,
            "systems": 3,
            "users": len(PEOPLE),
            "incidents": main.agency.incidents.count() + other.incidents.count(),
            "obligations": Obligation.objects.filter(
                incident__agency__in=[self.demo, other]
            ).count(),
        }

    def _system(self, agency, name, acronym, cia: str) -> InformationSystem:
        c, i, a = (ImpactLevel[level.upper()] for level in cia.split("/"))
        system, _ = InformationSystem.objects.get_or_create(
            agency=agency,
            acronym=acronym,
            defaults={"name": name, "confidentiality": c, "integrity": i, "availability": a},
        )
        return system

    def _user(self, username, first, last, *, staff: bool):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@demo.example.gov",
                "is_staff": staff,
                "date_joined": self.ago(days=30),
            },
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        else:
            self.reused.append(username)
        return user

    def _grant_auditor(self, incident):
        auditor_grant(
            ctx=self.ctx["approver"],
            incident=incident,
            user=self.users["auditor"],
            note=f"{self.users['auditor'].get_username()} may read this incident (OIG review).",
            now=self.ago(hours=2, minutes=50),
        )

    # --- helpers over the services ---------------------------------------------------------

    def _open(self, by: str, *, at: datetime, **fields):
        fields.setdefault("poc_name", "Isabel Soto, ISSO")
        fields.setdefault("poc_email", "isso@demo.example.gov")
        fields.setdefault("poc_phone", "+1 202 555 0142")
        return incident_open(ctx=self.ctx[by], now=at, **fields)

    def _move(self, incident, by: str, *steps: tuple[str, datetime], note: str = ""):
        for transition, at in steps:
            incident = incident_transition(
                ctx=self.ctx[by],
                incident=incident,
                transition=transition,
                now=at,
                note=note if transition == "dismiss" else "",
            )
        return incident

    @staticmethod
    def _obligation(incident, key: str, sequence: int = 1) -> Obligation:
        return Obligation.objects.get(incident=incident, rule__key=key, sequence=sequence)

    def _submit(self, incident, key: str, by: str, *, at: datetime, reference="", note=""):
        """``by`` reports to CISA through its portal at ``at``."""
        return submission_record(
            ctx=self.ctx[by],
            obligation=self._obligation(incident, key),
            submitted_at=at,
            channel=Submission.Channel.CISA_PORTAL,
            reference=reference,
            note=note,
            now=at,
        )

    def _written(self, by: str, report, *, at: datetime):
        """``by`` writes what the suggestions left empty (``REPORT_NARRATIVE``)."""
        empty = {k: REPORT_NARRATIVE[k] for k, v in report.narrative.items() if not v.strip()}
        if not empty:
            return report
        return report_edit(self.ctx[by], report, narrative=empty, now=at)

    def _report_submitted(self, incident, key: str, by: str, *, at: datetime, reference, note):
        """``by`` drafts the obligation's report, the approving official approves it and ``by``
        sends it to CISA at ``at``: the submission names the version rendered then."""
        ctx = self.ctx[by]
        report = report_draft(ctx, obligation=self._obligation(incident, key), now=at - MINUTE * 9)
        report = self._written(by, report, at=at - MINUTE * 8)
        report = report_submit_for_review(ctx, report, now=at - MINUTE * 6)
        report = report_approve(self.ctx["approver"], report, now=at - MINUTE * 3)
        return report_record_submission(
            ctx,
            report,
            submitted_at=at,
            channel=Submission.Channel.CISA_PORTAL,
            reference=reference,
            note=note,
            now=at,
        )

    def reports(self, incident, *, breach) -> None:
        """The seven-day notices in review, supplemental report 1 drafted (and rendered as a
        draft) from everything loaded, the 30-day report of the case-records breach drafted,
        and the agency's annual summary of this fiscal year."""
        isso = self.ctx["isso"]
        breach_report = report_draft(
            self.ctx["compliance"],
            obligation=self._obligation(breach, "major-breach-30-day"),
            now=self.ago(minutes=55),
        )
        self._written("compliance", breach_report, at=self.ago(minutes=54))
        for key in ("congress-7-day", "ig-7-day"):
            report = report_draft(
                isso, obligation=self._obligation(incident, key), now=self.ago(minutes=50)
            )
            report = self._written("isso", report, at=self.ago(minutes=45))
            report_submit_for_review(isso, report, now=self.ago(minutes=40))
        supplemental = report_draft(
            isso, obligation=self._obligation(incident, "supplemental"), now=self.ago(minutes=20)
        )
        report_render_now(isso, supplemental, now=self.ago(minutes=19))
        local = self.now.astimezone(self.demo.tz)
        report_draft(
            self.ctx["compliance"],
            kind=ANNUAL_KIND,
            fiscal_year=local.year + 1 if local.month >= 10 else local.year,
            now=self.ago(minutes=10),
        )

    def _local(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        """``hour:minute`` on the DEMO agency's wall clock, ``days_ago`` local dates back."""
        tz = self.demo.tz
        day = self.now.astimezone(tz).date() - timedelta(days=days_ago)
        return datetime.combine(day, time(hour, minute), tzinfo=tz)

    # --- the incidents ---------------------------------------------------------------------

    def main(self):
        """The compromised pod: met CISA clocks, major, seven-day and supplemental clocks live."""
        identified = self.ago(hours=6)
        incident = self._open(
            "isso",
            at=self.ago(hours=5, minutes=52),
            title=MAIN_TITLE,
            summary=MAIN_SUMMARY,
            identified_at=identified,
            # Falco's first alert: the attacker's bash (incidents/demo_attack.py).
            first_detected_at=demo_attack.at(self.now),
            occurred_at=self.ago(hours=6, minutes=11),
            systems=[self.store.pk],
            functional_impact=FunctionalImpact.MINIMAL_CRITICAL,
            information_impact=[
                InformationImpact.SUSPECTED,
                InformationImpact.CORE_CREDENTIAL,
            ],
            recoverability=Recoverability.SUPPLEMENTED,
            location=Location.BUSINESS_DMZ,
            attack_vectors=[AttackVector.WEB],
            systems_affected_count=1,
            records_affected_count=0,
            users_affected_count=0,
            indicators=[
                {
                    "type": IndicatorType.URL,
                    "value": demo_attack.TARBALL_URL,
                    "note": "Rootkit tarball fetched with curl (base64-encoded).",
                },
                {
                    "type": IndicatorType.PROCESS,
                    "value": demo_attack.STEP["shred"].cmdline,
                    "note": 'Falco: "Delete or rename shell history".',
                },
                {
                    "type": IndicatorType.CONTAINER_IMAGE,
                    "value": f"{demo_attack.IMAGE_REPO}:{demo_attack.IMAGE_TAG}",
                    "note": "Image of the compromised pod.",
                },
                {
                    "type": IndicatorType.USER_ACCOUNT,
                    "value": "www-data",
                    "note": "Every command ran as the web server's user.",
                },
                {"type": IndicatorType.IPV4, "value": "198.51.100.23", "note": "Tarball host."},
                {
                    "type": IndicatorType.FILE_PATH,
                    "value": demo_attack.TARBALL_PATH,
                    "note": "The decoded tarball, unpacked with tar xvfz.",
                },
            ],
        )
        incident = self._move(
            incident,
            "isso",
            ("start_triage", self.ago(hours=5, minutes=48)),
            ("confirm", self.ago(hours=5, minutes=35)),
        )
        initial = self._report_submitted(
            incident,
            "cisa-initial",
            "isso",
            at=self.ago(hours=5, minutes=21),
            reference=f"CISA-{self.now.year}-0417",
            note="Initial notification: functional impact minimal to critical services.",
        )
        cisa_response_record(
            self.ctx["isso"],
            initial,
            tracking_number=f"CISA-{self.now.year}-0417",
            severity=CisaSeverity.MEDIUM,
            now=self.ago(hours=5, minutes=2),
        )
        determination_record(
            ctx=self.ctx["approver"],
            incident=incident,
            decision=Decision.MAJOR,
            rationale=(
                "Root-level tooling was staged inside an internet-facing production pod of the "
                "Online Store and the shell history was destroyed to hide it. Assessed NCISS "
                "level 3 (High); a compromise of the public store is likely to harm public "
                "confidence."
            ),
            harms={
                "public_confidence": {
                    "likely": True,
                    "note": "Public storefront; customers may have been served tampered pages.",
                }
            },
            nciss_level=3,
            basis_at=self.ago(hours=3),
            now=self.ago(hours=3),
        )
        update = self._report_submitted(
            incident,
            "cisa-major-update",
            "compliance",
            at=self.ago(hours=2, minutes=24),
            reference=f"CISA-{self.now.year}-0417",
            note="Update: determined a major incident (M-17-05).",
        )
        cisa_response_record(
            self.ctx["compliance"],
            update,
            tracking_number=f"CISA-{self.now.year}-0417",
            severity=CisaSeverity.HIGH,
            now=self.ago(hours=2, minutes=5),
        )
        incident = self._move(incident, "isso", ("contain", self.ago(hours=2)))
        additional_information_record(
            ctx=self.ctx["isso"],
            incident=incident,
            summary=(
                f"Review of the 20-second capture: one bash (pid {demo_attack.BASH_PID}), "
                "started by the ping page's shell, ran every command of the attack within 0.4 "
                f"seconds; tar ran gzip -d itself (pid {demo_attack.STEP['gzip'].pid}). The "
                "pod's service account token was readable by www-data; it is being rotated and "
                "its use audited."
            ),
            recorded_at=self.ago(hours=1),
            now=self.ago(hours=1),
        )
        return incident

    def overdue(self):
        """Identified three hours ago; nobody has notified CISA: overdue by two hours."""
        incident = self._open(
            "compliance",
            at=self.ago(hours=2, minutes=55),
            title="Credential-phishing emails to case workers",
            summary=(
                "Twelve case workers received a look-alike sign-in page for Case Management; "
                "two entered their passwords before the link was blocked."
            ),
            identified_at=self.ago(hours=3),
            first_detected_at=self.ago(hours=3, minutes=10),
            systems=[self.case.pk],
            functional_impact=FunctionalImpact.NO_IMPACT_TO_SERVICES,
            information_impact=[InformationImpact.SUSPECTED],
            attack_vectors=[AttackVector.EMAIL_PHISHING],
            users_affected_count=2,
            poc_name="Carlos Ortega, Compliance",
            poc_email="compliance@demo.example.gov",
            indicators=[
                {"type": IndicatorType.DOMAIN, "value": "casemgmt-demo-gov.example.net"},
                {"type": IndicatorType.EMAIL, "value": "helpdesk@casemgmt-demo-gov.example.net"},
            ],
        )
        return self._move(incident, "compliance", ("start_triage", self.ago(hours=2, minutes=40)))

    def due_soon(self):
        """Determined major seven local days ago: the Congress and IG notices are due tonight."""
        incident = self._open(
            "compliance",
            at=self._local(7, 9, 20),
            title="Case records exported by a dormant contractor account",
            summary=(
                "A contractor account unused for 200 days signed in from an unfamiliar network "
                "and exported 41,000 case summaries through the reporting module."
            ),
            identified_at=self._local(7, 9, 5),
            first_detected_at=self._local(7, 8, 50),
            occurred_at=self._local(8, 23, 40),
            systems=[self.case.pk],
            functional_impact=FunctionalImpact.NO_IMPACT_TO_SERVICES,
            information_impact=[InformationImpact.PRIVACY_BREACH],
            recoverability=Recoverability.REGULAR,
            location=Location.BUSINESS_NETWORK,
            attack_vectors=[AttackVector.IMPROPER_USAGE],
            systems_affected_count=1,
            records_affected_count=41000,
            users_affected_count=1,
            poc_name="Carlos Ortega, Compliance",
            poc_email="compliance@demo.example.gov",
            indicators=[{"type": IndicatorType.USER_ACCOUNT, "value": "ctr-jmiller"}],
        )
        incident = self._move(
            incident,
            "compliance",
            ("start_triage", self._local(7, 9, 25)),
            ("confirm", self._local(7, 9, 40)),
        )
        self._submit(
            incident,
            "cisa-initial",
            "compliance",
            at=self._local(7, 9, 55),
            reference=f"CISA-{self.now.year}-0388",
        )
        determination_record(
            ctx=self.ctx["approver"],
            incident=incident,
            decision=Decision.MAJOR,
            rationale=(
                "Exfiltration of case records naming 41,000 people; assessed NCISS level 3 "
                "(High); a breach of personally identifiable information."
            ),
            harms={"civil_liberties": {"likely": True, "note": "Case summaries name people."}},
            nciss_level=3,
            pii_individuals=41000,
            pii_acts=[PiiAct.EXFILTRATION],
            breach=True,
            breach_discovered_at=self._local(7, 9, 40),
            basis_at=self._local(7, 10, 30),
            now=self._local(7, 10, 30),
        )
        self._submit(
            incident,
            "cisa-major-update",
            "compliance",
            at=self._local(7, 11, 10),
            reference=f"CISA-{self.now.year}-0388",
        )
        return self._move(incident, "compliance", ("contain", self._local(6, 15)))

    def met_late(self):
        """CISA was notified two hours and forty minutes after identification: met late."""
        identified = self.ago(days=2)
        incident = self._open(
            "isso",
            at=identified + timedelta(minutes=10),
            title="Web shell uploaded through the store's admin plugin",
            summary=(
                "An outdated gallery plugin accepted a PHP upload; a web shell was reached "
                "twice from a hosting-provider address before the WAF rule blocked it."
            ),
            identified_at=identified,
            first_detected_at=identified - timedelta(minutes=15),
            systems=[self.store.pk],
            functional_impact=FunctionalImpact.MINIMAL_NON_CRITICAL,
            information_impact=[InformationImpact.NO_IMPACT],
            recoverability=Recoverability.REGULAR,
            location=Location.BUSINESS_DMZ,
            attack_vectors=[AttackVector.WEB],
            systems_affected_count=1,
            indicators=[
                {"type": IndicatorType.FILE_PATH, "value": "/var/www/uploads/gallery/thumb.php"},
                {"type": IndicatorType.IPV4, "value": "203.0.113.77"},
            ],
        )
        incident = self._move(
            incident,
            "isso",
            ("start_triage", identified + timedelta(minutes=20)),
            ("confirm", identified + timedelta(minutes=50)),
        )
        self._submit(
            incident,
            "cisa-initial",
            "isso",
            at=identified + timedelta(hours=2, minutes=40),
            reference=f"CISA-{self.now.year}-0409",
            note="Late: the on-call ISSO could not reach the portal (expired PIV certificate).",
        )
        return self._move(
            incident,
            "isso",
            ("contain", identified + timedelta(hours=3)),
            ("eradicate", identified + timedelta(days=1)),
        )

    def waived(self):
        """The Department SOC already notified CISA: the approver waives the duplicate."""
        identified = self.ago(days=1)
        incident = self._open(
            "compliance",
            at=identified + timedelta(minutes=15),
            title="Department-wide password-spray against the case-management sign-in",
            summary=(
                "The Department SOC saw a password spray against every component's sign-in "
                "page; Case Management locked 31 accounts, none compromised."
            ),
            identified_at=identified,
            systems=[self.case.pk],
            functional_impact=FunctionalImpact.MINIMAL_NON_CRITICAL,
            information_impact=[InformationImpact.NO_IMPACT],
            attack_vectors=[AttackVector.ATTRITION],
            users_affected_count=31,
            poc_name="Carlos Ortega, Compliance",
            poc_email="compliance@demo.example.gov",
        )
        incident = self._move(
            incident, "compliance", ("start_triage", identified + timedelta(minutes=20))
        )
        obligation_waive(
            ctx=self.ctx["approver"],
            obligation=self._obligation(incident, "cisa-initial"),
            reason=(
                "Reported to CISA by the Department SOC on its consolidated ticket; a separate "
                "component notification would duplicate it."
            ),
            now=identified + timedelta(minutes=35),
        )
        return self._move(incident, "compliance", ("confirm", identified + timedelta(hours=1)))

    def dismissed(self):
        """A false positive: dismissed before the hour ran out, so the CISA duty is withdrawn."""
        identified = self.ago(days=2, hours=4)
        incident = self._open(
            "isso",
            at=identified + timedelta(minutes=5),
            title="Falco: terminal shell in store-frontend during a release",
            summary='Falco "Terminal shell in container" on store-frontend during the release.',
            identified_at=identified,
            systems=[self.store.pk],
            location=Location.BUSINESS_DMZ,
        )
        return self._move(
            incident,
            "isso",
            ("start_triage", identified + timedelta(minutes=8)),
            ("dismiss", identified + timedelta(minutes=25)),
            note=(
                "False positive: the shell was the release pipeline's kubectl exec smoke test "
                "(change CHG-1042)."
            ),
        )

    def closed_after_met(self):
        """Ten days ago, handled end to end: notified on time, recovered, closed."""
        identified = self.ago(days=10)
        incident = self._open(
            "isso",
            at=identified + timedelta(minutes=12),
            title="Credential stuffing against store customer sign-in",
            summary=(
                "Bursts of sign-ins from residential proxies tested leaked passwords; 212 "
                "customer accounts were reset as a precaution."
            ),
            identified_at=identified,
            systems=[self.store.pk],
            functional_impact=FunctionalImpact.MINIMAL_NON_CRITICAL,
            information_impact=[InformationImpact.SUSPECTED],
            recoverability=Recoverability.REGULAR,
            location=Location.BUSINESS_DMZ,
            attack_vectors=[AttackVector.IMPERSONATION],
            users_affected_count=212,
        )
        incident = self._move(
            incident,
            "isso",
            ("start_triage", identified + timedelta(minutes=15)),
            ("confirm", identified + timedelta(minutes=30)),
        )
        self._submit(
            incident,
            "cisa-initial",
            "isso",
            at=identified + timedelta(minutes=45),
            reference=f"CISA-{self.now.year}-0351",
        )
        return self._move(
            incident,
            "isso",
            ("contain", identified + timedelta(hours=3)),
            ("eradicate", identified + timedelta(days=1)),
            ("recover", identified + timedelta(days=2)),
            ("close", identified + timedelta(days=4)),
        )

    def other_agency(self, agency, system):
        """ODA's own incident, which nobody at DEMO can see."""
        user = self.users["outsider"]
        ctx = context_for(user, agency)
        identified = self.ago(hours=5)
        incident = incident_open(
            ctx=ctx,
            now=identified + timedelta(minutes=10),
            title="Brute-force sign-in attempts on the grants portal",
            identified_at=identified,
            systems=[system.pk],
            attack_vectors=[AttackVector.ATTRITION],
            poc_name="Olga Nash",
            poc_email="outsider@demo.example.gov",
        )
        incident = incident_transition(
            ctx=ctx,
            incident=incident,
            transition="start_triage",
            now=identified + timedelta(minutes=15),
        )
        submission_record(
            ctx=ctx,
            obligation=self._obligation(incident, "cisa-initial"),
            channel=Submission.Channel.CISA_PORTAL,
            submitted_at=identified + timedelta(minutes=40),
            now=identified + timedelta(minutes=40),
        )
        return incident
