"""Settings shared by every environment; values that differ come from the environment.

Environment variables read here (all optional in base; production.py requires the secrets):

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
``QUALITY_TIER_BANDS``         comma-separated reconstruction-error upper bounds of tiers 1, 2, 3
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


# --------------------------------------------------------------------------------------------------- env helpers
def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's value, or `default` when it is unset or empty."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_int(name: str, default: int) -> int:
    """An integer variable; a malformed value raises ImproperlyConfigured naming the variable."""
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value.replace("_", ""))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float) -> float:
    """A float variable; a malformed value raises ImproperlyConfigured naming the variable."""
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off (case-insensitive)."""
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_floats(name: str, default: list[float]) -> list[float]:
    """A comma-separated list of floats (e.g. ``0.05,0.15,0.30``)."""
    value = env_str(name)
    if value is None:
        return list(default)
    try:
        return [float(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated numbers, got {value!r}") from None


def parse_database_url(url: str, base_dir: Path = BASE_DIR) -> dict[str, Any]:
    """Turn a database URL into a Django ``DATABASES`` entry.

    ``sqlite://:memory:`` (or ``sqlite://``) → in-memory SQLite; ``sqlite:///var/db.sqlite3`` → a path relative to
    the project root; ``sqlite:////abs/db.sqlite3`` → an absolute path; ``postgres://`` / ``postgresql://`` →
    Django's PostgreSQL backend (psycopg 3), with the query string passed as connection OPTIONS (``sslmode`` …).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        rest = url.split("://", 1)[1] if "://" in url else "?"
        if rest in ("", ":memory:", "/:memory:"):
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        if not rest.startswith("/"):
            raise ImproperlyConfigured(
                f"bad SQLite DATABASE_URL {url!r}: use sqlite:///relative/path, sqlite:////absolute/path "
                "or sqlite://:memory:"
            )
        path = Path(unquote(rest[1:]))
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path if path.is_absolute() else base_dir / path}
    if scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured(f"DATABASE_URL {_redact(url)!r} names no database (…/NAME)")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"DATABASE_URL {_redact(url)!r} has a malformed port") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite:// or postgres:// / postgresql://"
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


# ----------------------------------------------------------------------------------------------------- Django core
VAR_DIR = Path(os.environ.get("MARKETPLACE_VAR_DIR") or BASE_DIR / "var")

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-key-change-me")
DEBUG = False
ALLOWED_HOSTS: list[str] = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "marketplace.catalog",
    "marketplace.alignment",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
    "default": parse_database_url(env_str("DATABASE_URL") or f"sqlite:///{(VAR_DIR / 'db.sqlite3').resolve()}")
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")

# ----------------------------------------------------------------------------------------------------------- Celery
# Read by marketplace/celery.py through the CELERY_ namespace. Queues, routes, acks_late, prefetch and the beat
# schedule are fixed in marketplace/celery.py (they are part of the code's contract, not of a deployment).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged message after the visibility timeout: keep it above the longest GPU task
# (alignment jobs can take hours on CPU-only workers) so a running job is not handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 12 * 3600)}

# ------------------------------------------------------------------------------------------------ the marketplace
# HMAC-SHA256 key that signs quality certificates. base/local derive an explicitly insecure default from the
# Django key so that a fresh checkout works; production.py requires the variable.
CERTIFICATE_SIGNING_KEY = env_str("CERTIFICATE_SIGNING_KEY", "insecure-local-certificate-key:" + SECRET_KEY)

# Freshly trained .wmatrix files are written here, then copied into media storage by store_matrix().
ALIGNMENT_MATRIX_DIR = Path(env_str("ALIGNMENT_MATRIX_DIR") or VAR_DIR / "wmatrices")

MAX_VECTOR_UPLOAD_BYTES = env_int("MAX_VECTOR_UPLOAD_BYTES", 4 * 1024 * 1024)
DRIFT_REVALIDATE_AFTER_HOURS = env_float("DRIFT_REVALIDATE_AFTER_HOURS", 24.0)
DRIFT_TOLERANCE = env_float("DRIFT_TOLERANCE", 0.05)

# Quality tiers of a W-Matrix certificate: upper bounds on the best layer pair's held-out reconstruction error for
# tiers 1, 2 and 3; anything above the last bound is tier 4. The seed's Platinum/Gold/Silver/Bronze bands map to
# tiers 1..4 and are configurable here. Our reconstruction error is the relative squared round-trip error
# Σ‖x̃ − x̃_rt‖² / Σ‖x̃ − mean(x̃)‖² (x̃_rt = the source state mapped to the target and back through W⁺) on held-out
# anchors in standardized source space: 0 = perfect, 1 = no better than predicting the mean. The defaults are our
# own calibration for that quantity, not the seed's numbers (which measured something else).
MEASURE_STITCHING_ON_NEW_MATRIX = env_bool("MEASURE_STITCHING_ON_NEW_MATRIX", True)
QUALITY_TIER_BANDS = env_floats("QUALITY_TIER_BANDS", [0.05, 0.15, 0.30])
if len(QUALITY_TIER_BANDS) != 3 or sorted(QUALITY_TIER_BANDS) != QUALITY_TIER_BANDS:
    raise ImproperlyConfigured(f"QUALITY_TIER_BANDS must be three increasing bounds, got {QUALITY_TIER_BANDS}")

# REST API (DRF, drf-spectacular): kept in its own module.
from marketplace.settings.rest import *  # noqa: E402, F403

# Third-party alignment plugins loaded from the "alignment_plugins" entry-point group ("*" = all installed).
ALIGNMENT_PLUGINS_ALLOW = [p for p in os.environ.get("ALIGNMENT_PLUGINS_ALLOW", "*").split(",") if p]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "marketplace": {"handlers": ["console"], "level": env_str("MARKETPLACE_LOG_LEVEL", "INFO")},
    },
}
