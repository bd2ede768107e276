"""The authentication backend: Django's model backend behind the sign-in throttle."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from core.web import client_address

from . import signin


class ThrottledModelBackend(ModelBackend):
    """Username and password, as ``ModelBackend`` checks them, throttled by account and by
    address (``accounts.signin``). Over a limit it raises ``signin.SignInThrottled`` (a
    ``PermissionDenied``): ``authenticate()`` then answers ``None`` without consulting any
    other backend, and the password is not checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        attempt = signin.attempt_begin(
            username=str(username), address=client_address(request), now=timezone.now()
        )
        user = super().authenticate(request, username=username, password=password, **kwargs)
        signin.attempt_end(attempt, succeeded=user is not None)
        return user
