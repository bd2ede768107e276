"""Indicators of compromise are checked against their type (issue 12, defect 9): ``zzz`` is no
SHA-256 and a host name no IPv4 address. Every path that records one (the API, the services
the pages and commands use, the demo) refuses a malformed value, saying what was wrong."""

from datetime import UTC, datetime

import pytest

from core.errors import InvalidInput
from incidents.indicators import problem
from incidents.models import EventKind, Incident, Indicator, IndicatorType
from incidents.services import incident_open, indicator_add

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)

GOOD = [
    ("ipv4", "198.51.100.23"),
    ("ipv4", "203.0.113.0/24"),
    ("ipv6", "2001:db8::7"),
    ("domain", "casemgmt-demo-gov.example.net"),
    ("domain", "bücher.example"),
    ("url", "http://198.51.100.23/kit/rk.tar.gz.b64"),
    ("url", "https://evil.example:8443/x?y=1"),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("sha1", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("file_path", "/var/www/uploads/gallery/thumb.php"),
    ("file_path", "C:\\Windows\\Temp\\x.exe"),
    ("email", "helpdesk@casemgmt-demo-gov.example.net"),
    ("container_image", "registry.demo.example.gov/store/store-frontend-ping-php:1.4.2"),
    ("container_image", "localhost:5000/store/web@sha256:" + "a" * 64),
    ("process", "shred -f /var/www/.bash_history"),
    ("user_account", "NT AUTHORITY\\SYSTEM"),
    ("other", "anything at all"),
]

BAD = [
    ("sha256", "zzz", "not a SHA-256 hash: expected 64 hexadecimal digits"),
    ("sha256", "d41d8cd98f00b204e9800998ecf8427e", "found 32 (the length of an MD5 hash)"),
    ("sha1", "g" * 40, "not a SHA-1 hash"),
    ("md5", "abc", "not an MD5 hash"),
    ("ipv4", "evil.example", "is a domain name, not an IPv4 address"),
    ("ipv4", "256.1.1.1", "not an IPv4 address"),
    ("ipv4", "2001:db8::7", "is an IPv6 address, not an IPv4 address"),
    ("ipv6", "198.51.100.23", "is an IPv4 address, not an IPv6 address"),
    ("domain", "zzz", "at least two labels"),
    ("domain", "198.51.100.23", "it is an IP address"),
    ("domain", "http://evil.example/", "holds a '/'"),
    ("domain", "-bad.example", "may not begin or end with '-'"),
    ("url", "evil.example/kit.tgz", "not a URL: expected a scheme and a host"),
    ("url", "http://evil.example:99999/", "Port out of range"),
    ("email", "helpdesk", "not an email address"),
    ("file_path", "thumb.php", "not a file path: give the whole path"),
    ("container_image", "Store/Frontend:1.4", "not a container image reference"),
    ("process", "bash\x00-i", "control or formatting character U+0000"),
    ("user_account", "www-data\u202e", "control or formatting character U+202E"),
    ("other", "   ", "needs a value"),
]


def test_every_indicator_type_has_a_rule_tested_here():
    assert {t for t, _ in GOOD} == set(IndicatorType.values)


@pytest.mark.parametrize(("type_", "value"), GOOD)
def test_well_formed_indicators_pass(type_, value):
    assert problem(type_, value) is None


@pytest.mark.parametrize(("type_", "value", "words"), BAD)
def test_malformed_indicators_say_what_is_wrong(type_, value, words):
    assert words in problem(type_, value)


def test_the_api_refuses_zzz_as_a_sha256(api, alice, open_incident):
    incident = open_incident(now=NOW)
    response = api(alice).post(
        f"/api/v1/incidents/{incident.number}/indicators/",
        {"type": "sha256", "value": "zzz"},
        format="json",
    )
    assert response.status_code == 400
    assert "not a SHA-256 hash" in response.json()["value"][0]
    assert not Indicator.objects.exists()
    assert not incident.events.filter(kind=EventKind.INDICATOR).exists()


def test_opening_an_incident_with_a_hostname_as_ipv4_is_refused_whole(api, alice, web_system):
    response = api(alice).post(
        "/api/v1/incidents/",
        {
            "title": "Shell in store-frontend",
            "systems": [web_system.pk],
            "indicators": [
                {"type": "url", "value": "http://evil.example/rootkit.tgz"},
                {"type": "ipv4", "value": "evil.example"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["indicators"]  # by position: only the second is wrong
    assert list(errors) == ["1"]
    assert "is a domain name, not an IPv4 address" in errors["1"]["value"][0]
    assert not Incident.objects.exists()


def test_the_service_refuses_a_malformed_indicator_naming_the_value(
    ctx, alice, agency_a, open_incident
):
    incident = open_incident(now=NOW)
    with pytest.raises(InvalidInput, match="is a domain name, not an IPv4 address") as caught:
        indicator_add(
            ctx=ctx(alice, agency_a), incident=incident, type="ipv4", value="evil.example"
        )
    assert caught.value.extra["field"] == "value"
    assert not Indicator.objects.exists()


def test_opening_through_the_service_stores_nothing_when_an_indicator_is_malformed(
    ctx, alice, agency_a, web_system
):
    with pytest.raises(InvalidInput, match="not a SHA-256 hash"):
        incident_open(
            ctx=ctx(alice, agency_a),
            title="Shell",
            systems=[web_system.pk],
            indicators=[{"type": "sha256", "value": "zzz"}],
            now=NOW,
        )
    assert not Incident.objects.exists()
