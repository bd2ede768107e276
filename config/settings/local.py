"""`make run`: embedded defaults (SQLite, filesystem broker), mail on the console.

Debug is off unless asked for (`DJANGO_DEBUG=true make run`): with it on, every 404 lists the
URL patterns and every error shows settings and local variables. Static files are served by
WhiteNoise either way, from the source folders (no stale collected copy after an edit)."""

from core.run_address import run_host

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
WHITENOISE_USE_FINDERS = True
# The host DOCKET_RUN_ADDRESS names (scripts/run.sh) is one this server answers to; for an
# address that listens everywhere (0.0.0.0:8000) name the hosts in DJANGO_ALLOWED_HOSTS.
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=list(dict.fromkeys(["127.0.0.1", "localhost", *filter(None, [run_host()])])),
)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Mail printed by the console backend inside the worker is information, not a warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
# The embedded demo lets people in without a second factor (the sign-in page says so);
# set DOCKET_REQUIRE_MFA=true to try enrolment.
DOCKET_REQUIRE_MFA = env.bool("DOCKET_REQUIRE_MFA", default=False)
# The signing key of audit checkpoints and packages: var/signing-key.pem, created (mode 0600)
# on first use, never overwritten; DOCKET_SIGNING_KEY or DOCKET_SIGNING_KEY_FILE name another.
DOCKET_SIGNING_KEY_FILE = env("DOCKET_SIGNING_KEY_FILE", default=str(VAR_DIR / "signing-key.pem"))  # noqa: F405
DOCKET_SIGNING_KEY_CREATE = True
