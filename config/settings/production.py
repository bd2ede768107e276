"""Production: every secret and address from the environment, nothing embedded."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/docket")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")

# --- Security -------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind that proxy every request comes from its address: the sign-in throttle takes the
# client's from the X-Forwarded-For entry the proxy appended (0 if nothing is in front).
DOCKET_TRUSTED_PROXY_COUNT = env.int("DOCKET_TRUSTED_PROXY_COUNT", default=1)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
# Checkpoints and packages are signed with the installation key: `check --deploy` fails without
# one (DOCKET_SIGNING_KEY or DOCKET_SIGNING_KEY_FILE); production never creates a key itself.
DOCKET_REQUIRE_SIGNING_KEY = True
DOCKET_SIGNING_KEY_CREATE = False
DOCKET_REQUIRE_MFA = True  # not configurable here: every production user has a second factor

# Evidence on S3-compatible object storage when a bucket is configured (django-storages).
if env("DOCKET_S3_BUCKET", default=""):
    from evidence.storage import s3_storage_options

    STORAGES["default"] = {  # noqa: F405
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3_storage_options(env),
    }
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
