"""Shared by the compliance commands: the agency named by --agency."""

from django.core.management.base import CommandError

from accounts.models import Agency


def agency_named(abbreviation: str) -> Agency:
    agency = Agency.objects.filter(abbreviation=abbreviation.strip().upper()).first()
    if agency is None:
        raise CommandError(f"No agency {abbreviation!r}.")
    return agency
