"""`make test`: PostgreSQL (DATABASE_URL), mail kept in memory, fast password hashing."""

from core.signing import generate_private_pem

from .base import *  # noqa: F403
from .base import env

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/docket"),
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
# Static files are not collected for tests; WhiteNoise would warn about the missing folder.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405

# MFA is exercised by its own tests (settings override); other page tests sign in directly.
DOCKET_REQUIRE_MFA = False

# A signing key made for this test session (never one on disk); tests of key files override it.
DOCKET_SIGNING_KEY = generate_private_pem()
DOCKET_SIGNING_KEY_FILE = ""
DOCKET_SIGNING_TRUSTED_KEYS = ""
