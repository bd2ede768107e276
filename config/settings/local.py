"""`make run`: embedded defaults (SQLite, filesystem broker), debug on, mail on the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Mail printed by the console backend inside the worker is information, not a warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
# The embedded demo lets people in without a second factor (the sign-in page says so);
# set DOCKET_REQUIRE_MFA=true to try enrolment.
DOCKET_REQUIRE_MFA = env.bool("DOCKET_REQUIRE_MFA", default=False)
