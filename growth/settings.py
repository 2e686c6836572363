"""Growth settings: everything that differs between machines comes from the environment.

See the configuration table in README.md. Unset `DATABASE_URL` / `REDIS_URL` mean the
embedded PostgreSQL and Redis of `growth/devservices.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from growth import devservices

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Production mode (DEBUG off) never runs on a made-up key: stop with one clear line.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        sys.exit(
            "Growth cannot start: the SECRET_KEY environment variable is not set "
            "(required when DEBUG is off; see .env.example)."
        )
    SECRET_KEY = "growth-insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "csp",
    "growth.apps.GrowthConfig",
    "leads.apps.LeadsConfig",
    "automations.apps.AutomationsConfig",
    "cadences.apps.CadencesConfig",
    "analytics.apps.AnalyticsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "growth.middleware_security.PermissionsPolicyMiddleware",
    "growth.middleware_db.DatabaseDownMiddleware",  # the 503 page when the database is down
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "growth.middleware_language.UserLanguageMiddleware",  # the user's language over the browser's
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = env.str("ROOT_URLCONF", default="growth.urls")
WSGI_APPLICATION = "growth.wsgi.application"
AUTH_USER_MODEL = "growth.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "growth.context_processors.navigation",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------

DATABASE_URL = env.str("DATABASE_URL", default="") or devservices.postgres_start()
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Statements bound and prepared on the server (psycopg), opt-in: after its 5th run on a
# connection a statement skips parsing and, where PostgreSQL finds a generic plan as good,
# planning (queue claims: ≈ 35 % less PostgreSQL CPU; bench/README.md). Off by default, as in
# Django: generic plans are not re-checked for every parameter, and PgBouncer in transaction
# mode keeps prepared statements only from 1.21 on, with max_prepared_statements set.
DATABASE_OPTIONS = {
    "server_side_binding": env.bool("DATABASE_SERVER_SIDE_BINDING", default=False),
    "prepare_threshold": env.int("DATABASE_PREPARE_THRESHOLD", default=0) or None,
}
DATABASES["default"].setdefault("OPTIONS", {}).update(DATABASE_OPTIONS)
# A streaming read replica the dashboards read from (growth/replica.py); unset: the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"].setdefault("OPTIONS", {}).update(DATABASE_OPTIONS)
    # Tests read the test database through it: there is no test replica to create.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["growth.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="") or devservices.redis_start()

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "growth",
    }
}

# --- Celery ------------------------------------------------------------------------------


def _broker_url(url: str) -> str:
    # kombu spells a Unix-socket Redis "redis+socket://"; redis-py and Django say "unix://".
    return "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url


CELERY_BROKER_URL = _broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = _broker_url(REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only once it has finished, and a worker that dies mid-task hands
# it back to the queue: tasks are idempotent, so running twice beats running never.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longer than any task may run, so acks_late never re-delivers a task still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Keep workers' database connections between tasks (Celery would open one per task, which
# made each message send pay a connection; bench/README.md, messaging-dispatch).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1_000_000)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "beat-tick": {"task": "growth.tasks.beat_tick", "schedule": 10.0, "options": {"expires": 10}},
    "inbound-sweep": {"task": "leads.inbound_sweep", "schedule": 30.0, "options": {"expires": 30}},
    # Lifecycle windows (at risk, churned, idle MQL/SQL fall back): days-long, so hourly is plenty.
    "lifecycle-windows": {
        "task": "leads.lifecycle_windows",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    # Scores decay a little every day: recompute them all at night (03:15 UTC).
    "score-recompute-nightly": {
        "task": "leads.score_recompute_nightly",
        "schedule": crontab(minute=15, hour=3),
        "options": {"expires": 3600},
    },
    # Segments: rules "in the last N days" drift with the clock; RFM and all segments daily.
    "segments-refresh": {
        "task": "leads.segments_refresh",
        "schedule": 600.0,
        "options": {"expires": 600},
    },
    # Messages due now go out within a second or two; SKIP LOCKED makes doubled beats harmless.
    "deliveries-dispatch": {
        "task": "automations.deliveries_dispatch",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    # Journey runs whose wait is over; runs that just started are kicked at once too.
    "journeys-dispatch": {
        "task": "automations.journeys_dispatch",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    # Cadences: automatic steps that fell due, and the speed-to-lead SLA.
    "cadence-steps-dispatch": {
        "task": "cadences.steps_dispatch",
        "schedule": 2.0,
        "options": {"expires": 10},
    },
    # Dashboards: recompute the days and customers that changed since the last refresh.
    "analytics-rollups-refresh": {
        "task": "analytics.rollups_refresh",
        "schedule": 10.0,
        "options": {"expires": 10},
    },
    # Predictive CLV: refit on the day's data at night.
    "analytics-clv-fit": {
        "task": "analytics.clv_fit",
        "schedule": crontab(minute=45, hour=3),
        "options": {"expires": 3600},
    },
    "cadence-sla-sweep": {
        "task": "cadences.sla_sweep",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "journeys-dates": {
        "task": "automations.journeys_dates",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "deliveries-recover-stuck": {
        "task": "automations.deliveries_recover_stuck",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # Outbound webhooks: claim due rows (new events, retries whose backoff is over).
    "webhooks-dispatch": {
        "task": "automations.webhooks_dispatch",
        "schedule": 2.0,
        "options": {"expires": 10},
    },
    # Retention: processed raw inbound deliveries and old events go, in batches (02:30 UTC).
    "retention-nightly": {
        "task": "growth.retention_run",
        "schedule": crontab(minute=30, hour=2),
        "options": {"expires": 3600},
    },
}
# How often a worker writes its heartbeat, and when /healthz calls it gone.
WORKER_HEARTBEAT_INTERVAL = env.float("WORKER_HEARTBEAT_INTERVAL", default=10.0)
WORKER_HEARTBEAT_MAX_AGE = env.float("WORKER_HEARTBEAT_MAX_AGE", default=60.0)
# Data retention (days; 0 keeps for ever): processed raw inbound deliveries (failed ones are
# dead letters and always stay) and events (the dashboards' rollups keep their history).
RETENTION_INBOUND_DAYS = env.int("RETENTION_INBOUND_DAYS", default=90)
RETENTION_EVENTS_DAYS = env.int("RETENTION_EVENTS_DAYS", default=730)
# Bearer token Prometheus sends to GET /metrics (empty: only signed-in admins may read it).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Largest contacts/orders CSV the import page accepts (a 1 M-row Shopify export is ~75 MB).
CSV_IMPORT_MAX_MB = env.int("CSV_IMPORT_MAX_MB", default=200)

# The demo storefront page (make demo turns it on; off everywhere else).
DEMO_SHOP = env.bool("DEMO_SHOP", default=False)

# --- Auth --------------------------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security ----------------------------------------------------------------------------

HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes talk plain HTTP inside the network
# HSTS only over HTTPS (a browser would refuse plain-HTTP localhost for a year otherwise).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# Signed in for a working day by default; the session key changes at every sign-in (Django).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # the message previews' frames say SAMEORIGIN themselves
# Browser features Growth never uses, switched off for every page (growth.middleware_security).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
}
# Sign-in throttling (growth.login): failures per user name from one address, and from one
# address in all, within the window; counted in Redis.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_IP = env.int("LOGIN_FAILURE_LIMIT_PER_IP", default=50)
LOGIN_FAILURE_WINDOW_MINUTES = env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=15)

# No inline scripts and no third-party origins: every asset is ours and vendored.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Internationalisation ----------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["growth.formats"]  # zh-Hans numbers grouped by thousands with ","
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files ------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, compressed files after collectstatic in production; straight from the source
# folders (no collectstatic needed) in development and tests.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STATIC_ROOT = BASE_DIR / "staticfiles" if STATIC_MANIFEST else None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = DEBUG

# --- Providers ---------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Growth <growth@localhost>")
# Where people and providers reach this Growth (links in messages, Twilio callbacks and
# their signatures): the public scheme and host, without a trailing slash.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# The shop as messages name and link it ({{ shop.name }}, {{ shop.url }} in templates).
SHOP_NAME = env.str("SHOP_NAME", default="Demo Shop")
# Reporting: every KPI is in this currency (orders carry their rate to it) and counts days in
# this time zone.
GROWTH_BASE_CURRENCY = env.str("GROWTH_BASE_CURRENCY", default="USD").upper()
GROWTH_REPORTING_TIME_ZONE = env.str("GROWTH_REPORTING_TIME_ZONE", default="UTC")
# Attribution: touchpoints this many days before an order count; time decay halves credit
# every GROWTH_ATTRIBUTION_HALF_LIFE_DAYS.
GROWTH_ATTRIBUTION_LOOKBACK_DAYS = env.int("GROWTH_ATTRIBUTION_LOOKBACK_DAYS", default=30)
GROWTH_ATTRIBUTION_HALF_LIFE_DAYS = env.float("GROWTH_ATTRIBUTION_HALF_LIFE_DAYS", default=7.0)
SHOP_URL = env.str("SHOP_URL", default="http://127.0.0.1:8000/demo-shop/")
SENDGRID_API_KEY = env.str("SENDGRID_API_KEY", default="")
SENDGRID_API_URL = env.str("SENDGRID_API_URL", default="https://api.sendgrid.com/v3/")
ANYMAIL = {
    "SENDGRID_API_KEY": SENDGRID_API_KEY,
    "SENDGRID_API_URL": SENDGRID_API_URL,
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": env.str(
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", default=""
    ),
    # "user:password" for SendGrid's event webhook URL, when it is not signed.
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
}
# Without SendGrid credentials mail is written to the log, so nothing needs the network.
EMAIL_BACKEND = (
    "anymail.backends.sendgrid.EmailBackend"
    if SENDGRID_API_KEY
    else "django.core.mail.backends.console.EmailBackend"
)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
TWILIO_REQUESTS_TIMEOUT = env.float("TWILIO_REQUESTS_TIMEOUT", default=15.0)  # seconds
# Signs journeys' outbound webhooks (X-Growth-Signature: sha256=HMAC of the raw body).
OUTBOUND_WEBHOOK_SECRET = env.str("OUTBOUND_WEBHOOK_SECRET", default="")
# Webhook subscriptions: attempts per event before it is failed (backoff 1 min … 8 h: 8 ≈ a day).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
# The answer to an SMS "HELP" (carriers require one).
SMS_HELP_TEXT = env.str(
    "SMS_HELP_TEXT",
    default="Demo Shop: order and offer messages. Reply STOP to unsubscribe, START to resubscribe.",
)

# --- API ---------------------------------------------------------------------------------

# The public REST API under /api/v1/ (growth/api/__init__.py says how to add a resource).
# Requests per minute a new API key gets (each key keeps its own), and each signed-in user.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
# Request bodies larger than this are refused with 413 before they are read.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# /api/ answers in JSON even when the database is down or no route matches.
MIDDLEWARE.insert(1, "growth.api.middleware.ApiErrorMiddleware")
INSTALLED_APPS.append("drf_spectacular_sidecar")  # Swagger UI's files, served by us

REST_FRAMEWORK = {
    # A Bearer API key, or the browser's session (CSRF enforced) for people trying the docs.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "growth.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every view declares its `access` (scope and capabilities); one without is refused.
    "DEFAULT_PERMISSION_CLASSES": ["growth.api.permissions.HasAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["growth.api.throttling.RateLimit"],
    "DEFAULT_PAGINATION_CLASS": "growth.api.pagination.Cursor",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "growth.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "growth.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Growth API",
    "VERSION": "1",
    # The schema and docs are public: they describe the API, never data. Calls need a key.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # vendored by drf-spectacular-sidecar: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "PREPROCESSING_HOOKS": ["growth.api.schema.only_the_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "growth.api.schema.describe",
    ],
}

# --- Logging -----------------------------------------------------------------------------

LOG_FORMAT = env.str("LOG_FORMAT", default="text")  # "json" writes one JSON object a line
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "growth.logging.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
