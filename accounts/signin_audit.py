"""Sign-in, its failures, the second factor and sign-out in the audit trail (PCI DSS 10.2.1.4,
10.2.1.5; NIST AU-2): Django's authentication signals, connected in ``AccountsConfig.ready``.

An act of a person is recorded on the chain of each agency they hold a role in (the people
who audit that agency see who came in); a person of no agency, or a username that does not
exist, on the installation's chain. The password is never recorded; the username tried is.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from audit.trail import record, record_refusal

from .models import Membership


def _agencies(user) -> list:
    if user is None or getattr(user, "pk", None) is None:
        return [None]
    ids = sorted(set(Membership.objects.filter(user=user).values_list("agency_id", flat=True)))
    return ids or [None]


def _subject(user) -> dict:
    return {
        "subject_type": "auth.User",
        "subject_id": user.pk,
        "subject_ref": user.get_username(),
    }


def signed_in(sender, request, user, **kwargs) -> None:
    for agency in _agencies(user):
        record("sign_in", agency=agency, actor=user, **_subject(user))


def signed_out(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    for agency in _agencies(user):
        record("sign_out", agency=agency, actor=user, **_subject(user))


def sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", "") or "")[:150]
    user = get_user_model()._default_manager.filter(username=username).first()
    for agency in _agencies(user):
        record_refusal(
            "sign_in_failed",
            agency=agency,
            actor=user,
            subject_type="auth.User",
            subject_id=user.pk if user is not None else None,
            subject_ref=username,
            reason="Wrong username or password, or too many failed attempts.",
        )


def second_factor_failed(user) -> None:
    """The code of the second factor did not match (called by the verification pages)."""
    for agency in _agencies(user):
        record_refusal(
            "second_factor_failed",
            agency=agency,
            actor=user,
            reason="The authenticator code did not match.",
            **_subject(user),
        )
