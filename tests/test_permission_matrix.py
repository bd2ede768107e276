"""The permission matrix, generated from ``accounts.permissions.ACTS``.

For every act in the map, ``EXECUTORS[act]`` performs it through its service, on objects made
fresh for the test in agency A (an incident on FTA-WEB opened by carol, its obligations, an
item of evidence carol uploaded, a candidate, a POA&M item), as each persona:

    alice  ISSO of FTA-WEB            ivan    ISSO of FTA-HR only (not assigned)
    carol  compliance officer         olivia  approving official
    audrey_granted  auditor granted the incident     audrey  auditor without a grant
    adam   agency administrator       bob     of the other agency (ISSO, CO and AO there)

The expected outcome is computed from the map, not written down per case:

- the persona's roles do not allow the act (``roles``, ``unless``; for ``assigned_only``
  roles, the object must be a system assigned to the persona) and the act's object rule
  (``OBJECT_RULE``) does not allow it either → refused: ``NotPermitted``, or ``NotFound``
  when the persona cannot see the object either (which check comes first is the service's).
  A lifecycle transition is refused as django-fsm refuses it: ``Conflict`` (409) listing the
  transitions the caller may take, without this one (the API's contract);
- they allow it but the persona cannot see the object (``SEES``) → ``NotFound``;
- otherwise the act succeeds.

Acts without an object (opening an incident, an import) happen in the agency the persona acts
within: bob does them in OTA, where his roles allow them. Every other act aims at agency A's
objects, which bob never reaches.

The test fails when an act of the map has no executor, or an executor has no act in the map.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from accounts.admin import admin_context
from accounts.context import context_for
from accounts.permissions import ACTS
from audit import reads as audit_reads
from compliance import services as compliance_services
from compliance.models import PoamItem, RiskAssessment
from compliance.risk import services as services_risk
from core.errors import Conflict, NotFound, NotPermitted
from evidence import captures
from evidence import services as evidence_services
from evidence.models import Evidence
from incidents import ingest
from incidents import services as incident_services
from incidents.models import AuditorGrant, Incident, IncidentCandidate, Indicator
from reporting import services as reporting_services

PERSONAS = ("alice", "ivan", "carol", "olivia", "audrey_granted", "audrey", "adam", "bob")

# What each persona sees of the fresh objects, by the kind of object an act is on (the
# rules of ``accounts.scoping``; "own": an act with no object, done in the persona's agency).
_INCIDENT = {"alice", "carol", "olivia", "adam", "audrey_granted"}
SEES = {
    "own": set(PERSONAS),
    "incident": _INCIDENT,  # the incident, its evidence, obligations and transfers
    "system": _INCIDENT,  # FTA-WEB's compliance records (audrey_granted: through her grant)
    "candidate": {"alice", "ivan", "carol", "olivia", "adam"},  # the triage queue
}

# Object rules the map documents beside an entry, as the persona they let act here.
OBJECT_RULE = {
    # The current custodian may offer the item without the role: carol uploaded it.
    "custody_transfer_any": {"carol"},
}

# Acts refused the way django-fsm refuses a transition: 409 with the allowed ones.
TRANSITION_ACTS = {"incident_transition": "start_triage", "incident_close": "close"}


class World:
    """Agency A's people and systems, and fresh objects to act on."""

    def __init__(self, request, persona):
        fx = request.getfixturevalue
        self.persona = persona
        self.agency_a, self.agency_b = fx("agency_a"), fx("agency_b")
        self.web, self.b_system = fx("web_system"), fx("b_system")
        self.alice, self.carol, self.olivia = fx("alice"), fx("carol"), fx("olivia")
        self.audrey, self.adam, self.bob, self.ivan = (
            fx("audrey"),
            fx("adam"),
            fx("bob"),
            fx("ivan"),
        )
        self.now = timezone.now()
        self.as_carol = context_for(self.carol, self.agency_a)
        self.as_olivia = context_for(self.olivia, self.agency_a)

    def ctx(self):
        name = "audrey" if self.persona == "audrey_granted" else self.persona
        user = getattr(self, name)
        return context_for(user, self.agency_b if name == "bob" else self.agency_a)

    def incident(self, **fields) -> Incident:
        fields.setdefault("title", "Matrix incident")
        incident = incident_services.incident_open(
            ctx=self.as_carol, systems=[self.web.pk], now=self.now - timedelta(hours=2), **fields
        )
        if self.persona == "audrey_granted":
            AuditorGrant.objects.create(incident=incident, user=self.audrey)
        return incident

    def recovered_incident(self) -> Incident:
        """An incident moved to ``recovered`` by carol, its obligations waived by olivia."""
        incident = self.incident()
        for step in ("start_triage", "confirm", "contain", "eradicate", "recover"):
            incident = incident_services.incident_transition(
                ctx=self.as_carol, incident=incident, transition=step, now=self.now
            )
        for ob in incident.obligations.filter(met_at=None, waived_at=None, withdrawn_at=None):
            reporting_services.obligation_waive(
                ctx=self.as_olivia, obligation=ob, reason="Matrix", now=self.now
            )
        return incident

    def obligation(self):
        return self.incident().obligations.filter(met_at=None, waived_at=None).first()

    def evidence(self, data: bytes = b"a log line\n", kind: str = "log") -> Evidence:
        return evidence_services.evidence_upload(
            ctx=self.as_carol,
            incident=self.incident(),
            fileobj=io.BytesIO(data),
            filename="matrix.log",
            kind=kind,
        )

    def capture(self) -> Evidence:
        from .support.data import shared_file

        return self.evidence(shared_file("scap", "curl_google.scap").read_bytes(), "scap")

    def candidate(self) -> IncidentCandidate:
        return IncidentCandidate.objects.create(
            agency=self.agency_a,
            system=self.web,
            group_key="matrix",
            first_seen=self.now - timedelta(minutes=5),
            last_seen=self.now,
            count=1,
            created_at=self.now,
        )

    def poam_item(self) -> PoamItem:
        if self.persona == "audrey_granted":
            self.incident()  # her grant reaches FTA-WEB's records
        return services_risk.poam_create(
            ctx=self.as_carol,
            system=self.web,
            weakness="Matrix weakness",
            source="assessment",
            severity="moderate",
            scheduled_completion=self.now.date() + timedelta(days=90),
            now=self.now,
        )

    def own_system(self, ctx):
        return self.b_system if ctx.agency == self.agency_b else self.web


def _import_systems(w, ctx):
    exporter = context_for(w.bob, w.agency_b) if ctx.agency == w.agency_b else w.as_carol
    text = compliance_services.systems_export_csv(ctx=exporter)
    f = io.BytesIO(text.encode())
    f.name = "systems.csv"
    return compliance_services.systems_file_import(source=f, ctx=ctx)


def _risk_assessment(w, ctx):
    if w.persona == "audrey_granted":
        w.incident()
    ra = services_risk.risk_assessment_record(
        ctx=ctx,
        system=w.web,
        conducted_at=w.now - timedelta(days=1),
        assessor="Matrix assessors",
        method="qualitative",
        overall_risk="moderate",
        summary="Matrix",
        now=w.now,
    )
    assert RiskAssessment.objects.filter(pk=ra.pk).exists()


def _admin_use(w, ctx):
    request = RequestFactory().get("/admin/")
    ctx.user.is_staff = True  # Django's own gate to its admin, not a role; here in memory
    request.user = ctx.user
    request._docket_context = ctx
    if admin_context(request) is None:
        raise NotPermitted(ACTS["admin_use"].message)


# act → (kind of object, executor(world, ctx)). Each performs the act through its service.
EXECUTORS = {
    "incident_open": (
        "own",
        lambda w, ctx: incident_services.incident_open(
            ctx=ctx, title="Opened in the matrix", systems=[w.own_system(ctx).pk]
        ),
    ),
    "incident_edit": (
        "incident",
        lambda w, ctx: incident_services.incident_update(
            ctx=ctx, incident=w.incident(), changes={"title": "Renamed in the matrix"}
        ),
    ),
    "incident_indicator_add": (
        "incident",
        lambda w, ctx: incident_services.indicator_add(
            ctx=ctx, incident=w.incident(), type="ipv4", value="203.0.113.9"
        ),
    ),
    "incident_additional_information": (
        "incident",
        lambda w, ctx: incident_services.additional_information_record(
            ctx=ctx, incident=w.incident(), summary="More facts"
        ),
    ),
    "incident_determine": (
        "incident",
        lambda w, ctx: incident_services.determination_record(
            ctx=ctx, incident=w.incident(), decision="not_major", rationale="Contained quickly."
        ),
    ),
    "incident_transition": (
        "incident",
        lambda w, ctx: incident_services.incident_transition(
            ctx=ctx, incident=w.incident(), transition="start_triage"
        ),
    ),
    "incident_close": (
        "incident",
        lambda w, ctx: incident_services.incident_transition(
            ctx=ctx, incident=w.recovered_incident(), transition="close", now=w.now
        ),
    ),
    "auditor_grant": (
        "incident",
        lambda w, ctx: incident_services.auditor_grant(
            ctx=ctx, incident=w.incident(), user=w.audrey
        ),
    ),
    "auditor_revoke": (
        "incident",
        lambda w, ctx: incident_services.auditor_revoke(
            ctx=ctx, incident=w.incident(), user=w.audrey
        ),
    ),
    "candidate_handle": (
        "candidate",
        lambda w, ctx: ingest.candidate_dismiss(
            ctx=ctx, candidate=w.candidate(), reason="Expected maintenance"
        ),
    ),
    "evidence_upload": (
        "incident",
        lambda w, ctx: evidence_services.evidence_upload(
            ctx=ctx,
            incident=w.incident(),
            fileobj=io.BytesIO(b"uploaded in the matrix\n"),
            filename="upload.log",
            kind="log",
        ),
    ),
    "evidence_withdraw": (
        "incident",
        lambda w, ctx: evidence_services.evidence_withdraw(
            ctx=ctx, evidence=w.evidence(), reason="Collected from the wrong host"
        ),
    ),
    "evidence_extract_commands": (
        "incident",
        lambda w, ctx: captures.capture_commands_request(ctx=ctx, evidence=w.capture()),
    ),
    "custody_transfer_any": (
        "incident",
        lambda w, ctx: evidence_services.transfer_offer(
            ctx=ctx, evidence=w.evidence(), to_user=w.olivia
        ),
    ),
    "obligation_submit": (
        "incident",
        lambda w, ctx: reporting_services.submission_record(
            ctx=ctx, obligation=w.obligation(), channel="email"
        ),
    ),
    "obligation_waive": (
        "incident",
        lambda w, ctx: reporting_services.obligation_waive(
            ctx=ctx, obligation=w.obligation(), reason="Briefed in person"
        ),
    ),
    "compliance_import": ("own", _import_systems),
    "system_record": ("system", _risk_assessment),
    "risk_accept": (
        "system",
        lambda w, ctx: services_risk.poam_close(
            ctx=ctx, item=w.poam_item(), status="risk_accepted", note="Accepted"
        ),
    ),
    "snapshot_take": (
        "incident",
        lambda w, ctx: services_risk.snapshot_take(ctx=ctx, incident=w.incident()),
    ),
    "admin_use": ("own", _admin_use),
    "read_audit": ("own", lambda w, ctx: list(audit_reads.entries_read(ctx=ctx))),
    "export_audit": (
        "own",
        lambda w, ctx: "".join(audit_reads.export(ctx=ctx, fmt="jsonl")),
    ),
}


def test_every_act_has_an_executor_and_every_executor_an_act():
    assert set(EXECUTORS) == set(ACTS), {
        "acts without an executor": sorted(set(ACTS) - set(EXECUTORS)),
        "executors without an act": sorted(set(EXECUTORS) - set(ACTS)),
    }


def _allowed_by_map(act: str, ctx, w) -> bool:
    rule = ACTS[act]
    if ctx.roles & rule.unless:
        return False
    holding = ctx.roles & rule.roles
    if rule.assigned_only and w.web.pk not in ctx.isso_system_ids:
        holding -= rule.assigned_only
    return bool(holding) or w.persona in OBJECT_RULE.get(act, ())


def _outcome(act: str, run) -> str:
    try:
        run()
    except NotPermitted:
        return "refused"
    except NotFound:
        return "not found"
    except Conflict as exc:
        if act in TRANSITION_ACTS and TRANSITION_ACTS[act] not in exc.extra.get(
            "allowed_transitions", [TRANSITION_ACTS[act]]
        ):
            return "refused"
        raise
    return "done"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("act", sorted(ACTS))
def test_permission_matrix(request, db, act, persona):
    if act not in EXECUTORS:
        pytest.fail(f"No executor for act {act!r}")
    kind, execute = EXECUTORS[act]
    w = World(request, persona)
    ctx = w.ctx()
    allowed = _allowed_by_map(act, ctx, w)
    sees = persona in SEES[kind]
    outcome = _outcome(act, lambda: execute(w, ctx))
    if not allowed:
        expected = {"refused"} if sees else {"refused", "not found"}
    elif not sees:
        expected = {"not found"}
    else:
        expected = {"done"}
    assert outcome in expected, (act, persona, sorted(ctx.roles), outcome, expected)


def test_a_refused_act_leaves_nothing_behind(request, db):
    """The refusals above are refusals: bob's attempts on agency A's incidents store nothing."""
    w = World(request, "bob")
    for act in ("incident_indicator_add", "evidence_upload", "incident_additional_information"):
        assert _outcome(act, lambda act=act: EXECUTORS[act][1](w, w.ctx())) != "done"
    assert not Indicator.objects.filter(incident__agency=w.agency_a).exists()
    assert not Evidence.objects.filter(incident__agency=w.agency_a).exists()
    assert not Incident.objects.filter(agency=w.agency_a, additional_information__isnull=False)
