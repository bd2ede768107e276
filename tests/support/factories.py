"""factory_boy factories and the persona builder.

They build through the services where one exists: agencies through ``agency_create`` (which
adopts the default rule set), roles through ``membership_grant``; incidents are opened with
``incident_open`` (the ``open_incident`` fixture), as users open them. Users and systems have
no creating service (systems come in through the inventory import), so their factories write
the model. The personas themselves are the fixtures of ``tests/conftest.py``.
"""

import factory
from django.contrib.auth import get_user_model

from accounts.models import Agency, Role
from accounts.services import agency_create, membership_grant
from compliance.models import ImpactLevel, InformationSystem

PASSWORD = "correct horse battery"  # every factory-made user's


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov")
    password = factory.django.Password(PASSWORD)


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    abbreviation = factory.Sequence(lambda n: f"AG{n}")
    time_zone = "America/New_York"
    marking = "CUI"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return agency_create(**kwargs)


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InformationSystem

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"System {n}")
    acronym = factory.Sequence(lambda n: f"SYS{n}")
    confidentiality = ImpactLevel.MODERATE
    integrity = ImpactLevel.MODERATE
    availability = ImpactLevel.LOW


def person(username, agency, *roles, systems=()):
    """A user ``username`` holding ``roles`` in ``agency``; ``systems`` are the ISSO's."""
    user = UserFactory(username=username)
    for role in roles:
        membership_grant(
            user=user, agency=agency, role=role, systems=systems if role == Role.ISSO else ()
        )
    return user
