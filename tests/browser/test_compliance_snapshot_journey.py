"""End to end: confirming an incident with the lifecycle button freezes its systems'
compliance (the on-commit hook), and the ISSO finds the snapshot from the incident page and
takes another with the "Take snapshot now" button."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.context import context_for
from compliance.models import ComplianceSnapshot
from compliance.risk.services import risk_assessment_record
from incidents.services import incident_transition

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_confirming_takes_a_snapshot_and_the_isso_takes_another(
    signed_in_page, agency_a, alice, web_system, open_incident
):
    now = timezone.now().replace(microsecond=0)
    incident = open_incident(
        now=now - timedelta(hours=1),
        identified_at=now - timedelta(hours=1),
        first_detected_at=now - timedelta(hours=1, minutes=5),
    )
    ctx = context_for(alice, agency_a)
    risk_assessment_record(
        ctx=ctx,
        system=web_system,
        conducted_at=now - timedelta(days=30),
        assessor="Acme Assessors LLC",
        method="qualitative",
        overall_risk="moderate",
        summary="Moderate residual risk.",
    )
    incident_transition(ctx=ctx, incident=incident, transition="start_triage")

    page = signed_in_page(alice)
    page.goto(f"/incidents/{incident.number}/")
    page.get_by_role("button", name="Confirm incident").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="is now confirmed").is_visible()
    (snap,) = ComplianceSnapshot.objects.filter(incident=incident)
    assert (snap.reason, snap.taken_by, snap.as_of) == (
        "confirmed",
        alice,
        incident.first_detected_at,
    )

    page.get_by_role("link", name=re.compile("Compliance at the time of the incident")).click()
    page.wait_for_load_state("load")
    main = page.get_by_role("main")
    assert main.get_by_text(snap.sha256).is_visible()
    assert "Acme Assessors LLC" in main.inner_text()
    page.get_by_role("button", name="Take snapshot now").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="Compliance snapshot taken").is_visible()
    assert ComplianceSnapshot.objects.filter(incident=incident, reason="on_demand").count() == 1
    history = page.get_by_role("heading", name="Snapshot history")
    assert history.is_visible()
