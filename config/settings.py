"""Settings for the GarmaxAI Enterprise API.

This is the one place that reads the environment. With nothing set the service runs embedded (SQLite,
local media, local-memory cache, a filesystem Celery broker); setting DATABASE_URL, REDIS_URL (and
CELERY_BROKER_URL for RabbitMQ) and the S3 variables switches to production. A malformed value stops start-up.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config import broker_settings, environment
from config.datetime_format import DATETIME_FORMAT
from config.logging_settings import logging_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environment.env
_read, _bool, _positive_int = environment.read, environment.read_bool, environment.read_positive_int
_trusted_proxies = environment.read_networks

DATA_DIR = Path(_read("GARMAX_DATA_DIR", str, str(BASE_DIR / "var")))

DEBUG = _bool("DJANGO_DEBUG", False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
EMBEDDED = not env.str("DATABASE_URL", default="")
if not SECRET_KEY:
    if not DEBUG and not EMBEDDED:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is false")
    # Embedded/demo mode only: a per-checkout key kept on disk, never a shared default.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()
elif len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 32 characters long")

ALLOWED_HOSTS = _read("DJANGO_ALLOWED_HOSTS", list, ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _read("DJANGO_CSRF_TRUSTED_ORIGINS", list, [])
# Outside the admin's pages a CSRF refusal is JSON in the seed's format, like every other error.
CSRF_FAILURE_VIEW = "api.errors.csrf_failure"
PUBLIC_BASE_URL = _read("PUBLIC_BASE_URL", str, "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",  # the API kernel every app builds on: errors, ids, pagination, parsers, schema
    "organizations",
    "apikeys",
    "customers",
    "tryons",
    "webhooks",
    "usage",
    "infrastructure.observability",  # metrics endpoint, tracing and Sentry set-up (its AppConfig.ready)
    "django_otp",  # the portal's optional second factor (TOTP devices)
    "django_otp.plugins.otp_totp",
    "portal",  # the partner portal's pages (/portal/), on top of every app
]

MIDDLEWARE = [
    "api.middleware.RequestIdMiddleware",
    "infrastructure.observability.middleware.RequestObservabilityMiddleware",
    "api.middleware.RejectNulCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "api.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "api.middleware.CsrfViewMiddleware",
    "api.middleware.AuthenticationMiddleware",
    "api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

APPEND_SLASH = False  # partners' clients POST to paths without a trailing slash; a redirect breaks them

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
if EMBEDDED:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _read("SQLITE_PATH", str, str(DATA_DIR / "garmax.sqlite3")),
            # The web process and the worker share the file; wait for each other's writes.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
else:
    try:
        import warnings

        with warnings.catch_warnings():
            # django-environ only warns on an unknown scheme; the engine check below refuses it.
            warnings.simplefilter("ignore")
            DATABASES = {"default": env.db_url("DATABASE_URL")}
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    _engines = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}
    if DATABASES["default"].get("ENGINE") not in _engines:
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// (or sqlite://) URL")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's PostgreSQL backend with a health check that needs no round trip (see its docstring).
        DATABASES["default"]["ENGINE"] = "infrastructure.postgresql"
    # Persistent connections: with 0, every request pays a new PostgreSQL connection (~8x slower).
    DATABASES["default"]["CONN_MAX_AGE"] = _positive_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The partner hot reads (infrastructure/prepared.py) run as prepared statements on PostgreSQL. Off behind a
# pooler in transaction mode that cannot carry them (PgBouncer < 1.21 or without max_prepared_statements).
DB_PREPARED_STATEMENTS = _bool("DB_PREPARED_STATEMENTS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery, rate limits --------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "gx",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "garmax"}}

# Celery's broker: RabbitMQ (amqp://) or Redis; transport settings and queues: config/broker_settings.py.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
BROKER_KIND = broker_settings.broker_kind(CELERY_BROKER_URL)
globals().update(
    broker_settings.transport_settings(
        kind=BROKER_KIND,
        data_dir=DATA_DIR,
        visibility_timeout=_positive_int("CELERY_VISIBILITY_TIMEOUT", 600),
    )
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}  # apps add their periodic tasks in config/celery.py
# Each pipeline gets its own queue so a burst of renders never delays webhook deliveries, and vice versa.
# Every queue is declared, so a plain `celery -A config worker` consumes all of them; `-Q` only splits them.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = broker_settings.task_queues(
    ("celery", "tryons", "webhooks", "bulk"),
    kind=BROKER_KIND,
    queue_type=_read("RABBITMQ_QUEUE_TYPE", str, "quorum"),
)
# "bulk.*": customer imports and exports (customers.tasks).
CELERY_TASK_ROUTES = {f"{queue}.*": {"queue": queue} for queue in ("tryons", "webhooks", "bulk")}

# --- Storage ---------------------------------------------------------------------------------------
S3_BUCKET_NAME = env.str("S3_BUCKET_NAME", default="")
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
SIGNED_URL_TTL_SECONDS = _positive_int("SIGNED_URL_TTL_SECONDS", 3600, maximum=7 * 24 * 3600)
MEDIA_ROOT = Path(_read("MEDIA_ROOT", str, str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
if S3_BUCKET_NAME:
    _s3_options = {
        "bucket_name": S3_BUCKET_NAME,
        "region_name": AWS_REGION,
        "endpoint_url": AWS_S3_ENDPOINT_URL,
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": SIGNED_URL_TTL_SECONDS,
        "file_overwrite": True,
        "signature_version": "s3v4",
    }
    if env.str("AWS_ACCESS_KEY_ID", default=""):
        _s3_options["access_key"] = env.str("AWS_ACCESS_KEY_ID")
        _s3_options["secret_key"] = env.str("AWS_SECRET_ACCESS_KEY", default="")
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

# Photos (customers app)
PHOTO_MAX_BYTES = _positive_int("PHOTO_MAX_BYTES", 10 * 1024 * 1024)
PHOTO_MIN_SIDE = _positive_int("PHOTO_MIN_SIDE", 300)
PHOTO_MAX_SIDE = _positive_int("PHOTO_MAX_SIDE", 4096)
# Django refuses request bodies beyond this before they are read into memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Outbound requests (garment downloads, webhooks) ----------------------------------------------
OUTBOUND_ALLOW_PRIVATE_NETWORKS = _bool("OUTBOUND_ALLOW_PRIVATE_NETWORKS", False)
GARMENT_MAX_BYTES = _positive_int("GARMENT_MAX_BYTES", 15 * 1024 * 1024)
# Wall-clock budget of one garment download (connect, headers and body, redirects included).
GARMENT_FETCH_TIMEOUT_SECONDS = _positive_int("GARMENT_FETCH_TIMEOUT_SECONDS", 15)
RENDER_REUSE_DAYS = _positive_int("RENDER_REUSE_DAYS", 30, minimum=0)  # days an identical render is reused
# Seconds a catalogue garment's copy is used before its URL is fetched again (a changed image is noticed).
GARMENT_REVALIDATE_SECONDS = _positive_int("GARMENT_REVALIDATE_SECONDS", 3600, minimum=0)

# --- Credits ---------------------------------------------------------------------------------------
# Low-balance emails to billingEmail: EMAIL_URL (smtp+tls://user:pass@host:587), console backend when unset.
globals().update(environment.read_email("EMAIL_URL", "EMAIL_FROM", "GarmaxAI Billing <billing@garmax.ai>"))
MAX_CREDIT_TOP_UP = 1_000_000
# Signup, its grant and partner notices: config/partner_settings.py; the portal's: config/portal_settings.py.
from config.partner_settings import *  # noqa: E402, F403
from config.portal_settings import *  # noqa: E402, F403

# --- Try-on pipeline -------------------------------------------------------------------------------
# Checked at start-up against the renderer registry, with the settings the renderer needs (the tryons app).
TRYON_RENDERER = _read("TRYON_RENDERER", str, "local")
TRYON_HTTP_RENDERER_URL = env.str("TRYON_HTTP_RENDERER_URL", default="")
TRYON_HTTP_RENDERER_AUTH_HEADER = env.str("TRYON_HTTP_RENDERER_AUTH_HEADER", default="")
TRYON_HTTP_RENDERER_TIMEOUT_SECONDS = _positive_int("TRYON_HTTP_RENDERER_TIMEOUT_SECONDS", 120)
EVENTBRIDGE_BUS_NAME = env.str("EVENTBRIDGE_BUS_NAME", default="")
EVENTBRIDGE_ENDPOINT_URL = env.str("EVENTBRIDGE_ENDPOINT_URL", default="") or None
TRYON_CALLBACK_SECRET = env.str("TRYON_CALLBACK_SECRET", default="")
# Largest render callback body (a base64 result in JSON); refused from Content-Length before it is read.
TRYON_CALLBACK_MAX_BYTES = _positive_int("TRYON_CALLBACK_MAX_BYTES", 16 * 1024 * 1024)
# Work no worker owns (a session whose message was lost, items awaiting a callback) is re-queued after this.
TRYON_STUCK_AFTER_SECONDS = _positive_int("TRYON_STUCK_AFTER_SECONDS", 1800)
# A worker processing a session or try-on stamps its heartbeat this often; one silent for
# TRYON_HEARTBEAT_TIMEOUT_SECONDS is dead, and the sweeper (every TRYON_SWEEP_INTERVAL_SECONDS) hands its work
# to a new run. With the defaults a SIGKILLed worker's cart is resumed within 60 + 15 s of its last beat.
TRYON_HEARTBEAT_SECONDS = _positive_int("TRYON_HEARTBEAT_SECONDS", 10)
TRYON_HEARTBEAT_TIMEOUT_SECONDS = _positive_int("TRYON_HEARTBEAT_TIMEOUT_SECONDS", 60)
TRYON_SWEEP_INTERVAL_SECONDS = _positive_int("TRYON_SWEEP_INTERVAL_SECONDS", 15)
if TRYON_HEARTBEAT_TIMEOUT_SECONDS < 3 * TRYON_HEARTBEAT_SECONDS:
    # Fewer than three missed beats would take a slow database write for a dead worker and render twice.
    raise ImproperlyConfigured(
        "TRYON_HEARTBEAT_TIMEOUT_SECONDS must be at least 3 × TRYON_HEARTBEAT_SECONDS "
        f"({TRYON_HEARTBEAT_TIMEOUT_SECONDS} < 3 × {TRYON_HEARTBEAT_SECONDS})"
    )

# --- Webhooks --------------------------------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = _positive_int("WEBHOOK_TIMEOUT_SECONDS", 30)
# `POST /v1/webhooks/{id}/test` sends inside the API request: keep it below gunicorn's timeout (30 s).
WEBHOOK_TEST_TIMEOUT_SECONDS = _positive_int("WEBHOOK_TEST_TIMEOUT_SECONDS", 10)
WEBHOOK_PAYLOAD_RETENTION_DAYS = _positive_int("WEBHOOK_PAYLOAD_RETENTION_DAYS", 30)
# Worker slots one partner endpoint may hold at once; keep it below the webhooks worker concurrency.
WEBHOOK_ENDPOINT_CONCURRENCY = _positive_int("WEBHOOK_ENDPOINT_CONCURRENCY", 4)

# --- API keys and usage ----------------------------------------------------------------------------
API_KEY_DEFAULT_RATE_LIMIT = _positive_int("API_KEY_DEFAULT_RATE_LIMIT", 60)
API_KEY_MAX_RATE_LIMIT = _positive_int("API_KEY_MAX_RATE_LIMIT", 10_000)
API_USAGE_RETENTION_DAYS = _positive_int("API_USAGE_RETENTION_DAYS", 90)  # request log days (usage app)
# Requests per minute of one signed-in user (JWT) across the management API, like a key's rateLimit.
API_USER_RATE_LIMIT = _positive_int("API_USER_RATE_LIMIT", 120)

# --- Auth, DRF, OpenAPI ----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.LimitOffsetPagination",
    # Signed-in users (JWT) are limited per user, as keys are per key (API_USER_RATE_LIMIT).
    "DEFAULT_THROTTLE_CLASSES": ["apikeys.user_rate_limit.UserRateLimit"],
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema_names.AutoSchema",  # operationIds named after resources and actions
    # 2026-01-15T10:30:00Z, with a four-digit year on every platform (config/datetime_format.py).
    "DATETIME_FORMAT": DATETIME_FORMAT,
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=_positive_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=_positive_int("JWT_REFRESH_DAYS", 7)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "GarmaxAI Enterprise API",
    "DESCRIPTION": (
        "Virtual try-on for partner e-commerce shops: organizations and prepaid credits, API keys, customers "
        "and photos, cart try-ons of up to 20 garments, signed webhooks. Partner endpoints (`/api/v1/...`) "
        "authenticate with `X-API-Key`; organization management uses a JWT from `/api/auth/token`. "
        "Catalogues: [webhook events](/api/docs/events) and [API key scopes](/api/docs/scopes)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RenderQualityEnum": "tryons.qualities.QUALITY_NAMES",
        "TryOnStatusEnum": "tryons.models.TryOn.Status",
        "CartTryOnSessionStatusEnum": "tryons.models.CartTryOnSession.Status",
        "BackgroundSceneEnum": "tryons.scenes.SCENE_NAMES",
        "FormatEnum": "customers.bulk.formats.FORMATS",  # the bulk files', named before output formats
        "GarmentPhotoTypeEnum": "tryons.controls.GARMENT_PHOTO_TYPES",
        "OutputFormatEnum": "tryons.controls.OUTPUT_FORMAT_NAMES",
        "ControlSupportEnum": "tryons.controls.CONTROL_SUPPORT",
        "FormatSupportEnum": "tryons.controls.FORMAT_SUPPORT",
        "EngineNoteCodeEnum": "tryons.controls.ENGINE_NOTE_CODES",
        "MemberRoleEnum": "organizations.roles.ROLE_NAMES",
        "AssignableRoleEnum": "organizations.roles.ASSIGNABLE_ROLES",  # any but owner: given by transfer
    },
    "POSTPROCESSING_HOOKS": [
        "webhooks.openapi.document_events",  # webhook payloads (x-webhooks), before enums are named
        "api.schema_names.partner_names",  # drf-spectacular's enum naming, then ours; path parameters
        "api.schema.add_error_responses",
        "api.schema.valid_values",
    ],
    # /api/docs and /api/redoc load Swagger UI and ReDoc from the pinned drf-spectacular-sidecar package
    # (served by config/urls.py), never from a CDN, so the docs work offline and do not change under us.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},  # no swagger.io validator badge
}

# --- i18n, time ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
# The admin's timestamps to the second (config/formats/en/formats.py); the API formats its own.
FORMAT_MODULE_PATH = "config.formats"

# --- Security --------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not EMBEDDED:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Empty: REMOTE_ADDR is the client (nothing in front, or a proxy that rewrites it). Behind a load
# balancer, list its addresses, or every limit keyed on an address is one bucket for everybody.
TRUSTED_PROXIES = _trusted_proxies("TRUSTED_PROXIES")

# The header a TLS-terminating proxy sets to "https". Trust it only if the proxy overwrites whatever the
# client sent: otherwise any client can claim to be on https. "" disables it.
_proxy_ssl_header = environment.read_header_name(
    "DJANGO_SECURE_PROXY_SSL_HEADER", "" if (DEBUG or EMBEDDED) else "X-Forwarded-Proto"
)
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = _bool("DJANGO_SECURE_SSL_REDIRECT", False)
# Load balancers probe over plain http: a redirect would mark every node unhealthy.
SECURE_REDIRECT_EXEMPT = [r"^health(/ready)?$"]
SECURE_HSTS_SECONDS = _positive_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _bool("DJANGO_SECURE_HSTS_PRELOAD", False)

# --- Logging, metrics, traces, errors: LOG_*, METRICS_*, OTEL_*, SENTRY_* (infrastructure/observability) ---
from config.observability_settings import *  # noqa: E402, F403

# dictConfig plus a record factory that withholds database errors' messages (they quote SQL values).
LOGGING_CONFIG = "infrastructure.logging.configure"
LOGGING = logging_settings(level=LOG_LEVEL, json_lines=LOG_FORMAT == "json")  # noqa: F405
