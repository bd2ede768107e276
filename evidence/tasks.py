"""Celery entry points for evidence."""

from celery import shared_task

from .captures import capture_commands_extract
from .services import evidence_verify_all


@shared_task
def verify_evidence() -> dict:
    """Re-hash every stored file (schedule it with django-celery-beat); mismatches are logged
    in the custody ledger and alert the agency administrators."""
    results = evidence_verify_all()
    return {"checked": len(results), "failed": sum(1 for r in results if not r.ok)}


@shared_task(name="evidence.tasks.extract_capture_commands", ignore_result=True)
def extract_capture_commands(evidence_id: int) -> str:
    """Decode the commands executed in a scap evidence item with sysdig and store them
    (``evidence.captures.capture_commands_extract``). Queued after a scap upload commits, on
    request, and by the job sweep; a failure is recorded on the item's extraction, not raised.
    Returns the status."""
    return capture_commands_extract(evidence_id=evidence_id).status
