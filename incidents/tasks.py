"""Celery tasks of the incidents app. They only call services."""

from celery import shared_task

from accounts.models import Agency

from . import ingest


@shared_task(name="incidents.tasks.group_detections", ignore_result=True)
def group_detections(agency_id: int | None = None) -> int:
    """Group the ungrouped alerts of one agency (or of every agency, when ``agency_id`` is
    ``None``: a periodic sweep catches what a lost message left behind) into incident
    candidates (``incidents.ingest.detections_group``). Queued after each ingestion commits;
    idempotent, so a redelivered or duplicated message does no harm. Returns how many alerts it
    placed."""
    if agency_id is not None:
        return ingest.detections_group(agency_id=agency_id)
    return sum(
        ingest.detections_group(agency_id=pk) for pk in Agency.objects.values_list("pk", flat=True)
    )
