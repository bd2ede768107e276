"""Password sign-in is throttled by account and by address, says how long to wait, logs each
failure, and never checks a password while refused. Time travels with time-machine.

Defaults: 5 failures per account and 20 per address within 15 minutes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import Client

from accounts.models import SignInFailure

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
RIGHT = "correct horse battery"  # tests/factories.py


def _post(client, username, password, *, url="/accounts/login/", address="203.0.113.7", **extra):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_an_account_is_refused_after_five_failures_until_the_window_passes(client, carol):
    with time_machine.travel(T0, tick=False) as clock:
        for n in range(5):
            response = _post(client, "carol", "wrong password")
            assert response.status_code == (200 if n < 4 else 429)
            clock.shift(timedelta(seconds=3))
        # The sixth attempt, even with the right password, is refused and says how long.
        refused = _post(client, "carol", RIGHT)
        assert refused.status_code == 429
        assert refused["Retry-After"] == str(15 * 60 - 15)
        text = refused.content.decode()
        assert "Too many failed sign-in attempts for this account" in text
        assert "Wait 15 minutes" in text
        assert not _signed_in(client)

        clock.shift(timedelta(minutes=14, seconds=47))  # the first failure is 15 min old + 2 s
        assert _post(client, "carol", RIGHT).status_code == 302
        assert _signed_in(client)


def test_the_fifth_failure_already_says_how_long_to_wait(client, carol):
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            assert "did not match" in _post(client, "carol", "nope").content.decode()
        fifth = _post(client, "carol", "nope")
    assert fifth.status_code == 429
    assert "Wait 15 minutes, then try again" in fifth.content.decode()


def test_a_refused_attempt_does_not_lengthen_the_wait(client, carol):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            _post(client, "carol", "nope")
        for _ in range(10):  # hammering while refused
            clock.shift(timedelta(minutes=1))
            assert _post(client, "carol", "nope").status_code == 429
        assert SignInFailure.objects.filter(username="carol").count() == 5
        clock.shift(timedelta(minutes=5, seconds=1))
        assert _post(client, "carol", RIGHT).status_code == 302


def test_the_password_is_not_checked_while_refused(carol, monkeypatch):
    from django.contrib.auth.backends import ModelBackend

    checked = []
    original = ModelBackend.authenticate

    def spy(self, request, **kwargs):
        checked.append(kwargs.get("username"))
        return original(self, request, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", spy)
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            assert authenticate(None, username="carol", password="nope") is None
        assert len(checked) == 5
        assert authenticate(None, username="carol", password=RIGHT) is None
    assert len(checked) == 5


def test_an_address_is_refused_after_twenty_failures_across_accounts(carol, olivia):
    client = Client()
    with time_machine.travel(T0, tick=False):
        for n in range(20):  # password spraying: one try each at many names
            assert _post(client, f"user{n}", "Spring2026!").status_code in (200, 429)
        refused = _post(client, "olivia", RIGHT)
        assert refused.status_code == 429
        assert "from your network address" in refused.content.decode()
        # Another address is not affected, nor is olivia's account.
        other = Client()
        assert _post(other, "olivia", RIGHT, address="198.51.100.9").status_code == 302


def test_unknown_usernames_are_throttled_like_real_ones(client):
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            _post(client, "nobody", "nope")
        assert _post(client, "nobody", "nope").status_code == 429


def test_a_right_password_clears_that_addresss_failures_of_the_account(client, carol):
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            _post(client, "carol", "nope")
        _post(client, "carol", "nope", address="192.0.2.50")  # someone else, elsewhere
        assert _post(client, "carol", RIGHT).status_code == 302
        client.logout()
        assert list(SignInFailure.objects.values_list("address", flat=True)) == ["192.0.2.50"]
        for _ in range(3):
            assert _post(client, "carol", "nope").status_code == 200
        assert _post(client, "carol", "nope").status_code == 429  # the fifth within the window


def test_the_admin_sign_in_is_throttled_too(client, adam):
    adam.is_staff = True
    adam.save()
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            _post(client, "adam", "nope", url="/admin/login/")
        refused = _post(client, "adam", RIGHT, url="/admin/login/")
    assert "Too many failed sign-in attempts for this account" in refused.content.decode()
    assert not _signed_in(client)


def test_each_failure_and_each_refusal_is_logged(client, carol, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.signin")
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            _post(client, "carol", "nope")
        _post(client, "carol\nforged log line", "nope")
        _post(client, "carol", RIGHT)
    failures = [r for r in caplog.records if "Sign-in failed" in r.getMessage()]
    assert len(failures) == 6
    assert "'carol' from 203.0.113.7" in failures[0].getMessage()
    assert "\n" not in failures[5].getMessage(), "usernames are logged escaped"
    refusals = [r for r in caplog.records if "Sign-in refused" in r.getMessage()]
    assert len(refusals) == 1


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, carol, settings):
    settings.DOCKET_TRUSTED_PROXY_COUNT = 1
    with time_machine.travel(T0, tick=False):
        for n in range(20):
            _post(
                client,
                f"user{n}",
                "nope",
                address="10.0.0.2",  # the proxy
                HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.7",  # forged entry, then the real
            )
        assert (
            _post(
                client, "carol", RIGHT, address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7"
            ).status_code
            == 429
        )
        # Everyone else behind the same proxy still signs in.
        assert (
            _post(
                Client(), "carol", RIGHT, address="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4"
            ).status_code
            == 302
        )
