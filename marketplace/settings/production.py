"""Production settings: every secret and service address comes from the environment; Celery is never eager."""

from django.core.exceptions import ImproperlyConfigured

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env_bool, env_int, env_str, parse_database_url


def _required(name: str) -> str:
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production")
    return value


DEBUG = False
SECRET_KEY = _required("DJANGO_SECRET_KEY")
CERTIFICATE_SIGNING_KEY = _required("CERTIFICATE_SIGNING_KEY")
DATABASES = {"default": parse_database_url(_required("DATABASE_URL"))}

CELERY_BROKER_URL = _required("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND")
CELERY_TASK_ALWAYS_EAGER = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
