"""Incident events are append-only, in the model and in the database."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from incidents.models import AppendOnlyError, IncidentEvent

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_events_cannot_be_changed_or_deleted_through_the_orm(open_incident):
    incident = open_incident(now=NOW)
    event = incident.events.first()
    event.note = "nothing happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        IncidentEvent.objects.filter(incident=incident).update(note="x")
    with pytest.raises(AppendOnlyError):
        IncidentEvent.objects.filter(incident=incident).delete()


def test_the_database_refuses_raw_updates_and_deletes(open_incident):
    incident = open_incident(now=NOW)
    for sql in (
        "UPDATE incidents_incidentevent SET note = 'x' WHERE incident_id = %s",
        "DELETE FROM incidents_incidentevent WHERE incident_id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [incident.pk])
    assert incident.events.filter(kind="opened").exists()


def test_each_act_is_an_event_with_actor_time_and_states(open_incident, alice):
    incident = open_incident(now=NOW)
    opened = incident.events.get(kind="opened")
    assert (opened.actor, opened.at, opened.to_state) == (alice, NOW, "detected")
    created = incident.events.get(kind="obligation_created")
    assert "CISA incident notification due 2026-05-04 09:00 EDT (America/New_York)" in created.note
