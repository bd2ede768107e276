"""Personas (healthchecks style): two agencies and one person per role.

Agency A (FTA, America/New_York): alice the ISSO of system FTA-WEB, ivan the ISSO of FTA-HR
only (an ISSO not assigned to FTA-WEB), carol the compliance officer, olivia the approving
official, audrey the auditor (who reads only through the incidents granted to her:
``audit_grant``), adam the agency administrator.
Agency B (OTA, America/Los_Angeles): bob, ISSO, compliance officer and approving official
there: the outsider.
Every persona signs in with ``support.factories.PASSWORD``.

The builders these fixtures use, and everything else the tests share, are in ``tests/support``.
"""

from datetime import UTC, datetime

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations
from rest_framework.test import APIClient

from accounts.context import context_for
from accounts.models import Role
from incidents.services import incident_open

from .support.factories import AgencyFactory, SystemFactory, person

DB_FIXTURES = frozenset({"db", "transactional_db", "live_server"})


@pytest.fixture(autouse=True)
def _shipped_rule_sets(request):
    """The rule sets shipped by data migrations, present in every database test.

    A transactional test flushes every table when it ends, the migrations' rows included;
    serialized rollback is meant to restore them but does not always (a live-server test after
    another transactional test found them gone). Loading is idempotent, so make sure here.
    """
    if request.node.get_closest_marker("django_db") is None and not (
        DB_FIXTURES & set(request.fixturenames)
    ):
        return
    request.getfixturevalue("_django_db_helper")
    from reporting.loader import RULESET_DIR, load_document, read_document
    from reporting.models import ObligationRule, RuleSet

    for path in sorted(RULESET_DIR.glob("*.json")):
        load_document(read_document(path), RuleSet=RuleSet, ObligationRule=ObligationRule)


@pytest.fixture(autouse=True, scope="session")
def _flush_past_append_only_triggers():
    """A transactional test ends by flushing every table with one TRUNCATE, which the
    append-only tables refuse (as they must outside tests: core.append_only). The test flush
    alone runs with triggers off: ``session_replication_role = replica``, set LOCAL inside the
    flush's own transaction (the test database's user is a superuser)."""
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if statements:
            statements = ["SET LOCAL session_replication_role = replica", *statements]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture
def agency_a(db):
    return AgencyFactory(
        name="Federal Test Agency",
        abbreviation="FTA",
        time_zone="America/New_York",
        now=datetime(2020, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def agency_b(db):
    return AgencyFactory(
        name="Other Test Agency",
        abbreviation="OTA",
        time_zone="America/Los_Angeles",
        now=datetime(2020, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def web_system(agency_a):
    return SystemFactory(agency=agency_a, name="Public web store", acronym="FTA-WEB")


@pytest.fixture
def hr_system(agency_a):
    return SystemFactory(agency=agency_a, name="Human resources", acronym="FTA-HR")


@pytest.fixture
def b_system(agency_b):
    return SystemFactory(agency=agency_b, name="Other web", acronym="OTA-WEB")


@pytest.fixture
def alice(agency_a, web_system):
    return person("alice", agency_a, Role.ISSO, systems=[web_system])


@pytest.fixture
def ivan(agency_a, hr_system):
    """An ISSO of agency A assigned to FTA-HR only: not to FTA-WEB."""
    return person("ivan", agency_a, Role.ISSO, systems=[hr_system])


@pytest.fixture
def carol(agency_a):
    return person("carol", agency_a, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def olivia(agency_a):
    return person("olivia", agency_a, Role.APPROVING_OFFICIAL)


@pytest.fixture
def audrey(agency_a):
    return person("audrey", agency_a, Role.AUDITOR)


@pytest.fixture
def adam(agency_a):
    return person("adam", agency_a, Role.AGENCY_ADMIN)


@pytest.fixture
def bob(agency_b, b_system):
    return person(
        "bob",
        agency_b,
        Role.ISSO,
        Role.COMPLIANCE_OFFICER,
        Role.APPROVING_OFFICIAL,
        systems=[b_system],
    )


@pytest.fixture
def ctx():
    """``ctx(user, agency)``: the acting context services take."""
    return context_for


@pytest.fixture
def open_incident(agency_a, alice, web_system):
    """``open_incident(now=..., **fields)``: alice opens an incident on FTA-WEB."""

    def _open(*, now, by=None, agency=None, **fields):
        fields.setdefault("title", "Shell spawned in store-frontend")
        fields.setdefault("systems", [web_system.pk])
        return incident_open(ctx=context_for(by or alice, agency or agency_a), now=now, **fields)

    return _open


@pytest.fixture
def audit_grant(agency_a, carol):
    """``audit_grant(auditor, *systems, now=...)``: carol opens an incident affecting
    ``systems`` and ``auditor`` is granted it. An auditor reads a system (its inventory entry,
    compliance state, risk assessments, POA&M) only through such a grant."""
    from incidents.models import AuditorGrant

    def _grant(user, *systems, now=None, title="Audited incident"):
        incident = incident_open(
            ctx=context_for(carol, agency_a),
            title=title,
            systems=[s.pk for s in systems],
            now=now,
        )
        AuditorGrant.objects.create(incident=incident, user=user)
        return incident

    return _grant


@pytest.fixture
def api():
    """``api(user, agency=None)``: an API client signed in as ``user``."""

    def _client(user, agency=None):
        client = APIClient()
        client.force_authenticate(user)
        if agency is not None:
            client.credentials(HTTP_X_DOCKET_AGENCY=agency.abbreviation)
        return client

    return _client
