"""Celery tasks of the incidents app. They only call services."""

from celery import shared_task

from accounts.models import Agency

from . import ingest, services


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


@shared_task(name="incidents.tasks.record_grant_expiries", ignore_result=True, expires=240)
def record_grant_expiries() -> int:
    """Write each auditor grant's expiry to the audit trail once (beat: every five minutes;
    access itself ends at ``valid_until`` whatever this task does, in ``accounts.scoping``)."""
    return services.grants_record_expiries()
