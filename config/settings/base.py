"""Settings shared by every environment. Values that differ come from the environment
(django-environ); the defaults are the embedded ones that ``make run`` uses."""

import os
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("DOCKET_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("DJANGO_SECRET_KEY", default="docket-embedded-development-key-not-for-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_fsm",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "accounts",
    "audit",
    "compliance",
    "incidents",
    "reporting",
    "evidence",
    "packages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Who acts, from where, with which request id (audit.context), for every entry written.
    "audit.middleware.AuditContextMiddleware",
    "accounts.middleware.RequireSecondFactorMiddleware",
    "accounts.middleware.AgencyContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.agency",
            ],
        },
    },
]

# Embedded default: one SQLite file. WAL and IMMEDIATE transactions let the web server, the
# worker and beat write to it at once without "database is locked".
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'docket.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Stored and computed in UTC; shown in the agency's own zone (accounts.Agency.time_zone).
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# USWDS and htmx come from npm (package.json; `make` runs `npm ci`) and are served as they are
# built upstream; our own small CSS and JS live in static/docket.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("uswds", NODE_MODULES / "@uswds" / "uswds" / "dist"),
    ("htmx", NODE_MODULES / "htmx.org" / "dist"),
]
# Evidence files (django-storages S3 in production when DOCKET_S3_BUCKET is set).
MEDIA_ROOT = env("DOCKET_MEDIA_ROOT", default=str(VAR_DIR / "media"))
DOCKET_EVIDENCE_MAX_BYTES = env.int("DOCKET_EVIDENCE_MAX_BYTES", default=10 * 1024**3)
DOCKET_EVIDENCE_MAX_DECOMPRESSED_BYTES = env.int(
    "DOCKET_EVIDENCE_MAX_DECOMPRESSED_BYTES", default=4 * 1024**3
)
# Risk assessment reports and other compliance documents (same storage as evidence).
DOCKET_DOCUMENT_MAX_BYTES = env.int("DOCKET_DOCUMENT_MAX_BYTES", default=100 * 1024**2)
# Multipart files above 2.5 MiB go to temporary files, never memory; the raw PUT upload reads
# the request stream in chunks. The temporary folder must have room for the largest upload.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = env("DOCKET_UPLOAD_TEMP_DIR", default=None)
# Django's two handlers, behind one that keeps each file's name as the client sent it
# (evidence.multipart): evidence names are refused with a reason, never rewritten.
FILE_UPLOAD_HANDLERS = [
    "evidence.multipart.SentNameUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "login"
# Password sign-in is throttled by account and by address (accounts/signin.py): within
# DOCKET_SIGNIN_WINDOW_MINUTES an account may fail DOCKET_SIGNIN_FAILURES_PER_ACCOUNT times and
# an address DOCKET_SIGNIN_FAILURES_PER_ADDRESS times; the next attempt waits. The address is
# REMOTE_ADDR, or behind DOCKET_TRUSTED_PROXY_COUNT proxies the one X-Forwarded-For names.
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
DOCKET_SIGNIN_WINDOW_MINUTES = env.int("DOCKET_SIGNIN_WINDOW_MINUTES", default=15)
DOCKET_SIGNIN_FAILURES_PER_ACCOUNT = env.int("DOCKET_SIGNIN_FAILURES_PER_ACCOUNT", default=5)
DOCKET_SIGNIN_FAILURES_PER_ADDRESS = env.int("DOCKET_SIGNIN_FAILURES_PER_ADDRESS", default=20)
DOCKET_TRUSTED_PROXY_COUNT = env.int("DOCKET_TRUSTED_PROXY_COUNT", default=0)
# Second factor (TOTP through django-otp). Required in production; the embedded demo of
# `make run` may leave it optional, and its sign-in page says so.
DOCKET_REQUIRE_MFA = env.bool("DOCKET_REQUIRE_MFA", default=True)
OTP_TOTP_ISSUER = "Docket"
# Idle sessions end after 30 minutes (NIST AC-12); every request renews the window.
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content-Security-Policy (django-csp): our own origin only, scripts only with the nonce.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.drf.InAgency"],
    # DRF's own, except JSON read with a nesting limit (core.safejson).
    "DEFAULT_PARSER_CLASSES": [
        "accounts.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Docket API",
    "DESCRIPTION": (
        "Incidents, major-incident determinations and the statutory reporting clocks. "
        "Every request acts within one agency: send `X-Docket-Agency: <ABBR>` when your "
        "account has roles in more than one."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI served from our own static files (no CDN: CSP and closed networks).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DecisionEnum": "incidents.models.determination.Decision",
        "EvidenceKindEnum": "evidence.models.evidence.Kind",
        "EventKindEnum": "incidents.models.event.EVENT_KIND_CHOICES",
        "AssessmentStatusEnum": "compliance.models.assessment.AssessmentStatus",
        "AssessmentMethodEnum": "compliance.models.assessment.AssessmentMethod",
        "IncidentStateEnum": "incidents.models.incident.State",
        "ReportStateEnum": "reporting.models.report.ReportState",
        "ReportKindEnum": "reporting.models.report.REPORT_KIND_CHOICES",
        "JobStateEnum": "core.jobs.JobState",
    },
}

# Celery. Embedded default: kombu's filesystem transport under var/broker, so `make run`
# needs no server. Production: CELERY_BROKER_URL=redis://… or amqp://…
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_IMPORTS = ("core.jobs",)  # the job sweep lives in core, which is not an app
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "send-deadline-reminders": {
        "task": "reporting.tasks.send_due_reminders",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 300},
    },
    # Every stored evidence file is re-hashed against its recorded SHA-256 once a day.
    "verify-evidence-daily": {
        "task": "evidence.tasks.verify_evidence",
        "schedule": timedelta(days=1),
    },
    # The head of every audit and custody chain that moved is signed (audit.Checkpoint)…
    "checkpoints-hourly": {
        "task": "reporting.tasks.make_checkpoints",
        "schedule": timedelta(hours=1),
        "options": {"expires": 1800},
    },
    # …and every chain is checked against them (and every due time against its rule) once a
    # day; the agency administrators are mailed any break.
    "verify-integrity-daily": {
        "task": "reporting.tasks.verify_integrity",
        "schedule": timedelta(days=1),
    },
    # Durable jobs (snapshots, capture decoding) whose broker message was lost are queued again.
    "job-sweep": {
        "task": "core.jobs.sweep",
        "schedule": timedelta(minutes=2),
        "options": {"expires": 100},
    },
    # Access ends at a grant's valid_until by itself; this writes each expiry to the trail once.
    "auditor-grant-expiries": {
        "task": "incidents.tasks.record_grant_expiries",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
    # Grouping runs after each ingest commit; this sweep catches anything a lost message left.
    "group-detections-sweep": {
        "task": "incidents.tasks.group_detections",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# A reminder's transaction is open while its mail is sent: never wait long on SMTP.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="docket@localhost")

# Reporting clocks. Reminder thresholds before the due time, as hours (0 = at due); after the
# due time a reminder goes out every DOCKET_OVERDUE_REMINDER_HOURS while the obligation is open.
DOCKET_REMINDER_THRESHOLDS_HOURS = env.list(
    "DOCKET_REMINDER_THRESHOLDS_HOURS", cast=float, default=[72, 24, 4, 1, 0]
)
DOCKET_OVERDUE_REMINDER_HOURS = env.float("DOCKET_OVERDUE_REMINDER_HOURS", default=24)
# An obligation is "due soon" within this many hours of its due time.
DOCKET_DUE_SOON_HOURS = env.float("DOCKET_DUE_SOON_HOURS", default=24)
# Detections: the largest (decompressed) ingest body, and the window that groups detections of
# one system and pod/container into one incident candidate.
DOCKET_INGEST_MAX_BYTES = env.int("DOCKET_INGEST_MAX_BYTES", default=10 * 1024 * 1024)
DOCKET_CANDIDATE_WINDOW_MINUTES = env.int("DOCKET_CANDIDATE_WINDOW_MINUTES", default=10)
# Grouping runs this many seconds after an ingest commit; commits of one web process within
# half of it share that one task (0: one task per commit, at once).
DOCKET_GROUPING_DELAY_SECONDS = env.float("DOCKET_GROUPING_DELAY_SECONDS", default=2)
# Durable jobs (snapshots, capture decoding) waiting longer than this are queued again by the sweep.
DOCKET_JOB_STALE_SECONDS = env.int("DOCKET_JOB_STALE_SECONDS", default=300)
# An evidence package build may run this long before another worker may take the job over.
DOCKET_PACKAGE_BUILD_TIMEOUT_SECONDS = env.int(
    "DOCKET_PACKAGE_BUILD_TIMEOUT_SECONDS", default=6 * 3600
)
# The rule set every new agency adopts unless told otherwise (name, version).
# Auditor grants are time-boxed: the window a grant gets unless the grantor sets one, and the
# longest window allowed.
DOCKET_AUDITOR_GRANT_DEFAULT_DAYS = env.int("DOCKET_AUDITOR_GRANT_DEFAULT_DAYS", default=30)
DOCKET_AUDITOR_GRANT_MAX_DAYS = env.int("DOCKET_AUDITOR_GRANT_MAX_DAYS", default=366)
# The installation's Ed25519 signing key (core.signing): PEM text, or the path of a PEM file.
# Earlier public keys (after a rotation) listed in DOCKET_SIGNING_TRUSTED_KEYS still verify.
DOCKET_SIGNING_KEY = env("DOCKET_SIGNING_KEY", default="")
DOCKET_SIGNING_KEY_FILE = env("DOCKET_SIGNING_KEY_FILE", default="")
DOCKET_SIGNING_KEY_CREATE = False  # only `make run` creates a key on first use
DOCKET_SIGNING_TRUSTED_KEYS = env("DOCKET_SIGNING_TRUSTED_KEYS", default="")
DOCKET_REQUIRE_SIGNING_KEY = False  # production: the deploy check fails without a key
# The installation's name on the first line of every signed checkpoint.
DOCKET_CHECKPOINT_ORIGIN = env("DOCKET_CHECKPOINT_ORIGIN", default="docket")
DOCKET_DEFAULT_RULESET = ("FISMA 2014 / OMB M-17-05", "1")

# The calendar feed's secret is its URL path: every log that could name a path redacts it
# (config/log_redaction.py; gunicorn's logs through config/gunicorn.py). django.server is
# Django's own development-server handler again, with the filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "config.log_redaction.RedactSecrets"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
    },
    "loggers": {
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["redact_secrets"]},
        # WeasyPrint's progress lines and pikepdf's start-up note say nothing an operator
        # needs; their warnings and errors still show (and an ERROR fails a report render).
        "weasyprint": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "pikepdf": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
