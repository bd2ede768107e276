"""Rule sets are data: the shipped set, its major-incident criteria, locking and versions."""

import json
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command

from reporting.criteria import Assessment, CriteriaError, recommend
from reporting.loader import RULESET_DIR, RuleSetDocumentError, read_document
from reporting.models import RuleSet, RuleSetAdoption, RuleSetLocked
from reporting.services import ruleset_supersede

M_17_05 = read_document(RULESET_DIR / "fisma-2014-omb-m-17-05.v1.json")["major_criteria"]


def test_shipped_rule_set_has_the_statutory_obligations(db):
    rs = RuleSet.objects.get(name="FISMA 2014 / OMB M-17-05", version="1")
    rules = {r.key: r for r in rs.rules.all()}
    assert set(rules) == {
        "cisa-initial",
        "cisa-major-update",
        "congress-7-day",
        "ig-7-day",
        "supplemental",
        "major-breach-30-day",
    }
    assert (rules["cisa-initial"].offset_amount, rules["cisa-initial"].offset_unit) == (1, "hours")
    assert rules["congress-7-day"].counting == "end_of_local_day"
    assert rules["supplemental"].agency_may_change_offset
    assert "Senate Committee on the Judiciary" in rules["major-breach-30-day"].recipients
    assert rules["major-breach-30-day"].applies_to == "major_breach"


@pytest.mark.parametrize(
    ("assessment", "fired"),
    [
        (Assessment(), []),
        (Assessment(nciss_level=2), []),
        (Assessment(nciss_level=3), ["nciss_high"]),
        (Assessment(pii_individuals=99_999, pii_acts=("exfiltration",)), []),
        (Assessment(pii_individuals=100_000, pii_acts=("access",)), ["pii_100k"]),
        (Assessment(pii_individuals=500_000), []),  # no act named: nothing happened to it
        (Assessment(harms={"economy": {"likely": False, "note": ""}}), []),
        (Assessment(harms={"economy": {"likely": True, "note": "markets"}}), ["demonstrable_harm"]),
        (
            Assessment(
                nciss_level=4,
                pii_individuals=2_000_000,
                pii_acts=("deletion",),
                harms={"civil_liberties": {"likely": True}},
            ),
            ["nciss_high", "pii_100k", "demonstrable_harm"],
        ),
    ],
)
def test_recommendation_names_the_criteria_that_fired(assessment, fired):
    rec = recommend(M_17_05, assessment)
    assert [f["key"] for f in rec.fired] == fired
    assert rec.decision == ("major" if fired else "not_major")


def test_unknown_harm_category_is_named():
    with pytest.raises(CriteriaError, match="unknown harm categories \\['weather'\\]"):
        recommend(M_17_05, Assessment(harms={"weather": {"likely": True}}))


def test_rule_set_in_use_cannot_be_edited_only_superseded(agency_a):
    rs = RuleSetAdoption.objects.get(agency=agency_a).ruleset
    rs.source = "rewritten history"
    with pytest.raises(RuleSetLocked):
        rs.save()
    rule = rs.rules.get(key="supplemental")
    rule.offset_amount = 3
    with pytest.raises(RuleSetLocked):
        rule.save()
    with pytest.raises(RuleSetLocked):
        rule.delete()
    new = ruleset_supersede(
        ruleset=rs,
        version="2",
        effective_from=date(2027, 1, 1),
        changes={"supplemental": {"offset_amount": 10}},
    )
    assert new.supersedes == rs
    assert new.rules.get(key="supplemental").offset_amount == 10
    assert RuleSet.objects.get(pk=rs.pk).rules.get(key="supplemental").offset_amount == 14


def test_adopting_a_new_version_applies_to_incidents_opened_afterwards(agency_a, open_incident):
    old = RuleSetAdoption.objects.get(agency=agency_a).ruleset
    before = open_incident(now=datetime(2026, 12, 1, tzinfo=UTC))
    new = ruleset_supersede(ruleset=old, version="2", effective_from=date(2027, 1, 1))
    RuleSetAdoption.objects.create(
        agency=agency_a, ruleset=new, adopted_at=datetime(2027, 1, 1, tzinfo=UTC)
    )
    after = open_incident(now=datetime(2027, 1, 2, tzinfo=UTC))
    assert (before.ruleset, after.ruleset) == (old, new)


def test_load_ruleset_command_rejects_a_bad_document_by_name(tmp_path, db):
    doc = read_document(RULESET_DIR / "fisma-2014-omb-m-17-05.v1.json")
    doc["version"] = "broken"
    doc["rules"][2]["offset_unit"] = "hours"  # calendar-day counting in hours
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        CommandError, match=r"rules\[2\]: calendar-day counting needs an offset in days"
    ):
        call_command("load_ruleset", str(path))
    assert not RuleSet.objects.filter(version="broken").exists()


def test_load_ruleset_command_is_idempotent(tmp_path, db, capsys):
    doc = read_document(RULESET_DIR / "fisma-2014-omb-m-17-05.v1.json")
    doc["version"] = "test-2"
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(doc))
    call_command("load_ruleset", str(path))
    call_command("load_ruleset", str(path))
    assert RuleSet.objects.filter(version="test-2").count() == 1
    assert "already loaded" in capsys.readouterr().out


def test_malformed_json_is_named(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(RuleSetDocumentError, match=r"bad\.json"):
        read_document(path)
