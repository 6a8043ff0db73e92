"""Reading the settings from the environment with django-environ, strictly.

``env`` is a django-environ ``Env`` with three rules of ours on top:

- a blank scalar variable (``X=`` or only spaces) counts as unset, so ``docker/.env`` can leave a line empty;
  a blank list variable is the empty list (``ALIGNMENT_PLUGINS_ALLOW=`` allows no third-party plugin);
- a malformed value raises ``ImproperlyConfigured`` naming the variable and the value (django-environ alone raises
  a bare ``ValueError``, reads ``maybe`` as false and ``1e-3`` as ``1-3``);
- a required variable that is unset says so by name;
- no ``$OTHER_VARIABLE`` indirection (django-environ's proxy): a secret key may start with ``$``.

``database_config`` turns a ``DATABASE_URL`` into a ``DATABASES`` entry (django-environ's parser) and accepts only
the back-ends this project runs on: SQLite and PostgreSQL (psycopg 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

#: What each cast expects, for error messages.
_EXPECTED = {int: "an integer", float: "a number", bool: "a boolean (true/false)", str: "a string"}
_EXPECTED_LIST = {int: "comma-separated integers", float: "comma-separated numbers",
                  bool: "comma-separated booleans"}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_DATABASE_SCHEMES = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres", "pgsql": "postgres"}
_DATABASE_URL_FORMS = ("sqlite:///relative/path, sqlite:////absolute/path, sqlite://:memory: or "
                       "postgres://user:password@host:port/name")


class Env(environ.Env):
    """django-environ's reader: blank scalars are unset, malformed values name their variable, no proxies."""

    def get_value(self, var: str, cast: Any = None, default: Any = environ.Env.NOTSET,
                  parse_default: bool = False) -> Any:
        """The variable's value cast to `cast`, or `default`; ImproperlyConfigured when unset without a default."""
        raw = self.ENVIRON.get(var)
        is_list = isinstance(cast, list) or cast is list
        if raw is None or (not raw.strip() and not is_list):
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"{var} must be set in the environment")
            return default
        if cast is None and default is not self.NOTSET and default is not None:
            cast = type(default)  # django-environ's smart cast
        try:
            return self.parse_value(raw, cast)
        except (ValueError, TypeError):
            if is_list:
                item = cast[0] if isinstance(cast, list) and cast else str
                expected = _EXPECTED_LIST.get(item, "a comma-separated list")
            else:
                expected = _EXPECTED.get(cast, "a valid value")
            raise ImproperlyConfigured(f"{var} must be {expected}, got {raw!r}") from None

    def path(self, var: str, default: Any = environ.Env.NOTSET, **kwargs: Any) -> Path:
        """A filesystem path (pathlib, not django-environ's own Path class); `default` when unset."""
        return Path(self.get_value(var, cast=str, default=default))

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        """Cast one raw string: strict booleans and floats, the rest as django-environ does."""
        if cast is bool:
            lowered = str(value).strip().lower()
            if lowered not in _TRUE + _FALSE:
                raise ValueError(value)
            return lowered in _TRUE
        if cast is float:
            return float(value)
        if isinstance(cast, list) and cast and cast[0] in (float, bool):
            return [cls.parse_value(part, cast[0]) for part in str(value).split(",") if part.strip()]
        return super().parse_value(value, cast)


env = Env()


def database_config(url: str, base_dir: Path = BASE_DIR, conn_max_age: int | None = None) -> dict[str, Any]:
    """A Django ``DATABASES`` entry from a database URL (django-environ's ``db_url_config``).

    ``sqlite://:memory:`` (or ``sqlite://``) → in-memory SQLite; ``sqlite:///var/db.sqlite3`` → a path relative to
    `base_dir` (the project root); ``sqlite:////abs/db.sqlite3`` → an absolute path; ``postgres://`` /
    ``postgresql://`` → Django's PostgreSQL back-end with the query string as connection OPTIONS (``sslmode`` …),
    persistent connections kept `conn_max_age` seconds (default ``DATABASE_CONN_MAX_AGE``, 60) with health checks.
    Any other scheme, a PostgreSQL URL without a database name or a malformed port is ImproperlyConfigured.
    """
    scheme = _DATABASE_SCHEMES.get(url.split("://", 1)[0].lower()) if "://" in url else None
    if scheme is None:
        raise ImproperlyConfigured(f"unsupported DATABASE_URL {_redact(url)!r}: use {_DATABASE_URL_FORMS}")
    try:
        config = env.db_url_config(url)
    except ValueError:
        raise ImproperlyConfigured(f"DATABASE_URL {_redact(url)!r} has a malformed port") from None
    if scheme == "sqlite":
        name = Path(config["NAME"]) if config["NAME"] != ":memory:" else None
        if name is not None and not name.is_absolute():
            config["NAME"] = base_dir / name
        return {"ENGINE": config["ENGINE"], "NAME": config["NAME"]}
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL {_redact(url)!r} names no database (…/NAME)")
    return {
        **config,
        "PORT": str(config.get("PORT") or ""),
        "OPTIONS": dict(config.get("OPTIONS") or {}),
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=60) if conn_max_age is None else conn_max_age,
        "CONN_HEALTH_CHECKS": True,
    }


#: Values no deployment may run with: the placeholders of docker/.env.example and the insecure local defaults.
PLACEHOLDER_PREFIXES = ("change-me", "changeme", "insecure-", "your-secret", "secret-key-here")


def require_secret(var: str) -> str:
    """The secret `var` from the environment; ImproperlyConfigured when unset, blank or a placeholder."""
    value = env.str(var)
    lowered = value.strip().lower()
    if lowered.startswith(PLACEHOLDER_PREFIXES) or lowered in ("secret", "password", "changeit"):
        raise ImproperlyConfigured(f"{var} is still a placeholder value (docker/.env.example): set a long random "
                                   "value (python -c 'import secrets; print(secrets.token_urlsafe(50))')")
    return value


_CACHE_FORMS = "redis://[:password@]host:6379/DB, rediss://… or locmem://"


def cache_config(url: str, *, shared: bool = False) -> dict[str, Any]:
    """A Django ``CACHES`` entry from a cache URL: ``redis://`` / ``rediss://`` → Django's RedisCache (the URL as
    its location), ``locmem://`` → per-process memory (refused when `shared`: every process must see one cache)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                "KEY_PREFIX": "marketplace", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
    if scheme == "locmem" and not shared:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "marketplace"}
    need = "a shared cache (redis:// or rediss://)" if scheme == "locmem" else _CACHE_FORMS
    raise ImproperlyConfigured(f"CACHE_URL must be {need}, got {_redact(url)!r}")


def _redact(url: str) -> str:
    password = urlsplit(url).password if "://" in url else None
    return url.replace(f":{password}@", ":***@", 1) if password else url
