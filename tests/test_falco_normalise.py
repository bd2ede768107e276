"""Normalising Falco alerts (``incidents.falco``, pure Python): payloads are built from the real
rules in ``../shared/data/falco/*.yaml`` — their priority, tags and output format — rendered the
way Falco renders them with ``json_output: true`` (``tests.support.alerts``)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from incidents import falco

from .support.alerts import POD, TIME, TIME_NS, falco_rule, falco_rules, rule_alert

# --- priority ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("CRITICAL", "Critical"),
        ("critical", "Critical"),
        ("Warning", "Warning"),
        ("info", "Informational"),
        ("INFO", "Informational"),
        ("informational", "Informational"),
        ("Emergency", "Emergency"),
        ("debug", "Debug"),
    ],
)
def test_priority_any_case_and_info(given, expected):
    assert falco.normalise_priority(given) == expected


@pytest.mark.parametrize("given", ["Severe", "", None, 3, "warn"])
def test_unknown_priorities_are_none(given):
    assert falco.normalise_priority(given) is None


def test_rule_files_priorities_all_normalise():
    for rule in falco_rules().values():
        assert falco.normalise_priority(str(rule["priority"]).strip()), rule["rule"]


# --- time -------------------------------------------------------------------------------------


def test_time_keeps_its_nanoseconds():
    when, ns = falco.parse_time(TIME)
    assert ns == TIME_NS
    assert when == datetime(2023, 5, 25, 13, 44, 5, 478445, tzinfo=UTC)
    assert falco.format_ns(ns) == TIME


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2023-05-25T13:44:05Z", 1685022245_000000000),
        ("2023-05-25T13:44:05.5Z", 1685022245_500000000),
        ("2023-05-25T09:44:05.000000001-04:00", 1685022245_000000001),
        ("2023-05-25T15:44:05.478445995+0200", TIME_NS),
        ("1969-12-31T23:59:59.999999999Z", -1),
    ],
)
def test_time_forms(text, ns):
    assert falco.parse_time(text)[1] == ns


@pytest.mark.parametrize(
    "text",
    [
        "2023-05-25T13:44:05",  # no zone: ambiguous
        "2023-13-25T13:44:05Z",
        "2023-02-30T13:44:05Z",
        "2023-05-25T13:44:05.1234567890Z",
        "yesterday",
        "3000-01-01T00:00:00Z",  # beyond nanoseconds in a bigint
        1685022245,
    ],
)
def test_bad_times_are_refused(text):
    with pytest.raises(falco.BadTime):
        falco.parse_time(text)


# --- tags -------------------------------------------------------------------------------------


def test_clear_log_activities_maps_to_attack_and_nist():
    mapped = falco.map_tags(falco_rule("Clear Log Activities")["tags"])
    assert mapped.mitre_tactics == ("TA0005 Defense Evasion",)
    assert mapped.mitre_techniques == ("T1070",)
    assert mapped.control_refs == ("NIST SP 800-53 AU-10",)


def test_rule_with_tactic_id_and_pci_tag():
    mapped = falco.map_tags(falco_rule("Drop and execute new binary in container")["tags"])
    assert mapped.mitre_tactics == ("TA0003 Persistence",)
    assert mapped.control_refs == ("PCI DSS 11.5.1",)


def test_tag_patterns_beyond_the_shipped_rules():
    mapped = falco.map_tags(
        [
            "mitre_command_and_control",
            "TA0011",  # the same tactic once
            "T1546.004",
            "MITRE_T1059.004_unix_shell",
            "MITRE_TA0002_execution",
            "mitre_made_up_tactic",
            "NIST_800-53_CA-9",
            "NIST_800-53_AC-6(9)",
            "NIST_800-190",
            "NIST_800-171_3.1.1",
            "PCI_DSS_10.2.5",
            "SOC2_CC6.1",
            "maturity_stable",
            "container",
        ]
    )
    assert mapped.mitre_tactics == (
        "TA0011 Command and Control",
        "TA0002 Execution",
        "Made Up Tactic",
    )
    assert mapped.mitre_techniques == ("T1546.004", "T1059.004")
    assert mapped.control_refs == (
        "NIST SP 800-53 CA-9",
        "NIST SP 800-53 AC-6(9)",
        "NIST SP 800-190",
        "NIST SP 800-171 3.1.1",
        "PCI DSS 10.2.5",
        "SOC 2 CC6.1",
    )


def test_every_mitre_tag_of_the_rule_files_maps_to_a_known_tactic():
    for rule in falco_rules().values():
        tactics = falco.map_tags(rule.get("tags", [])).mitre_tactics
        for tag in rule.get("tags", []):
            if tag.startswith("mitre_"):
                assert any(t[:6] in falco.ATTACK_TACTICS for t in tactics), (rule["rule"], tag)


# --- normalising ------------------------------------------------------------------------------


def test_terminal_shell_in_container_is_normalised_from_output_fields():
    alert = falco.normalise(rule_alert("Terminal shell in container", container=POD))
    assert alert.kind == "alert"
    assert alert.priority == "Notice"
    assert alert.time_ns == TIME_NS
    assert alert.time.microsecond == 478445
    assert alert.container_id == "ee97d9c4186f"
    assert alert.container_image == "registry.fta.gov/store/frontend:1.4.2"
    assert alert.image_repository == "registry.fta.gov/store/frontend"
    assert (alert.k8s_namespace, alert.k8s_pod) == ("store", "frontend-7d9c-xk2lp")
    assert alert.process_cmdline == "bash -c rm -f /root/.bash_history"
    assert alert.user_name == "root"
    assert alert.mitre_tactics == ["TA0002 Execution"]
    assert alert.mitre_techniques == ["T1059"]
    assert alert.group_key == "pod:store/frontend-7d9c-xk2lp"


def test_shell_history_deletion_on_a_host_groups_by_host():
    alert = falco.normalise(rule_alert("Delete or rename shell history", hostname="db-02"))
    assert alert.priority == "Warning"
    assert alert.file_path == "/root/.bash_history"
    assert alert.group_key == "host:db-02"


def test_the_uuid_and_the_envelope_do_not_change_the_hash():
    alert = rule_alert("Clear Log Activities", container=POD)
    direct = falco.normalise(alert)
    sidekick = falco.normalise({**alert, "uuid": "0f4ac5a4-4bc2-4f0d-9c0e-5f2b86c3b4f7"})
    again = falco.normalise({**alert, "uuid": "c8e2a0b1-0000-4000-8000-000000000001"})
    ui = falco.normalise({"event": {**alert, "uuid": "x"}, "outputs": ["WebUI"]})
    assert direct.content_hash == sidekick.content_hash == again.content_hash == ui.content_hash
    assert "uuid" not in sidekick.raw


def test_a_reserialised_time_with_trailing_zeros_dropped_is_the_same_alert():
    alert = rule_alert("Clear Log Activities", time="2023-05-25T13:44:05.478445990Z")
    go = {**alert, "time": "2023-05-25T13:44:05.47844599Z"}
    assert falco.normalise(alert).content_hash == falco.normalise(go).content_hash


def test_a_different_output_field_is_a_different_alert():
    alert = rule_alert("Clear Log Activities")
    other = json.loads(json.dumps(alert))
    other["output_fields"]["proc.pid"] = 4243
    assert falco.normalise(alert).content_hash != falco.normalise(other).content_hash


def test_falcosidekick_test_event_and_internal_messages_have_their_kind():
    test = {
        "output": "This is a test from falcosidekick",
        "priority": "Debug",
        "rule": "Test rule",
        "time": TIME,
        "hostname": "falcosidekick",
        "tags": ["example", "test"],
        "output_fields": {"proc.name": "falcosidekick", "user.name": "falcosidekick"},
        "source": "syscalls",
    }
    internal = {
        "output": "Falco internal: syscall event drop. 1234 system calls dropped in last second.",
        "priority": "Critical",
        "rule": "Falco internal: syscall event drop",
        "time": TIME,
        "hostname": "web-01",
        "source": "internal",
        "output_fields": {"n_drops": 1234},
    }
    assert falco.normalise(test).kind == "test"
    assert falco.normalise(internal).kind == "internal"
    assert falco.normalise({**test, "hostname": "web-01", "tags": []}).kind == "alert"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda a: a.pop("rule"), "missing required field(s): rule"),
        (lambda a: (a.pop("priority"), a.pop("time")), "missing required field(s): priority, time"),
        (lambda a: a.update(priority="Severe"), "unknown priority 'Severe'"),
        (lambda a: a.update(time="25/05/2023 13:44"), "bad time"),
        (lambda a: a.update(rule=7), "rule must be a non-empty string"),
        (lambda a: a.update(output_fields=[1]), "output_fields must be an object"),
        (lambda a: a.update(tags="container"), "tags must be an array of strings"),
    ],
)
def test_bad_items_are_rejected_with_the_reason(mutate, reason):
    alert = rule_alert("Clear Log Activities")
    mutate(alert)
    with pytest.raises(falco.Rejected, match=re.escape(reason)):
        falco.normalise(alert)


@pytest.mark.parametrize("item", [[1, 2], "alert", 42, None])
def test_items_that_are_not_objects_are_rejected(item):
    with pytest.raises(falco.Rejected, match="not a JSON object"):
        falco.normalise(item)


def test_nul_characters_and_lone_surrogates_are_made_storable():
    alert = rule_alert("Clear Log Activities", fields={"fd.name": "/var/log/a\x00b\ud800"})
    normalised = falco.normalise(alert)
    assert normalised.file_path == "/var/log/a\ufffdb\ufffd"
    assert "\x00" not in json.dumps(normalised.output_fields, ensure_ascii=False)


def test_overlong_values_are_cut_to_their_columns():
    alert = falco.normalise(rule_alert("Clear Log Activities", hostname="h" * 400))
    assert len(alert.hostname) == 255


# --- bodies -----------------------------------------------------------------------------------


def test_body_shapes():
    alert = rule_alert("Clear Log Activities")
    one = json.dumps(alert)
    assert [i.value for i in falco.parse_body(one)] == [alert]
    assert len(falco.parse_body(json.dumps([alert, alert, 5]))) == 3
    ndjson = f"{one}\n\n{one}\n"
    items = falco.parse_body(ndjson, "application/x-ndjson")
    assert [(i.index, i.line) for i in items] == [(0, 1), (1, 3)]
    # Not declared, still recognised by its lines.
    assert len(falco.parse_body(ndjson, "application/json")) == 2


def test_a_bad_line_of_json_lines_is_a_bad_item_not_a_bad_body():
    one = json.dumps(rule_alert("Clear Log Activities"))
    items = falco.parse_body(f"{one}\n{{oops\n{one}")
    assert [bool(i.error) for i in items] == [False, True, False]
    assert items[1].line == 2 and "invalid JSON" in items[1].error


@pytest.mark.parametrize("body", ["", "  \n", "{oops", '{"rule": NaN}', "[1, 2"])
def test_unreadable_bodies(body):
    with pytest.raises(falco.Unreadable):
        falco.parse_body(body)


def test_a_line_separator_inside_a_string_does_not_split_json_lines():
    alert = rule_alert("Clear Log Activities", fields={"fd.name": "/srv/a\u2028b"})
    line = json.dumps(alert, ensure_ascii=False)
    assert len(falco.parse_body(f"{line}\n{line}", "application/x-ndjson")) == 2


# --- attribution ------------------------------------------------------------------------------


def test_attribution_first_match_wins_and_none_means_triage():
    alert = falco.normalise(rule_alert("Terminal shell in container", container=POD))
    web = falco.Selectors(system_id=1, image_repositories=("registry.fta.gov/store",))
    k8s = falco.Selectors(system_id=2, k8s_namespaces=("store",))
    hosts = falco.Selectors(system_id=3, host_patterns=("WEB-*.store.fta.gov",))
    assert falco.attribute(alert, [web, k8s, hosts]) == 1
    assert falco.attribute(alert, [hosts, web]) == 3
    assert falco.attribute(alert, [k8s, web]) == 2
    other = falco.Selectors(system_id=4, image_repositories=("registry.fta.gov/store-front",))
    cluster = falco.Selectors(system_id=5, k8s_clusters=("prod",), k8s_namespaces=("store",))
    assert falco.attribute(alert, [other, cluster]) is None


def test_image_prefix_respects_path_boundaries():
    alert = falco.normalise(rule_alert("Terminal shell in container", container=POD))
    assert not falco.matches(
        falco.Selectors(system_id=1, image_repositories=("registry.fta.gov/sto",)), alert
    )
    assert falco.matches(
        falco.Selectors(system_id=1, image_repositories=("registry.fta.gov/store/",)), alert
    )
