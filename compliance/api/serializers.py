from rest_framework import serializers

from compliance.models import InformationSystem


class InformationSystemSerializer(serializers.ModelSerializer):
    """A system of the agency's FISMA inventory, with its FIPS 199 levels."""

    high_water_mark = serializers.CharField(source="get_high_water_mark_display", read_only=True)
    confidentiality = serializers.CharField(source="get_confidentiality_display", read_only=True)
    integrity = serializers.CharField(source="get_integrity_display", read_only=True)
    availability = serializers.CharField(source="get_availability_display", read_only=True)

    class Meta:
        model = InformationSystem
        fields = [
            "id",
            "acronym",
            "name",
            "confidentiality",
            "integrity",
            "availability",
            "high_water_mark",
        ]
        read_only_fields = fields
