"""Security of the pages: a second factor, idle time-out, CSP with nonces, CSRF."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import RequireSecondFactorMiddleware


@pytest.fixture
def mfa_on(settings):
    settings.DOCKET_REQUIRE_MFA = True
    # django-otp throttles after a wrong code (1 s, doubling); these tests follow a wrong code
    # with the right one at once. Throttling itself is tested below.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    return settings


def _sign_in(client, username):
    return client.post(
        "/accounts/login/", {"username": username, "password": "correct horse battery"}
    )


def _code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_without_a_device_sign_in_leads_to_enrolment(client, carol, mfa_on):
    _sign_in(client, "carol")
    response = client.get("/deadlines/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/setup/"
    page = client.get("/accounts/mfa/setup/")
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=carol, confirmed=False)
    assert (
        client.post(
            "/accounts/mfa/setup/", {"token": "000000" if _code(device) != "000000" else "111111"}
        ).status_code
        == 400
    )
    response = client.post("/accounts/mfa/setup/", {"token": _code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_with_a_device_the_code_is_asked_every_sign_in(client, carol, mfa_on):
    device = TOTPDevice.objects.create(user=carol, name="phone", confirmed=True)
    _sign_in(client, "carol")
    assert client.get("/incidents/")["Location"] == "/accounts/mfa/verify/"
    assert client.get("/api/v1/incidents/").status_code == 302  # session API use too
    wrong = client.post("/accounts/mfa/verify/", {"token": "12345"})
    assert wrong.status_code == 400
    assert b"did not match" in wrong.content
    assert client.post("/accounts/mfa/verify/", {"token": _code(device)}).status_code == 302
    assert client.get("/api/v1/incidents/").status_code == 200


def test_token_api_clients_are_not_sent_to_the_mfa_page(client, carol, mfa_on):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=carol)
    response = client.get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_sign_in_page_says_when_the_second_factor_is_optional(client, settings):
    settings.DOCKET_REQUIRE_MFA = False
    assert b"second factor is optional" in client.get("/accounts/login/").content
    settings.DOCKET_REQUIRE_MFA = True
    assert b"second factor is optional" not in client.get("/accounts/login/").content


def test_wrong_codes_are_throttled(client, carol, settings):
    settings.DOCKET_REQUIRE_MFA = True
    device = TOTPDevice.objects.create(user=carol, name="phone", confirmed=True)
    _sign_in(client, "carol")
    client.post("/accounts/mfa/verify/", {"token": "000000" if _code(device) != "000000" else "1"})
    # Right code, but straight after a wrong one: refused until the back-off has passed.
    assert client.post("/accounts/mfa/verify/", {"token": _code(device)}).status_code == 400


def test_mfa_pages_are_the_only_ones_allowed_before_verification():
    assert {
        "mfa-setup",
        "mfa-verify",
        "logout",
        "login",
    } == RequireSecondFactorMiddleware.ALLOWED_NAMES


def test_idle_sessions_expire_after_the_configured_time(client, carol, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    client.force_login(carol)
    client.get("/accounts/login/")
    assert client.session.get_expiry_age() <= 30 * 60


def test_pages_carry_a_nonce_based_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    scripts = re.findall(rb"<script[^>]*>", response.content)
    assert scripts, "the page has scripts"
    assert all(f'nonce="{nonce}"'.encode() in tag for tag in scripts)
    assert b"style=" not in response.content


def test_forms_refuse_posts_without_csrf_token(carol):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(carol)
    assert client.post("/agency/", {"agency": "FTA"}).status_code == 403
