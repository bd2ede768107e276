"""A system's compliance state "as of" a past instant, and recording the assessments it rests on.

Timeline used below (UTC, 2025): AC-1 satisfied on 1 March, found other than satisfied on
1 June; AC-2 judged not applicable on 1 April; AC-3 never assessed.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from compliance.models import (
    AppendOnlyError,
    AssessmentStatus,
    Baseline,
    ControlAssessment,
)
from compliance.selectors import latest_assessments, system_state_as_of
from compliance.services import assessment_record
from core.errors import InvalidInput, NotFound, NotPermitted

from .support.compliance import make_framework

S = AssessmentStatus
MARCH = datetime(2025, 3, 1, 12, tzinfo=UTC)
APRIL = datetime(2025, 4, 1, 12, tzinfo=UTC)
JUNE = datetime(2025, 6, 1, 12, tzinfo=UTC)
NOW = datetime(2025, 9, 1, 12, tzinfo=UTC)


@pytest.fixture
def framework(db):
    return make_framework(3)


@pytest.fixture
def history(framework, web_system, carol, agency_a, ctx):
    """The timeline of the module docstring, recorded by carol the compliance officer."""
    fw, (ac1, ac2, _ac3) = framework
    record = ctx(carol, agency_a)
    for control, status, at in [
        (ac1, S.SATISFIED, MARCH),
        (ac2, S.NOT_APPLICABLE, APRIL),
        (ac1, S.OTHER_THAN_SATISFIED, JUNE),
    ]:
        assessment_record(
            ctx=record, system=web_system, control=control, status=status, assessed_at=at, now=NOW
        )
    return fw


def statuses(state) -> dict[str, str]:
    return {c.control.identifier: c.status for c in state.controls}


# --- the state as of an instant -----------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (MARCH - timedelta(microseconds=1), ["not_assessed", "not_assessed", "not_assessed"]),
        (MARCH, ["satisfied", "not_assessed", "not_assessed"]),
        (APRIL + timedelta(days=1), ["satisfied", "not_applicable", "not_assessed"]),
        (JUNE - timedelta(seconds=1), ["satisfied", "not_applicable", "not_assessed"]),
        (JUNE, ["other_than_satisfied", "not_applicable", "not_assessed"]),
        (NOW, ["other_than_satisfied", "not_applicable", "not_assessed"]),
    ],
    ids=["before-any", "at-first", "after-april", "just-before-june", "at-june", "now"],
)
def test_state_as_of_past_instants_follows_supersession(
    history, web_system, carol, agency_a, ctx, at, expected
):
    state = system_state_as_of(
        ctx=ctx(carol, agency_a), system=web_system, framework=history, at=at
    )

    assert list(statuses(state).values()) == expected
    assert list(statuses(state)) == ["ac-1", "ac-2", "ac-3"]
    assert state.at == at and state.system == web_system and state.framework == history


def test_later_assessments_do_not_leak_into_the_past(history, web_system, carol, agency_a, ctx):
    state = system_state_as_of(
        ctx=ctx(carol, agency_a), system=web_system, framework=history, at=APRIL
    )

    ac1 = next(c for c in state.controls if c.control.identifier == "ac-1")
    assert ac1.assessment.assessed_at == MARCH
    assert ac1.assessment.status == S.SATISFIED


def test_counts_and_percentages_include_never_assessed_controls(
    history, web_system, carol, agency_a, ctx
):
    state = system_state_as_of(
        ctx=ctx(carol, agency_a), system=web_system, framework=history, at=NOW
    )

    assert state.total == 3
    assert state.counts == {
        "satisfied": 0,
        "other_than_satisfied": 1,
        "not_applicable": 1,
        "not_assessed": 1,
    }
    assert state.percentages == {
        "satisfied": 0.0,
        "other_than_satisfied": 33.3,
        "not_applicable": 33.3,
        "not_assessed": 33.3,
    }
    assert [c.control.identifier for c in state.with_status(S.NOT_ASSESSED)] == ["ac-3"]


def test_same_assessed_at_the_later_record_wins(framework, web_system, carol, agency_a, ctx):
    fw, (ac1, *_) = framework
    c = ctx(carol, agency_a)
    for status in (S.SATISFIED, S.OTHER_THAN_SATISFIED):
        assessment_record(
            ctx=c, system=web_system, control=ac1, status=status, assessed_at=MARCH, now=NOW
        )

    state = system_state_as_of(ctx=c, system=web_system, framework=fw, at=NOW)
    assert statuses(state)["ac-1"] == S.OTHER_THAN_SATISFIED


def test_known_at_leaves_out_what_was_recorded_later(framework, web_system, carol, agency_a, ctx):
    fw, (ac1, *_) = framework
    c = ctx(carol, agency_a)
    assessment_record(
        ctx=c, system=web_system, control=ac1, status=S.SATISFIED, assessed_at=MARCH, now=APRIL
    )
    # Entered in September, effective from March: a correction after the fact.
    assessment_record(
        ctx=c,
        system=web_system,
        control=ac1,
        status=S.OTHER_THAN_SATISFIED,
        assessed_at=MARCH + timedelta(days=1),
        now=NOW,
    )

    as_known_in_june = system_state_as_of(
        ctx=c, system=web_system, framework=fw, at=JUNE, known_at=JUNE
    )
    as_known_now = system_state_as_of(ctx=c, system=web_system, framework=fw, at=JUNE)
    assert statuses(as_known_in_june)["ac-1"] == S.SATISFIED
    assert statuses(as_known_now)["ac-1"] == S.OTHER_THAN_SATISFIED


def test_other_systems_and_frameworks_do_not_count(
    framework, web_system, hr_system, carol, agency_a, ctx
):
    fw, (ac1, *_) = framework
    _, (other_ac1,) = make_framework(1, name="Other framework")
    c = ctx(carol, agency_a)
    assessment_record(
        ctx=c, system=hr_system, control=ac1, status=S.SATISFIED, assessed_at=MARCH, now=NOW
    )
    assessment_record(
        ctx=c, system=web_system, control=other_ac1, status=S.SATISFIED, assessed_at=MARCH, now=NOW
    )

    state = system_state_as_of(ctx=c, system=web_system, framework=fw, at=NOW)
    assert state.counts["satisfied"] == 0 and state.total == 3


def test_baseline_decides_which_controls_count(framework, web_system, carol, agency_a, ctx):
    fw, (ac1, ac2, ac3) = framework
    low = Baseline.objects.create(framework=fw, name="LOW")
    low.controls.set([ac1, ac2])
    web_system.baseline = low
    web_system.save()
    c = ctx(carol, agency_a)
    # Assessed although outside the baseline: it is part of the record, so it is shown.
    assessment_record(
        ctx=c, system=web_system, control=ac3, status=S.SATISFIED, assessed_at=MARCH, now=NOW
    )

    before = system_state_as_of(ctx=c, system=web_system, framework=fw, at=MARCH - timedelta(1))
    after = system_state_as_of(ctx=c, system=web_system, framework=fw, at=NOW)

    assert list(statuses(before)) == ["ac-1", "ac-2"]
    assert statuses(after) == {
        "ac-1": "not_assessed",
        "ac-2": "not_assessed",
        "ac-3": "satisfied",
    }


def test_window_fallback_gives_the_same_answer(
    history, web_system, carol, agency_a, ctx, monkeypatch
):
    """SQLite (the embedded default) has no DISTINCT ON; the window-function path must agree."""
    c = ctx(carol, agency_a)
    for at in (MARCH, APRIL, JUNE, NOW):
        expected = statuses(system_state_as_of(ctx=c, system=web_system, framework=history, at=at))
        monkeypatch.setattr(connection.features, "can_distinct_on_fields", False)
        fallback = system_state_as_of(ctx=c, system=web_system, framework=history, at=at)
        monkeypatch.undo()
        assert statuses(fallback) == expected


def test_naive_instant_is_refused(history, web_system, carol, agency_a, ctx):
    with pytest.raises(InvalidInput):
        system_state_as_of(
            ctx=ctx(carol, agency_a), system=web_system, framework=history, at=datetime(2025, 6, 1)
        )


# --- scope ------------------------------------------------------------------------------------


def test_other_agency_sees_nothing_of_our_systems(history, web_system, bob, agency_b, ctx):
    outsider = ctx(bob, agency_b)

    with pytest.raises(NotFound):
        system_state_as_of(ctx=outsider, system=web_system, framework=history, at=NOW)
    with pytest.raises(NotFound):
        system_state_as_of(ctx=outsider, system=web_system.pk, framework=history, at=NOW)
    assert not latest_assessments(ctx=outsider, system=web_system, framework=history, at=NOW)


def test_other_agency_state_of_its_own_system_ignores_ours(history, b_system, bob, agency_b, ctx):
    fw = history
    state = system_state_as_of(ctx=ctx(bob, agency_b), system=b_system, framework=fw, at=NOW)

    assert state.counts["not_assessed"] == 3 and state.total == 3


def test_auditor_may_read_the_state(history, web_system, audrey, agency_a, ctx, audit_grant):
    audit_grant(audrey, web_system)
    state = system_state_as_of(
        ctx=ctx(audrey, agency_a), system=web_system, framework=history, at=NOW
    )
    assert state.counts["other_than_satisfied"] == 1


# --- a bounded number of queries ------------------------------------------------------------


@pytest.mark.parametrize("n", [10, 300])
def test_query_count_does_not_grow_with_controls(
    n, web_system, carol, agency_a, ctx, django_assert_num_queries
):
    fw, controls = make_framework(n)
    ControlAssessment.objects.bulk_create(
        ControlAssessment(
            system=web_system,
            control=control,
            status=[S.SATISFIED, S.OTHER_THAN_SATISFIED, S.NOT_APPLICABLE][(i + k) % 3],
            assessed_at=MARCH + timedelta(days=30 * k),
            recorded_at=NOW,
        )
        for i, control in enumerate(controls)
        for k in range(3)
    )
    c = ctx(carol, agency_a)

    # The system through the scope, the controls, the latest assessment per control.
    with django_assert_num_queries(3):
        state = system_state_as_of(ctx=c, system=web_system, framework=fw, at=NOW)

    assert state.total == n
    assert sum(state.counts.values()) == n
    assert state.counts["not_assessed"] == 0


# --- recording assessments --------------------------------------------------------------------


def test_future_assessed_at_is_refused(framework, web_system, carol, agency_a, ctx):
    _, (ac1, *_) = framework
    c = ctx(carol, agency_a)

    with pytest.raises(InvalidInput, match="cannot be in the future"):
        assessment_record(
            ctx=c,
            system=web_system,
            control=ac1,
            status=S.SATISFIED,
            assessed_at=NOW + timedelta(microseconds=1),
            now=NOW,
        )
    assert not ControlAssessment.objects.exists()
    # The present instant itself is fine.
    assessment_record(
        ctx=c, system=web_system, control=ac1, status=S.SATISFIED, assessed_at=NOW, now=NOW
    )


def test_recorded_assessment_keeps_who_and_when(framework, web_system, alice, carol, agency_a, ctx):
    _, (ac1, *_) = framework
    assessment = assessment_record(
        ctx=ctx(alice, agency_a),
        system=web_system,
        control=ac1,
        status=S.OTHER_THAN_SATISFIED,
        implementation_status="partial",
        method="test",
        finding="MFA not enforced for service accounts.",
        assessed_at=JUNE,
        assessor=carol,
        now=NOW,
    )

    assessment.refresh_from_db()
    assert (assessment.assessor, assessment.recorded_by) == (carol, alice)
    assert (assessment.assessed_at, assessment.recorded_at) == (JUNE, NOW)
    assert assessment.finding == "MFA not enforced for service accounts."


def test_isso_records_only_for_own_systems(framework, web_system, hr_system, alice, agency_a, ctx):
    _, (ac1, *_) = framework
    c = ctx(alice, agency_a)
    assessment_record(
        ctx=c, system=web_system, control=ac1, status=S.SATISFIED, assessed_at=MARCH, now=NOW
    )

    with pytest.raises(NotPermitted):
        assessment_record(
            ctx=c, system=hr_system, control=ac1, status=S.SATISFIED, assessed_at=MARCH, now=NOW
        )


@pytest.mark.parametrize("persona", ["audrey", "olivia", "adam"])
def test_other_roles_cannot_record(
    request, persona, framework, web_system, agency_a, ctx, audit_grant
):
    _, (ac1, *_) = framework
    user = request.getfixturevalue(persona)
    if persona == "audrey":  # granted an incident on FTA-WEB: she sees it, may not record
        audit_grant(user, web_system)

    with pytest.raises(NotPermitted):
        assessment_record(
            ctx=ctx(user, agency_a),
            system=web_system,
            control=ac1,
            status=S.SATISFIED,
            assessed_at=MARCH,
            now=NOW,
        )


def test_outsider_cannot_record_on_our_system(framework, web_system, bob, agency_b, ctx):
    _, (ac1, *_) = framework
    with pytest.raises(NotFound):
        assessment_record(
            ctx=ctx(bob, agency_b),
            system=web_system,
            control=ac1,
            status=S.SATISFIED,
            assessed_at=MARCH,
            now=NOW,
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"control": 987654}, "No control 987654"),
        ({"status": "great"}, "Status: 'great' is not one of"),
        ({"status": ""}, "Status: '' is not one of"),
        ({"method": "guess"}, "Method: 'guess' is not one of"),
        ({"implementation_status": "done"}, "Implementation status: 'done' is not one of"),
        ({"assessed_at": datetime(2025, 3, 1)}, "needs a date, time and time zone"),
    ],
)
def test_bad_assessment_input_is_refused(
    framework, web_system, carol, agency_a, ctx, changes, message
):
    _, (ac1, *_) = framework
    fields = {"control": ac1, "status": S.SATISFIED, "assessed_at": MARCH, **changes}

    with pytest.raises(InvalidInput, match=message):
        assessment_record(ctx=ctx(carol, agency_a), system=web_system, now=NOW, **fields)
    assert not ControlAssessment.objects.exists()


def test_assessor_from_another_agency_is_refused(framework, web_system, carol, bob, agency_a, ctx):
    _, (ac1, *_) = framework
    with pytest.raises(InvalidInput, match="assessor"):
        assessment_record(
            ctx=ctx(carol, agency_a),
            system=web_system,
            control=ac1,
            status=S.SATISFIED,
            assessed_at=MARCH,
            assessor=bob,
            now=NOW,
        )


def test_assessments_are_append_only(history, web_system):
    assessment = ControlAssessment.objects.first()

    assessment.finding = "rewritten"
    with pytest.raises(AppendOnlyError):
        assessment.save()
    with pytest.raises(AppendOnlyError):
        assessment.delete()
    with pytest.raises(AppendOnlyError):
        ControlAssessment.objects.filter(system=web_system).update(finding="rewritten")
    with pytest.raises(AppendOnlyError):
        ControlAssessment.objects.filter(system=web_system).delete()


def test_database_refuses_rewriting_assessments(history):
    """Even a stray SQL statement cannot rewrite history on PostgreSQL (the trigger)."""
    assert connection.vendor == "postgresql"
    pk = ControlAssessment.objects.first().pk
    for sql in (
        "UPDATE compliance_controlassessment SET finding = 'x' WHERE id = %s",
        "DELETE FROM compliance_controlassessment WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    assert ControlAssessment.objects.filter(pk=pk, finding="").exists()
