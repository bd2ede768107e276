"""The admin is scoped to the agency administrator's active agency.

Every registered model is covered through ``admin.site._registry``: a model registered later
is checked by the parametrised tests without touching this file (and fails the registry test
until it is listed, with data of both agencies in ``world``).
"""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin import AgencyScopedAdmin
from accounts.context import SESSION_KEY
from accounts.models import Agency, IngestToken, Membership, Role
from accounts.services import membership_grant
from compliance.models import (
    Control,
    ControlAssessment,
    ControlMapping,
    Framework,
    InformationSystem,
)
from compliance.services import assessment_record
from evidence.models import CustodyEntry, Evidence
from evidence.services import custody_append
from incidents import falco
from incidents.ingest import alerts_store
from incidents.models import (
    AdditionalInformation,
    AuditorGrant,
    Detection,
    Determination,
    EventKind,
    Incident,
    IncidentCandidate,
    IncidentEvent,
    Indicator,
)
from incidents.services import (
    additional_information_record,
    determination_record,
    incident_open,
)
from reporting.models import (
    Obligation,
    ObligationRule,
    ReminderDispatch,
    RuleSet,
    RuleSetAdoption,
    Submission,
)
from reporting.services import ruleset_supersede, submission_record

from .support.factories import UserFactory

User = get_user_model()
NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)

EXPECTED_MODELS = {
    User,
    Agency,
    Membership,
    InformationSystem,
    Incident,
    IncidentEvent,
    Determination,
    AdditionalInformation,
    AuditorGrant,
    Indicator,
    RuleSet,
    ObligationRule,
    RuleSetAdoption,
    Obligation,
    Submission,
    ReminderDispatch,
    IngestToken,
    Detection,
    IncidentCandidate,
    Evidence,
    CustodyEntry,
    ControlAssessment,
    Framework,
    ControlMapping,
}
REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)

# Strings that appear only in agency B's data: none may reach agency A's admin.
B_MARKERS = (
    "Other Test Agency",
    "OTA-WEB",
    "OTA-2025-",
    "Bravo-secret",
    "bravo-secret",  # host names, group keys and indicators of B's bundle
    "beatrix",
    "ota-draft",
)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def agencies_of(obj) -> set:
    """The agencies a row belongs to (``None``: published for every agency)."""
    if isinstance(obj, Agency):
        return {obj.pk}
    if isinstance(obj, User):
        return set(Membership.objects.filter(user=obj).values_list("agency_id", flat=True))
    if isinstance(obj, Membership):
        return {obj.agency_id}
    value = obj
    for part in type(obj).agency_path.split("__"):
        value = getattr(value, part)
        if value is None:
            return {None}
    return {value.pk}


def rows_only_of(model, agency) -> list:
    return [o for o in model._default_manager.all() if agencies_of(o) == {agency.pk}]


def _bundle(*, ctx, opener, official, editor, submitter, agency, auditor, granter, system, title):
    """An incident with a row in every incident-related table."""
    incident = incident_open(
        ctx=ctx(opener, agency),
        now=NOW,
        title=title,
        systems=[system.pk],
        indicators=[{"type": "domain", "value": f"{title.lower().replace(' ', '-')}.example"}],
    )
    determination_record(
        ctx=ctx(official, agency),
        incident=incident,
        decision="major",
        rationale=f"{title}: exfiltration of records",
        now=NOW + timedelta(hours=2),
    )
    additional_information_record(
        ctx=ctx(editor, agency),
        incident=incident,
        summary=f"{title}: more hosts",
        now=NOW + timedelta(hours=3),
    )
    obligation = Obligation.objects.filter(incident=incident).order_by("due_at").first()
    submission_record(
        ctx=ctx(submitter, agency),
        obligation=obligation,
        channel="email",
        reference=f"{title} report",
        now=NOW + timedelta(hours=4),
    )
    ReminderDispatch.objects.create(
        obligation=Obligation.objects.filter(incident=incident, met_at__isnull=True).first(),
        threshold="24",
        fire_at=NOW,
        sent_at=NOW,
        recipients=["someone@example.gov"],
    )
    AuditorGrant.objects.create(incident=incident, user=auditor, granted_by=granter)

    evidence = Evidence.objects.create(
        incident=incident,
        kind="log",
        original_filename=f"{title}.log",
        size=1,
        sha256="0" * 64,
        md5="0" * 32,
        detected_format="text",
        storage_name=f"evidence/{incident.number}/{title}",
        storage_backend="test",
        uploaded_at=NOW,
        uploaded_by=opener,
    )
    custody_append(evidence=evidence, action="upload", actor=opener, at=NOW)

    # Detections in: a token, one alert posted with it, and the candidate grouping made of it.
    slug = title.lower().replace(" ", "-")
    token, _plain = IngestToken.issue(agency=agency, name=f"{title} sensor", now=NOW)
    alert = {
        "rule": f"{title}: terminal shell in container",
        "priority": "Warning",
        "time": "2025-03-04T15:00:00.000000000Z",
        "hostname": f"{slug}-node",
        "output": f"A shell was spawned on {slug}-node",
    }
    stored = alerts_store(
        agency=agency, items=[falco.Item(index=0, value=alert)], token=token, now=NOW
    )
    assert stored.accepted == 1, stored.as_dict()
    candidate = IncidentCandidate.objects.create(
        agency=agency,
        system=system,
        group_key=f"host:{slug}-node",
        first_seen=NOW,
        last_seen=NOW,
        count=1,
        created_at=NOW,
    )
    Detection.objects.filter(agency=agency, token=token).update(
        candidate=candidate, system=system, grouped_at=NOW
    )

    framework, _ = Framework.objects.get_or_create(name="Test catalog", version="1")
    control, _ = Control.objects.get_or_create(
        framework=framework, identifier="ac-2", defaults={"label": "AC-2", "title": "Accounts"}
    )
    assessment_record(
        ctx=ctx(submitter, agency),
        system=system,
        control=control,
        status="satisfied",
        assessed_at=NOW,
        finding=f"{title}: accounts reviewed",
        now=NOW + timedelta(hours=5),
    )
    licensed = Framework.objects.create(agency=agency, name=f"{title} licensed", version="1")
    first, second = Control.objects.bulk_create(
        Control(framework=licensed, identifier=i, title=f"{title} {i}", sort_key=i)
        for i in ("1", "2")
    )
    ControlMapping.objects.create(
        agency=agency, source_control=first, target_control=second, relationship="related"
    )
    return incident


def _agency_ruleset(agency, version):
    default = RuleSet.objects.get(agency__isnull=True, version="1")
    variant = ruleset_supersede(ruleset=default, version=version, effective_from=date(2025, 1, 1))
    RuleSet.objects.filter(pk=variant.pk).update(agency=agency)
    variant.refresh_from_db()
    return variant


@pytest.fixture
def beatrix(agency_b):
    user = UserFactory(username="beatrix", is_staff=True)
    membership_grant(user=user, agency=agency_b, role=Role.AGENCY_ADMIN)
    return user


@pytest.fixture
def bert(agency_b):
    user = UserFactory(username="bert")
    membership_grant(user=user, agency=agency_b, role=Role.AUDITOR)
    return user


@pytest.fixture
def staff_adam(adam):
    adam.is_staff = True
    adam.save(update_fields=["is_staff"])
    return adam


@pytest.fixture
def world(
    ctx,
    agency_a,
    agency_b,
    alice,
    carol,
    olivia,
    audrey,
    staff_adam,
    bob,
    beatrix,
    bert,
    web_system,
    hr_system,
    b_system,
):
    """Rows of every admin-registered model in both agencies."""

    def build(suffix=""):
        return {
            "a_incident": _bundle(
                ctx=ctx,
                opener=alice,
                official=olivia,
                editor=alice,
                submitter=carol,
                agency=agency_a,
                auditor=audrey,
                granter=staff_adam,
                system=web_system,
                title=f"Alpha intrusion{suffix}",
            ),
            "b_incident": _bundle(
                ctx=ctx,
                opener=bob,
                official=bob,
                editor=bob,
                submitter=bob,
                agency=agency_b,
                auditor=bert,
                granter=beatrix,
                system=b_system,
                title=f"Bravo-secret exfiltration{suffix}",
            ),
        }

    data = build()
    data["b_ruleset"] = _agency_ruleset(agency_b, "ota-draft")
    data["a_ruleset"] = _agency_ruleset(agency_a, "fta-draft")
    data["build"] = build
    return data


@pytest.fixture
def as_user(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def test_every_model_is_registered_with_an_agency_scoped_admin():
    assert set(admin.site._registry) == EXPECTED_MODELS
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, AgencyScopedAdmin), model


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_changelist_shows_only_the_admins_agency(
    model, world, as_user, staff_adam, agency_a, agency_b
):
    client = as_user(staff_adam)
    response = client.get(_url(model, "changelist"))

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown, f"no {model.__name__} of agency A in the test data"
    for obj in shown:
        agencies = agencies_of(obj)
        if model is User:
            assert agency_a.pk in agencies, obj
        else:
            assert agencies <= {agency_a.pk, None}, obj
    hidden = rows_only_of(model, agency_b)
    assert hidden, f"no {model.__name__} of agency B in the test data"
    assert not {o.pk for o in hidden} & {o.pk for o in shown}
    content = response.content.decode()
    for marker in B_MARKERS:
        assert marker not in content, marker


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_another_agencys_object_is_not_found(model, world, as_user, agency_b):
    client = as_user(User.objects.get(username="adam"))
    other = rows_only_of(model, agency_b)[0]
    before = {f.attname: getattr(other, f.attname) for f in model._meta.concrete_fields}

    for view in ("change", "history", "delete"):
        response = client.get(_url(model, view, other.pk), follow=True)
        # Not found (a redirect to the index), or refused outright where the admin may
        # never delete: either way without the object.
        assert response.status_code in (200, 403, 404)
        assert response.redirect_chain or response.status_code != 200
        content = response.content.decode()
        assert str(other) not in content
        for marker in B_MARKERS:
            assert marker not in content, (view, marker)

    client.post(_url(model, "delete", other.pk), {"post": "yes"})
    client.post(_url(model, "change", other.pk), {"name": "Taken over", "title": "Taken over"})
    other.refresh_from_db()
    assert {f.attname: getattr(other, f.attname) for f in model._meta.concrete_fields} == before


@pytest.mark.parametrize("persona", ["carol", "audrey", "alice", "root"])
def test_staff_without_the_agency_admin_role_is_refused(persona, world, as_user, agency_a):
    if persona == "root":  # a superuser holding no role in any agency
        user = UserFactory(username="root", is_staff=True, is_superuser=True)
    else:
        user = User.objects.get(username=persona)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    client = as_user(user)

    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert not index.context["app_list"]
    for model in REGISTERED:
        own = next(o for o in model._default_manager.all() if agency_a.pk in agencies_of(o))
        for url in (_url(model, "changelist"), _url(model, "add"), _url(model, "change", own.pk)):
            response = client.get(url)
            assert response.status_code in (302, 403), url
            if response.status_code == 302:
                assert "/login/" in response["Location"]


def test_an_auditor_who_is_also_agency_admin_is_refused(world, as_user, agency_a, audrey):
    membership_grant(user=audrey, agency=agency_a, role=Role.AGENCY_ADMIN)
    audrey.is_staff = True
    audrey.save(update_fields=["is_staff"])
    response = as_user(audrey).get(_url(Incident, "changelist"))
    assert response.status_code == 403


def test_an_agency_admin_who_is_not_staff_cannot_sign_in(world, as_user, staff_adam):
    staff_adam.is_staff = False
    staff_adam.save(update_fields=["is_staff"])
    response = as_user(staff_adam).get(_url(Incident, "changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_superuser_is_scoped_to_the_agency_they_administer(world, as_user, agency_a):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    membership_grant(user=root, agency=agency_a, role=Role.AGENCY_ADMIN)
    client = as_user(root)

    response = client.get(_url(Incident, "changelist"))
    assert [i.pk for i in response.context["cl"].result_list] == [world["a_incident"].pk]
    event = IncidentEvent.objects.filter(incident=world["a_incident"]).first()
    assert client.post(_url(IncidentEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    assert client.get(_url(Incident, "change", world["b_incident"].pk)).status_code == 302


def test_an_admin_of_two_agencies_acts_within_the_chosen_one(world, as_user, agency_a, agency_b):
    both = UserFactory(username="dual", is_staff=True)
    membership_grant(user=both, agency=agency_a, role=Role.AGENCY_ADMIN)
    membership_grant(user=both, agency=agency_b, role=Role.AGENCY_ADMIN)
    client = as_user(both)

    assert client.get(_url(Incident, "changelist")).status_code == 403  # no agency chosen yet

    session = client.session
    session[SESSION_KEY] = agency_b.pk
    session.save()
    response = client.get(_url(Incident, "changelist"))
    assert [i.pk for i in response.context["cl"].result_list] == [world["b_incident"].pk]

    response = client.get(_url(Incident, "changelist"), HTTP_X_DOCKET_AGENCY="FTA")
    assert [i.pk for i in response.context["cl"].result_list] == [world["a_incident"].pk]


def test_incident_events_are_never_added_changed_or_deleted(world, as_user):
    client = as_user(User.objects.get(username="adam"))
    event = IncidentEvent.objects.filter(incident=world["a_incident"]).first()
    count = IncidentEvent.objects.count()

    page = client.get(_url(IncidentEvent, "change", event.pk))
    assert page.status_code == 200  # may be read
    assert 'name="_save"' not in page.content.decode()
    assert client.get(_url(IncidentEvent, "add")).status_code == 403
    assert client.post(_url(IncidentEvent, "change", event.pk), {"note": "x"}).status_code == 403
    assert client.get(_url(IncidentEvent, "delete", event.pk)).status_code == 403
    assert client.post(_url(IncidentEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    client.post(
        _url(IncidentEvent, "changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert IncidentEvent.objects.count() == count
    assert IncidentEvent.objects.get(pk=event.pk).note == event.note


def test_incidents_are_view_only(world, as_user):
    client = as_user(User.objects.get(username="adam"))
    incident = world["a_incident"]

    page = client.get(_url(Incident, "change", incident.pk))
    content = page.content.decode()
    assert page.status_code == 200
    assert incident.number in content
    assert "alpha-intrusion.example" in content  # the indicators inline
    assert 'name="_save"' not in content
    assert client.get(_url(Incident, "add")).status_code == 403
    response = client.post(_url(Incident, "change", incident.pk), {"title": "Renamed"})
    assert response.status_code == 403
    assert client.post(_url(Incident, "delete", incident.pk), {"post": "yes"}).status_code == 403
    incident.refresh_from_db()
    assert incident.title == "Alpha intrusion"


def test_information_system_add_forces_the_admins_agency(world, as_user, agency_a, agency_b):
    client = as_user(User.objects.get(username="adam"))

    form = client.get(_url(InformationSystem, "add")).context["adminform"].form
    assert list(form.fields["agency"].queryset) == [agency_a]

    response = client.post(
        _url(InformationSystem, "add"),
        {
            "agency": agency_b.pk,
            "acronym": "FTA-PAY",
            "name": "Payroll",
            "confidentiality": 3,
            "integrity": 2,
            "availability": 1,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    system = InformationSystem.objects.get(acronym="FTA-PAY")
    assert system.agency == agency_a

    listing = client.get(_url(InformationSystem, "changelist")).content.decode()
    assert "FTA-PAY" in listing
    assert "High" in listing  # the high-water mark


def test_an_information_system_named_by_an_incident_cannot_be_deleted(world, as_user, hr_system):
    client = as_user(User.objects.get(username="adam"))
    web = InformationSystem.objects.get(acronym="FTA-WEB")
    assert (
        client.post(_url(InformationSystem, "delete", web.pk), {"post": "yes"}).status_code == 403
    )
    assert (
        client.post(_url(InformationSystem, "delete", hr_system.pk), {"post": "yes"}).status_code
        == 302
    )
    assert InformationSystem.objects.filter(pk=web.pk).exists()
    assert not InformationSystem.objects.filter(pk=hr_system.pk).exists()


def test_agency_admin_edits_own_agency_but_not_its_abbreviation(world, as_user, agency_a):
    client = as_user(User.objects.get(username="adam"))
    response = client.post(
        _url(Agency, "change", agency_a.pk),
        {
            "name": "Federal Testing Agency",
            "abbreviation": "XYZ",
            "time_zone": "America/Chicago",
            "marking": "CUI//SP-PRVCY",
        },
    )
    assert response.status_code == 302
    agency_a.refresh_from_db()
    assert (agency_a.name, agency_a.abbreviation) == ("Federal Testing Agency", "FTA")
    assert (agency_a.time_zone, agency_a.marking) == ("America/Chicago", "CUI//SP-PRVCY")

    bad = client.post(
        _url(Agency, "change", agency_a.pk),
        {"name": "Federal Testing Agency", "time_zone": "Mars/Olympus", "marking": "CUI"},
    )
    assert bad.status_code == 200 and bad.context["adminform"].form.errors
    assert client.get(_url(Agency, "add")).status_code == 403
    assert client.post(_url(Agency, "delete", agency_a.pk), {"post": "yes"}).status_code == 403


def test_membership_choices_are_the_agencys(world, as_user, agency_a, web_system, b_system):
    client = as_user(User.objects.get(username="adam"))
    newcomer = UserFactory(username="newcomer")  # holds no role anywhere yet

    form = client.get(_url(Membership, "add")).context["adminform"].form
    assert set(form.fields["systems"].queryset) == set(
        InformationSystem.objects.filter(agency=agency_a)
    )
    users = set(form.fields["user"].queryset.values_list("username", flat=True))
    assert {"alice", "carol", "newcomer"} <= users
    assert not users & {"bob", "beatrix", "bert"}

    refused = client.post(
        _url(Membership, "add"),
        {"user": newcomer.pk, "role": Role.ISSO, "systems": [b_system.pk]},
    )
    assert refused.status_code == 200
    refused = client.post(
        _url(Membership, "add"),
        {"user": User.objects.get(username="bob").pk, "role": Role.ISSO},
    )
    assert refused.status_code == 200
    assert not Membership.objects.filter(agency=agency_a, user__username__in=["newcomer", "bob"])
    assert Membership.objects.filter(user__username="bob").count() == 3  # B's, unchanged

    response = client.post(
        _url(Membership, "add"),
        {"user": newcomer.pk, "role": Role.ISSO, "systems": [web_system.pk]},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=newcomer)
    assert membership.agency == agency_a
    assert list(membership.systems.all()) == [web_system]


def test_auditor_grants_are_added_and_revoked_with_an_event(
    world, as_user, audrey, olivia, agency_a
):
    client = as_user(User.objects.get(username="adam"))
    incident = world["a_incident"]
    AuditorGrant.objects.filter(incident=incident).delete()

    form = client.get(_url(AuditorGrant, "add")).context["adminform"].form
    assert list(form.fields["incident"].queryset) == [incident]
    assert list(form.fields["user"].queryset) == [audrey]

    now = timezone.localtime(timezone.now(), agency_a.tz)
    later = now + timedelta(days=10)
    window = {
        "valid_from_0": f"{now:%Y-%m-%d}",
        "valid_from_1": f"{now:%H:%M:%S}",
        "valid_until_0": f"{later:%Y-%m-%d}",
        "valid_until_1": f"{later:%H:%M:%S}",
    }
    refused = client.post(
        _url(AuditorGrant, "add"),
        {"incident": world["b_incident"].pk, "user": audrey.pk, **window},
    )
    assert refused.status_code == 200
    refused = client.post(
        _url(AuditorGrant, "add"), {"incident": incident.pk, "user": olivia.pk, **window}
    )
    assert refused.status_code == 200
    assert not AuditorGrant.objects.filter(incident=incident).exists()

    response = client.post(
        _url(AuditorGrant, "add"), {"incident": incident.pk, "user": audrey.pk, **window}
    )
    assert response.status_code == 302
    grant = AuditorGrant.objects.get(incident=incident)
    assert (grant.user, grant.granted_by.username) == (audrey, "adam")
    assert client.post(_url(AuditorGrant, "delete", grant.pk), {"post": "yes"}).status_code == 302
    assert not AuditorGrant.objects.filter(incident=incident).exists()
    logged = IncidentEvent.objects.filter(incident=incident, kind=EventKind.GRANT)
    assert [e.data["granted"] for e in logged.order_by("pk")] == [True, False]


def test_rule_sets_in_use_or_shared_are_read_only(world, as_user, agency_a):
    client = as_user(User.objects.get(username="adam"))
    shared = RuleSet.objects.get(agency__isnull=True, version="1")
    own = world["a_ruleset"]
    rule = own.rules.get(key="supplemental")

    page = client.get(_url(RuleSet, "change", shared.pk)).content.decode()
    assert "congress-7-day" in page and 'name="_save"' not in page
    assert client.post(_url(RuleSet, "delete", shared.pk), {"post": "yes"}).status_code == 403
    shared_rule = shared.rules.get(key="supplemental")
    response = client.post(_url(ObligationRule, "change", shared_rule.pk), {"title": "x"})
    assert response.status_code == 403

    # The agency's own draft is editable until adopted.
    assert 'name="_save"' in client.get(_url(RuleSet, "change", own.pk)).content.decode()
    form = client.get(_url(ObligationRule, "add")).context["adminform"].form
    assert list(form.fields["ruleset"].queryset) == [own]

    refused = client.post(
        _url(RuleSetAdoption, "add"),
        {"ruleset": world["b_ruleset"].pk, "offsets": "{}"},
    )
    assert refused.status_code == 200
    refused = client.post(
        _url(RuleSetAdoption, "add"), {"ruleset": own.pk, "offsets": '{"cisa-initial": 5}'}
    )
    assert refused.status_code == 200
    response = client.post(
        _url(RuleSetAdoption, "add"),
        {"ruleset": own.pk, "offsets": '{"supplemental": 10}', "agency": 0},
    )
    assert response.status_code == 302
    adoption = RuleSetAdoption.objects.get(ruleset=own)
    assert (adoption.agency, adoption.adopted_by.username) == (agency_a, "adam")
    assert adoption.offsets == {"supplemental": 10}

    # Adopted: now frozen like the shared one.
    assert 'name="_save"' not in client.get(_url(RuleSet, "change", own.pk)).content.decode()
    assert client.post(_url(ObligationRule, "change", rule.pk), {"title": "x"}).status_code == 403
    assert client.post(_url(RuleSet, "delete", own.pk), {"post": "yes"}).status_code == 403
    response = client.post(_url(RuleSetAdoption, "delete", adoption.pk), {"post": "yes"})
    assert response.status_code == 403


def test_users_of_the_agency_are_managed_without_reaching_beyond_it(
    world, as_user, agency_a, agency_b, carol
):
    client = as_user(User.objects.get(username="adam"))

    response = client.post(
        _url(User, "add"),
        {
            "username": "newisso",
            "role": Role.ISSO,
            "usable_password": "true",
            "password1": "a long enough passphrase 7",
            "password2": "a long enough passphrase 7",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Membership.objects.get(user__username="newisso").agency == agency_a

    # A member of this agency only: editable, but never into a superuser.
    response = client.post(
        _url(User, "change", carol.pk),
        {
            "username": "carol",
            "email": "carol@example.gov",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )
    assert response.status_code == 302
    carol.refresh_from_db()
    assert carol.is_staff and not carol.is_superuser

    # Accounts that reach beyond the agency are read-only.
    membership_grant(user=carol, agency=agency_b, role=Role.AUDITOR)
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    membership_grant(user=root, agency=agency_a, role=Role.COMPLIANCE_OFFICER)
    for user in (carol, root):
        response = client.post(
            _url(User, "change", user.pk), {"username": user.username, "is_active": ""}
        )
        assert response.status_code == 403
        password = {"password1": "an entirely new passphrase", "password2": "x"}
        response = client.post(_url(User, "password_change", user.pk), password)
        assert response.status_code == 403
        user.refresh_from_db()
        assert user.is_active


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_changelist_queries_do_not_grow_with_rows(model, world, as_user):
    client = as_user(User.objects.get(username="adam"))
    url = _url(model, "changelist")
    client.get(url)  # warm caches (content types, sessions)

    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    world["build"](suffix=" two")
    world["build"](suffix=" three")
    with CaptureQueriesContext(connection) as after:
        response = client.get(url)
    assert len(after) == len(before), [q["sql"] for q in after.captured_queries]
    fixed = {Agency, User, Membership, InformationSystem, RuleSet, ObligationRule, RuleSetAdoption}
    if model not in fixed:
        assert len(response.context["cl"].result_list) > 1


def test_times_read_in_the_agencys_zone(world, as_user):
    client = as_user(User.objects.get(username="adam"))
    page = client.get(_url(Incident, "change", world["a_incident"].pk)).content.decode()
    # Identified 15:00 UTC: in New York, with the zone printed (was "March 4, 2025, 10 a.m.").
    assert "2025-03-04 10:00 EST (America/New_York)" in page
    # Not the UTC wall time (other times on the page, e.g. "8:43 p.m.", must not match).
    assert not re.search(r"(?<![\d:])3 p\.m\.", page)


# How Django writes a time when nobody told it the zone: "March 4, 2025, 10 a.m.", "noon".
DJANGO_TIME = re.compile(
    r"(Jan|Feb|March|April|May|June|July|Aug|Sept|Oct|Nov|Dec)\.? \d{1,2}, \d{4}, "
    r"(\d{1,2}(:\d\d)? [ap]\.m\.|noon|midnight)"
)
ZONED_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Z]{3,4} \(America/New_York\)")


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_every_time_the_admin_shows_names_its_zone(model, world, as_user, agency_a):
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.admin.utils import flatten_fieldsets
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import DateTimeField

    adam = User.objects.get(username="adam")
    client = as_user(adam)
    own = next(o for o in model._default_manager.all() if agency_a.pk in agencies_of(o))
    LogEntry.objects.create(
        user=adam,
        content_type=ContentType.objects.get_for_model(model),
        object_id=str(own.pk),
        object_repr=str(own)[:200],
        action_flag=CHANGE,
        change_message="Looked at it.",
    )
    pages = {
        "list": client.get(_url(model, "changelist")),
        "change": client.get(_url(model, "change", own.pk)),
        "history": client.get(_url(model, "history", own.pk)),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        text = page.content.decode()
        assert not DJANGO_TIME.search(text), (name, DJANGO_TIME.search(text).group(0))
    assert ZONED_TIME.search(pages["history"].content.decode())
    # Where a time is configured to show, it shows with its zone.
    model_admin = admin.site._registry[model]
    times = {
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, DateTimeField) and getattr(own, f.name) is not None
    }
    shown = set(
        flatten_fieldsets(model_admin.fieldsets or [(None, {"fields": model_admin.fields or ()})])
    )
    if times & shown:
        assert ZONED_TIME.search(pages["change"].content.decode()), times & shown
    if times & set(model_admin.list_display):
        assert ZONED_TIME.search(pages["list"].content.decode()), times


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_add_and_change_forms_offer_only_the_agencys_rows(model, world, as_user, agency_a):
    client = as_user(User.objects.get(username="adam"))
    own = next(o for o in model._default_manager.all() if agency_a.pk in agencies_of(o))
    pages = [client.get(_url(model, "change", own.pk))]
    add = client.get(_url(model, "add"))
    assert add.status_code in (200, 403)
    if add.status_code == 200:
        pages.append(add)
    for page in pages:
        assert page.status_code == 200
        content = page.content.decode()
        for marker in B_MARKERS:
            assert marker not in content, marker
        for name, field in page.context["adminform"].form.fields.items():
            for choice in getattr(field, "queryset", None) or ():
                assert agencies_of(choice) & {agency_a.pk, None}, (name, choice)


def test_only_the_admin_of_the_agency_resets_second_factors(world, as_user, agency_a, agency_b):
    """The action replaces django-otp's device admin (unregistered: it cannot be scoped)."""
    assert TOTPDevice not in admin.site._registry
    client = as_user(User.objects.get(username="adam"))
    carol, bob = User.objects.get(username="carol"), User.objects.get(username="bob")
    dual = UserFactory(username="dual")  # holds roles in both agencies
    membership_grant(user=dual, agency=agency_a, role=Role.ISSO)
    membership_grant(user=dual, agency=agency_b, role=Role.ISSO)
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    membership_grant(user=root, agency=agency_a, role=Role.COMPLIANCE_OFFICER)
    devices = {
        u.username: TOTPDevice.objects.create(user=u, name="phone", confirmed=True)
        for u in (carol, bob, dual, root)
    }

    listing = client.get(_url(User, "changelist")).content.decode()
    assert "Reset second factor" in listing
    response = client.post(
        _url(User, "changelist"),
        {
            "action": "reset_second_factor",
            "_selected_action": [u.pk for u in (carol, bob, dual, root)],
        },
        follow=True,
    )

    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(pk=devices["carol"].pk).exists()
    for untouched in ("bob", "dual", "root"):
        assert TOTPDevice.objects.filter(pk=devices[untouched].pk).exists(), untouched
    shown = [m.message for m in response.context["messages"]]
    assert any("Second factor reset for carol" in m for m in shown), shown
    assert any("dual" in m and "root" in m and "Not reset" in m for m in shown), shown
    assert not any("bob" in m for m in shown), shown


def _ingest(token: str):
    alert = {
        "rule": "Terminal shell in container",
        "priority": "Notice",
        "time": "2025-03-05T10:00:00.000000000Z",
        "hostname": "web-1.store.fta.gov",
        "output": "A shell was spawned",
    }
    return Client().post(
        "/api/v1/ingest/falco",
        data=json.dumps(alert),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_new_ingest_token_never_travels_in_a_cookie(world, as_user):
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.contrib.sessions.models import Session

    client = as_user(User.objects.get(username="adam"))
    issued = client.post(_url(IngestToken, "add"), {"name": "falco-west"})
    assert issued.status_code == 302
    token = IngestToken.objects.get(name="falco-west")
    set_cookies = {name: morsel.value for name, morsel in issued.cookies.items()}

    page = client.get(issued["Location"])
    plain = re.search(r"dkt_[A-Za-z0-9_-]{43}", page.content.decode()).group(0)
    assert plain.startswith(token.hint)

    for name, value in set_cookies.items():
        assert plain not in value, name
    stored = CookieStorage(page.wsgi_request)._decode(set_cookies.get("messages", "")) or []
    assert [m for m in stored if plain in m.message] == []
    assert [m for m in stored if "falco-west" in m.message], "the message names the token only"
    # Read once: gone from the (server-side) session, and not shown again.
    for session in Session.objects.all():
        assert plain not in str(session.get_decoded())
    assert plain not in client.get(issued["Location"]).content.decode()
    assert issued["Location"] == _url(IngestToken, "change", token.pk)


def test_ingest_tokens_are_issued_once_and_revoked(world, as_user, agency_a, agency_b):
    adam = User.objects.get(username="adam")
    client = as_user(adam)
    other, other_plain = IngestToken.issue(agency=agency_b, name="Bravo-secret falco")

    form = client.get(_url(IngestToken, "add")).context["adminform"].form
    assert list(form.fields) == ["name"]
    response = client.post(
        _url(IngestToken, "add"), {"name": "falco-east", "agency": agency_b.pk}, follow=True
    )
    assert response.status_code == 200
    token = IngestToken.objects.get(name="falco-east")
    assert (token.agency, token.created_by) == (agency_a, adam)
    content = response.content.decode()
    plain = re.search(r"dkt_[A-Za-z0-9_-]{43}", content).group(0)
    assert "copy it now; it is not stored" in content
    assert token.token_hash not in content
    assert plain.startswith(token.hint)

    # Shown once: neither the list nor the token's page shows it (nor its hash) again.
    for page in (
        client.get(_url(IngestToken, "changelist")),
        client.get(_url(IngestToken, "change", token.pk)),
    ):
        content = page.content.decode()
        assert page.status_code == 200
        assert plain not in content and token.token_hash not in content
        assert token.hint in content and "Bravo-secret" not in content
    assert client.post(_url(IngestToken, "change", token.pk), {"name": "x"}).status_code == 403

    assert _ingest(plain).status_code == 200
    assert Detection.objects.filter(token=token, agency=agency_a).count() == 1
    token.refresh_from_db()
    assert token.last_used_at is not None

    # Agency B's token is neither visible nor revocable from agency A.
    assert client.get(_url(IngestToken, "change", other.pk)).status_code == 302
    client.post(
        _url(IngestToken, "changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk, other.pk]},
    )
    token.refresh_from_db()
    other.refresh_from_db()
    assert token.revoked_at is not None and other.revoked_at is None
    refused = _ingest(plain)
    assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"
    assert _ingest(other_plain).status_code == 200


def test_the_admin_names_a_favicon_that_exists(client, world, as_user):
    from django.contrib.staticfiles import finders

    icon = "uswds/img/favicons/favicon.ico"
    assert finders.find(icon), "the icon is a static file"
    link = f'<link rel="icon" href="/static/{icon}">'
    assert link in client.get("/admin/login/").content.decode()
    admin_page = as_user(User.objects.get(username="adam")).get(_url(IngestToken, "changelist"))
    assert link in admin_page.content.decode()
    # What a browser asks for when a page names no icon.
    response = Client().get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, f"/static/{icon}")
