from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from reporting.criteria import CriteriaError
from reporting.loader import RuleSetDocumentError, load_document, read_document
from reporting.models import ObligationRule, RuleSet


class Command(AuditedCommand):
    help = "Load a reporting rule set from its JSON document (see reporting/rulesets/)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            doc = read_document(file)
        except (RuleSetDocumentError, CriteriaError) as exc:
            raise CommandError(str(exc)) from exc
        existed = RuleSet.objects.filter(name=doc["name"], version=doc["version"]).exists()
        ruleset = load_document(doc, RuleSet=RuleSet, ObligationRule=ObligationRule)
        verb = "already loaded" if existed else "loaded"
        self.stdout.write(f"{ruleset} {verb} ({ruleset.rules.count()} rules).")
