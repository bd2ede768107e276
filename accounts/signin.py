"""Throttling of password sign-in, by account and by network address.

Within any ``DOCKET_SIGNIN_WINDOW_MINUTES`` (default 15), an account may fail
``DOCKET_SIGNIN_FAILURES_PER_ACCOUNT`` times (default 5, from any address) and an address
``DOCKET_SIGNIN_FAILURES_PER_ADDRESS`` times (default 20, whatever the accounts: password
spraying). The attempt after that is refused *without checking the password* until the oldest
of those failures leaves the window, and the person is told how long to wait. A refused
attempt is not itself counted, so waiting the time said always works. A right password clears
the failures of that account from that address. Unknown usernames are throttled like real
ones, so the answer never tells which accounts exist.

The state lives in the database (``SignInFailure``), shared by every web process; each failure
and each refusal is logged (logger ``accounts.signin``). The one check runs in the
authentication backend (``accounts.backends.ThrottledModelBackend``), so every caller of
``django.contrib.auth.authenticate`` is throttled: Docket's sign-in page and the admin's. The
sign-in forms (``accounts.forms``) ask ``wait_for`` to say how long to wait.

Time comes from ``now`` (the backend passes ``timezone.now()``; tests travel with
time-machine). The second factor has its own throttle (django-otp's, per device).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied

from .models import SignInFailure

logger = logging.getLogger(__name__)

USERNAME_MAX = SignInFailure._meta.get_field("username").max_length


def window() -> timedelta:
    return timedelta(minutes=settings.DOCKET_SIGNIN_WINDOW_MINUTES)


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused (``"account"`` or ``"address"``) and for how long."""

    reason: str
    wait: timedelta

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.wait.total_seconds() / 60))

    @property
    def seconds(self) -> int:
        return max(1, math.ceil(self.wait.total_seconds()))

    @property
    def message(self) -> str:
        what = "for this account" if self.reason == "account" else "from your network address"
        unit = "minute" if self.minutes == 1 else "minutes"
        return (
            f"Too many failed sign-in attempts {what}. Wait {self.minutes} {unit}, then try "
            "again. Your password was not checked."
        )


class SignInThrottled(PermissionDenied):
    """Raised by the backend: ``django.contrib.auth.authenticate`` stops at a
    ``PermissionDenied`` and answers "no user" without asking any other backend."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message)
        self.refusal = refusal


def _refusal(username: str, address: str, now: datetime, *, before: int | None) -> Refusal | None:
    """Whether an attempt at ``now`` is refused, counting only the failures (rows) written
    before row ``before`` (all of them when ``None``)."""
    since = now - window()
    failures = SignInFailure.objects.filter(at__gt=since)
    if before is not None:
        failures = failures.filter(pk__lt=before)
    refusals = []
    for reason, limit, lookup in (
        ("account", settings.DOCKET_SIGNIN_FAILURES_PER_ACCOUNT, {"username": username}),
        ("address", settings.DOCKET_SIGNIN_FAILURES_PER_ADDRESS, {"address": address}),
    ):
        if reason == "address" and not address:
            continue
        recent = list(
            failures.filter(**lookup).order_by("-at").values_list("at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            # Free again once the oldest of the last ``limit`` failures leaves the window.
            refusals.append(Refusal(reason=reason, wait=recent[-1] + window() - now))
    return max(refusals, key=lambda r: r.wait, default=None)


def wait_for(*, username: str, address: str, now: datetime) -> Refusal | None:
    """The refusal an attempt now would meet, if any (reads only)."""
    return _refusal(username[:USERNAME_MAX], address, now, before=None)


def log_refusal(*, username: str, address: str, refusal: Refusal) -> None:
    logger.warning(
        "Sign-in refused without checking the password for %r from %s: too many failures "
        "%s; %d s to wait",
        username[:USERNAME_MAX],
        address or "an unknown address",
        "for the account" if refusal.reason == "account" else "from the address",
        refusal.seconds,
    )


def attempt_begin(*, username: str, address: str, now: datetime) -> SignInFailure:
    """Start a password check: refused with ``SignInThrottled`` (and logged) when the account
    or the address is over its limit; else the row that counts this attempt as a failure
    until ``attempt_end`` says it succeeded. The row is written first and only earlier rows
    count, so parallel attempts cannot all slip under the limit together."""
    username = username[:USERNAME_MAX]
    SignInFailure.objects.filter(at__lte=now - window()).delete()
    row = SignInFailure.objects.create(username=username, address=address, at=now)
    refusal = _refusal(username, address, now, before=row.pk)
    if refusal is not None:
        row.delete()  # a refused attempt does not lengthen the wait
        log_refusal(username=username, address=address, refusal=refusal)
        raise SignInThrottled(refusal)
    return row


def attempt_end(row: SignInFailure, *, succeeded: bool) -> None:
    """Finish the check begun with ``attempt_begin``: a failure stays counted and is logged;
    a success clears the account's failures from that address."""
    if succeeded:
        SignInFailure.objects.filter(username=row.username, address=row.address).delete()
        return
    logger.warning(
        "Sign-in failed for %r from %s",
        row.username,
        row.address or "an unknown address",
    )
