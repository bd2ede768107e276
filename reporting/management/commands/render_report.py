"""``manage.py render_report``: write the current version of a report to a file and print its
SHA-256 (docs/operations.md, "Reports").

    render_report FTA-2026-0001 supplemental-report --sequence 1 --out supplemental-1.pdf
    render_report FTA-2026-0001 cisa-notification --rule cisa-initial --out cisa.pdf
    render_report --agency FTA annual-fisma-summary --fiscal-year 2027 --out fy2027.pdf

The current version is the latest rendering of the report's current revision; when it has
none yet, one is rendered now (synchronously) and recorded like any other. ``--draft``
drafts the report first when none exists. Run as the operator (a compliance officer's reach,
recorded as no user) or ``--user``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.context import AgencyContextError
from accounts.models import Agency
from compliance.services import operator_context
from core.errors import DocketError
from core.storage import CHUNK_SIZE
from reporting import reports
from reporting.documents import KINDS
from reporting.models import ANNUAL_KIND, INCIDENT_KIND


class Command(BaseCommand):
    help = "Render the current version of a report to FILE and print its SHA-256."

    def add_arguments(self, parser):
        parser.add_argument(
            "target",
            nargs="+",
            metavar="INCIDENT|KIND",
            help=f"the incident's number and the kind ({', '.join(KINDS)}); for the annual "
            "summary only the kind, with --agency and --fiscal-year",
        )
        parser.add_argument("--out", metavar="FILE", required=True)
        parser.add_argument("--sequence", type=int, help="supplemental report number")
        parser.add_argument(
            "--rule",
            metavar="KEY",
            help="the obligation's rule, when a kind has several (cisa-initial, cisa-major-update)",
        )
        parser.add_argument("--agency", metavar="ABBR", help="annual summary: the agency")
        parser.add_argument("--fiscal-year", type=int, help="annual summary: e.g. 2027")
        parser.add_argument("--user", metavar="USERNAME", help="act as this user")
        parser.add_argument(
            "--draft", action="store_true", help="draft the report first if none exists"
        )

    def handle(self, *args, target, out, sequence, rule, agency, fiscal_year, user, draft, **o):
        if len(target) == 1 and target[0] == ANNUAL_KIND:
            incident, kind = None, ANNUAL_KIND
            if not agency or not fiscal_year:
                raise CommandError("The annual summary needs --agency ABBR and --fiscal-year.")
        elif len(target) == 2:
            incident, kind = target
            agency = incident.rsplit("-", 2)[0]
        else:
            raise CommandError("Give INCIDENT KIND (or annual-fisma-summary with --agency).")
        if kind not in KINDS:
            raise CommandError(f"Unknown kind {kind!r}; one of {', '.join(KINDS)}.")
        owner = Agency.objects.filter(abbreviation=agency.upper()).first()
        if owner is None:
            raise CommandError(f"No agency {agency!r}.")
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user {user!r}.")
        try:
            ctx = operator_context(owner, account)
            report, obligations = reports.current_report(
                ctx,
                kind=kind,
                incident=incident,
                sequence=sequence,
                rule=rule,
                fiscal_year=fiscal_year,
            )
            if report is None and draft:
                report = self._draft(ctx, kind, incident, obligations, fiscal_year)
            if report is None:
                raise CommandError(self._missing(kind, incident, obligations))
            others = [o.rule.key for o in obligations if o.pk != report.obligation_id]
            if others and not rule:
                self.stderr.write(
                    f"{report.title} (rule {report.obligation.rule.key}; --rule for "
                    f"{', '.join(sorted(set(others)))})"
                )
            version = reports.report_current_version(ctx, report)
            with reports.report_open_version(ctx, version) as src, open(out, "wb") as dst:
                while chunk := src.read(CHUNK_SIZE):
                    dst.write(chunk)
        except (DocketError, AgencyContextError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{version.pdf_sha256}  {out}")

    @staticmethod
    def _draft(ctx, kind, incident, obligations, fiscal_year):
        if kind == ANNUAL_KIND:
            return reports.report_draft(ctx, kind=kind, fiscal_year=fiscal_year)
        if kind == INCIDENT_KIND:
            return reports.report_draft(ctx, kind=kind, incident=incident)
        if not obligations:
            raise CommandError(f"{incident} has no obligation calling for a {KINDS[kind]}.")
        return reports.report_draft(ctx, obligation=obligations[0])

    @staticmethod
    def _missing(kind, incident, obligations) -> str:
        if kind == ANNUAL_KIND:
            return "No annual summary of that fiscal year yet (--draft drafts it)."
        if kind != INCIDENT_KIND and not obligations:
            return f"{incident} has no obligation calling for a {KINDS[kind]}."
        return f"No {KINDS[kind]} of {incident} drafted yet (--draft drafts it)."
