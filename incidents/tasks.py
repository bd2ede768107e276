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


@shared_task(name="incidents.tasks.extract_capture_commands", ignore_result=True)
def extract_capture_commands(evidence_id: int) -> str:
    """Decode the commands executed in a scap evidence item with sysdig and store them
    (``incidents.captures.capture_commands_extract``). Queued after a scap upload commits and
    on request; a failure is recorded on the item's extraction, not raised. Returns the
    status."""
    from .captures import capture_commands_extract

    return capture_commands_extract(evidence_id=evidence_id).status
