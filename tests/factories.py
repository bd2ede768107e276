"""factory_boy factories. Incidents are opened through the service, as users open them."""

import factory
from django.contrib.auth import get_user_model

from accounts.models import Agency
from accounts.services import agency_create
from compliance.models import ImpactLevel, InformationSystem


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov")
    password = factory.django.Password("correct horse battery")


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
