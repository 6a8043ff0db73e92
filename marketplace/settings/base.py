"""Settings shared by every environment; values that differ come from the environment.

Environment variables read here (all optional in base; production.py requires the secrets), through
``marketplace.settings.environment.env`` (django-environ; a blank value counts as unset, a malformed one is an
ImproperlyConfigured error naming the variable):

``DATABASE_URL``               ``sqlite:///relative/path``, ``sqlite:////absolute/path``, ``sqlite://:memory:``,
                               ``postgres://`` or ``postgresql://user:pass@host:port/name[?sslmode=require]``
``DATABASE_CONN_MAX_AGE``      seconds a PostgreSQL connection is kept open (default 60)
``CELERY_BROKER_URL``          ``redis://…`` or ``amqp://…`` (default ``memory://``: in-process, eager only)
``CELERY_RESULT_BACKEND``      optional (tasks record their outcome in TaskRun rows; results are not needed)
``DJANGO_SECRET_KEY``          Django's signing key
``CERTIFICATE_SIGNING_KEY``    HMAC-SHA256 key of quality certificates
``MEDIA_ROOT``                 uploaded vectors, stored W-matrices, delivered vectors
``ALIGNMENT_MATRIX_DIR``       where training writes fresh .wmatrix files before they are stored
``MAX_VECTOR_UPLOAD_BYTES``    largest accepted capability-vector upload (default 4 MiB)
``MEASURE_STITCHING_ON_NEW_MATRIX``  measure task transfer / stitching / head mapping of each new matrix version
                               on the gpu queue and re-certify it with them (default true)
``DRIFT_REVALIDATE_AFTER_HOURS``  a matrix is re-checked on fresh anchors this long after its last validation
``DRIFT_TOLERANCE``            largest accepted drop in semantic preservation before a matrix is marked drifted
``RETENTION_ESTIMATOR_FILE``   the learned retention estimator's JSON model (default: the one shipped with the engine)
``DRIFT_ALPHA``, ``DRIFT_RETRAIN_DROP``, ``DRIFT_AUTO_ACT``  the monitor's false-alarm rate (0.01), the drop beyond
                               which a matrix is retrained rather than recalibrated (0.10), and whether a check's
                               recalibrate / retrain recommendation is acted on at once (true)
``MAX_WMATRIX_UPLOAD_BYTES``   largest accepted .wmatrix upload (default 256 MiB)
``MAX_PACKAGE_METADATA_BYTES`` largest vector-package metadata a listing keeps, canonical JSON (default 64 KiB)
``ALIGNMENT_MODEL_ROOTS``      directories under which alignment jobs may name a model by path (default none)
``ALIGNMENT_ENDPOINT_ALLOW``   URL prefixes of model endpoints alignment jobs may use (default none)
``QUALITY_TIER_BANDS``         comma-separated reconstruction-error upper bounds of tiers 1, 2, 3
``MARKETPLACE_VAR_DIR``        SQLite database, media and fresh matrices of a local run (default ``var/``)
``STATIC_ROOT``                where collectstatic writes the static files WhiteNoise serves (default ``var/static``)
``CACHE_URL``                  the cache rate limits count in: ``redis://host:6379/1`` (required in production, where
                               every web worker must share one count); unset here: per-process memory
``TRUSTED_PROXIES``            comma-separated IPs/CIDRs of reverse proxies whose ``X-Forwarded-For`` is believed
                               (default none: the peer address is the client)
``ALIGNMENT_JOB_DAILY_QUOTA``  alignment jobs (GPU training) a non-staff user may request per 24 h (default 2;
                               0 = staff only)
``CELERY_VISIBILITY_TIMEOUT``  Redis redelivery of an unacknowledged message, seconds (default 300)
``CELERY_UNACKED_RESTORE_INTERVAL``  seconds between a Redis worker's sweeps for such messages (default 10)
``TASK_LEASE_SECONDS``         a running task's renewed claim; a dead worker's task is re-run after it (default 60)
``OUTBOX_RETRY_SECONDS``, ``OUTBOX_RELAY_BATCH``, ``OUTBOX_KEEP_DAYS``  the event outbox's relay (30 s, 500, 7 days)
``DJANGO_ALLOWED_HOSTS``, ``ALIGNMENT_PLUGINS_ALLOW``, ``MARKETPLACE_LOG_LEVEL``
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from marketplace.settings.environment import BASE_DIR, cache_config, database_config, env

# ----------------------------------------------------------------------------------------------------- Django core
VAR_DIR = env.path("MARKETPLACE_VAR_DIR", default=BASE_DIR / "var")

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-key-change-me")
DEBUG = False
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served as our own static files (/api/docs/ fetches nothing else)
    "django_filters",
    "marketplace.catalog",
    "marketplace.alignment",
    "marketplace.outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # a NUL character in the path or a query parameter is a 400 before any view or query sees it
    "marketplace.api.null_characters.NullCharacterMiddleware",
    # serves STATIC_ROOT (collectstatic) itself: the admin and /api/docs/ are styled without a proxy in front
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Default: SQLite under VAR_DIR (MARKETPLACE_VAR_DIR, default var/).
DATABASES = {
    "default": database_config(env.str("DATABASE_URL", default=f"sqlite:///{(VAR_DIR / 'db.sqlite3').resolve()}"))
}

# Rate limits count in the default cache (marketplace/api/throttling.py). Per-process memory unless CACHE_URL names
# a Redis; production.py requires one.
CACHES = {"default": cache_config(env.str("CACHE_URL", default="locmem://"))}
TRUSTED_PROXIES: list[str] = env.list("TRUSTED_PROXIES", default=[])

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# collectstatic writes here (docker/Dockerfile runs it at image build); WhiteNoise serves it.
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# ----------------------------------------------------------------------------------------------------------- Celery
# Read by marketplace/celery.py through the CELERY_ namespace. Queues, routes, acks_late, prefetch and the beat
# schedule are fixed in marketplace/celery.py (they are part of the code's contract, not of a deployment).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged message to another worker after the visibility timeout (seconds), also while the
# first worker still runs it: short, so that the message of a killed worker comes back within minutes. A task still
# running elsewhere is not run twice: its TaskRun lease (TASK_LEASE_SECONDS, renewed by a heartbeat) is live, so
# the redelivered copy waits and re-checks; a dead worker's lease expires and the copy runs the task.
# Each worker sweeps for such messages every CELERY_UNACKED_RESTORE_INTERVAL seconds (kombu >= 5.7; its default
# throttle would scan only every tenth sweep, i.e. every 100 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
}
# A running task's claim on its TaskRun: renewed every third of this (seconds) while the task runs; a worker that
# died (SIGKILL, OOM, node loss) stops renewing and its task is taken over this long after the last renewal.
TASK_LEASE_SECONDS = env.int("TASK_LEASE_SECONDS", default=60)

# ------------------------------------------------------------------------------------------------------- outbox
# Events are outbox rows written with the business rows (marketplace.outbox); a row the broker did not take at
# commit is sent again by the relay (beat, every 30 s) once it was last tried this many seconds ago.
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", default=30)
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=500)  # rows per relay pass
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=7)  # sent rows are deleted after this many days

# ------------------------------------------------------------------------------------------------ the marketplace
# HMAC-SHA256 key that signs quality certificates. base/local derive an explicitly insecure default from the
# Django key so that a fresh checkout works; production.py requires the variable.
CERTIFICATE_SIGNING_KEY = env.str("CERTIFICATE_SIGNING_KEY", default="insecure-local-certificate-key:" + SECRET_KEY)

# Freshly trained .wmatrix files are written here, then copied into media storage by store_matrix().
ALIGNMENT_MATRIX_DIR = env.path("ALIGNMENT_MATRIX_DIR", default=VAR_DIR / "wmatrices")
# The learned retention estimator (JSON, written by bench/estimates_bench.py); None = the engine's shipped model.
RETENTION_ESTIMATOR_FILE = env.str("RETENTION_ESTIMATOR_FILE", default=None)

MAX_VECTOR_UPLOAD_BYTES = env.int("MAX_VECTOR_UPLOAD_BYTES", default=4 * 1024 * 1024)
DRIFT_REVALIDATE_AFTER_HOURS = env.float("DRIFT_REVALIDATE_AFTER_HOURS", default=24.0)
DRIFT_TOLERANCE = env.float("DRIFT_TOLERANCE", default=0.05)
DRIFT_ALPHA = env.float("DRIFT_ALPHA", default=0.01)
DRIFT_RETRAIN_DROP = env.float("DRIFT_RETRAIN_DROP", default=0.10)
DRIFT_AUTO_ACT = env.bool("DRIFT_AUTO_ACT", default=True)
MAX_WMATRIX_UPLOAD_BYTES = env.int("MAX_WMATRIX_UPLOAD_BYTES", default=256 * 1024 * 1024)
# the metadata of an uploaded vector package is kept (jsonb) and shown on the listing's detail view
MAX_PACKAGE_METADATA_BYTES = env.int("MAX_PACKAGE_METADATA_BYTES", default=64 * 1024)
# Alignment jobs for a model given by path (on the gpu worker's filesystem) or by endpoint accept only these.
ALIGNMENT_MODEL_ROOTS = env.list("ALIGNMENT_MODEL_ROOTS", default=[])
ALIGNMENT_ENDPOINT_ALLOW = env.list("ALIGNMENT_ENDPOINT_ALLOW", default=[])
# GPU training is not free: a non-staff user may request this many alignment jobs per rolling 24 h (0: staff only).
ALIGNMENT_JOB_DAILY_QUOTA = env.int("ALIGNMENT_JOB_DAILY_QUOTA", default=2)

# Quality tiers of a W-Matrix certificate: upper bounds on the best layer pair's held-out reconstruction error for
# tiers 1, 2 and 3; anything above the last bound is tier 4. The seed's Platinum/Gold/Silver/Bronze bands map to
# tiers 1..4 and are configurable here. Our reconstruction error is the relative squared round-trip error
# Σ‖x̃ − x̃_rt‖² / Σ‖x̃ − mean(x̃)‖² (x̃_rt = the source state mapped to the target and back through W⁺) on held-out
# anchors in standardized source space: 0 = perfect, 1 = no better than predicting the mean. The defaults are our
# own calibration for that quantity, not the seed's numbers (which measured something else).
MEASURE_STITCHING_ON_NEW_MATRIX = env.bool("MEASURE_STITCHING_ON_NEW_MATRIX", default=True)
QUALITY_TIER_BANDS = env.list("QUALITY_TIER_BANDS", cast=float, default=[0.05, 0.15, 0.30])
if len(QUALITY_TIER_BANDS) != 3 or sorted(QUALITY_TIER_BANDS) != QUALITY_TIER_BANDS:
    raise ImproperlyConfigured(f"QUALITY_TIER_BANDS must be three increasing bounds, got {QUALITY_TIER_BANDS}")

# REST API (DRF, drf-spectacular): kept in its own module.
from marketplace.settings.rest import *  # noqa: E402, F403

# Third-party alignment plugins loaded from the "alignment_plugins" entry-point group ("*" = all installed).
ALIGNMENT_PLUGINS_ALLOW = env.list("ALIGNMENT_PLUGINS_ALLOW", default=["*"])

# Everything reaches the root logger's console handler (stderr): the marketplace's own loggers at
# MARKETPLACE_LOG_LEVEL, and django.request's ERROR records — the traceback of every 500 — whatever DEBUG is
# (Django's default handlers print them only with DEBUG on and mail them to ADMINS otherwise).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "marketplace": {"level": env.str("MARKETPLACE_LOG_LEVEL", default="INFO")},
        "django": {"level": "INFO"},  # Django's own handlers removed: one output, the root's
        "django.request": {"level": "ERROR"},
        # a scanner's bad Host header is a 400, not an error with a traceback (the access log has it)
        "django.security.DisallowedHost": {"level": "CRITICAL"},
    },
}
