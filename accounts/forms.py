"""The sign-in forms: Django's, saying plainly when the throttle refuses an attempt."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from core.web import client_address

from . import signin


class ThrottledSignInMixin:
    """Before the password is checked, and again after a failure (which may have reached the
    limit), ask the throttle: when it refuses, the only error is how long to wait.
    ``refusal`` is then set (the sign-in view answers 429 with ``Retry-After``)."""

    refusal: signin.Refusal | None = None

    def _refused(self, *, before_check: bool) -> forms.ValidationError | None:
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return None
        address = client_address(self.request)
        self.refusal = signin.wait_for(username=username, address=address, now=timezone.now())
        if self.refusal is None:
            return None
        if before_check:
            signin.log_refusal(username=username, address=address, refusal=self.refusal)
        return forms.ValidationError(self.refusal.message, code="throttled")

    def clean(self):
        refused = self._refused(before_check=True)
        if refused is not None:
            raise refused
        try:
            return super().clean()
        except forms.ValidationError as exc:
            refused = self._refused(before_check=False)
            if refused is not None:
                raise refused from exc
            raise


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    """Docket's sign-in page."""


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """The admin's sign-in page (staff accounts only, as Django's)."""
