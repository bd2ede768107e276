"""``{{ instant|in_zone }}``: an instant as ``format_local`` writes it, in the zone the page is
rendered in (the admin renders in the active agency's), the zone always printed."""

from django import template
from django.utils import timezone

from core.time import format_local

register = template.Library()


@register.filter
def in_zone(instant):
    if not instant:
        return ""
    return format_local(instant, timezone.get_current_timezone())
