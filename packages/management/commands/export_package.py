"""``manage.py export_package INCIDENT --out FILE.zip``: write the incident's evidence package
straight to a file (streamed), recorded like one built for download, so ``verify_package``
recognises it. Acts as ``--user`` (what that user sees), or without it as the operator (a
compliance officer's reach in the incident's agency)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.context import AgencyContextError, resolve
from compliance.services import operator_context
from core.errors import DocketError
from incidents.models import Incident
from packages.services import package_export


class Command(BaseCommand):
    help = "Write an incident's evidence package (a signed BagIt bag as one ZIP) to a file."

    def add_arguments(self, parser):
        parser.add_argument("incident", help="Incident number, e.g. FTA-2026-0001.")
        parser.add_argument("--out", required=True, help="The ZIP to write (must not exist).")
        parser.add_argument("--user", help="Act as this user (default: the operator).")
        parser.add_argument("--agency", help="Agency abbreviation, when the user has several.")

    def handle(self, *args, **options):
        number = options["incident"]
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
            try:
                ctx = resolve(user, abbreviation=options["agency"])
            except AgencyContextError as exc:
                raise CommandError(str(exc)) from exc
        else:
            incident = Incident.objects.select_related("agency").filter(number=number).first()
            if incident is None:
                raise CommandError(f"No incident {number}.")
            ctx = operator_context(incident.agency)
        try:
            package = package_export(ctx=ctx, incident=number, out=options["out"])
        except DocketError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"Cannot write {options['out']}: {exc}") from exc
        self.stdout.write(
            f"Wrote {options['out']}: {package.size} bytes, {len(package.contents)} files, "
            f"SHA-256 {package.sha256} (package {package.uid})"
        )
