from rest_framework import viewsets

from accounts.api import ScopedQuerysetMixin
from compliance.models import InformationSystem

from .serializers import InformationSystemSerializer


class InformationSystemViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """The agency's information systems (ids are what incidents name in ``systems``)."""

    queryset = InformationSystem.objects.all()
    serializer_class = InformationSystemSerializer
    search_fields = ["acronym", "name"]
    ordering = ["acronym"]
