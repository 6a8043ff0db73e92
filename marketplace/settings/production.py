"""Production settings: every secret and service address comes from the environment; Celery is never eager.

The process refuses to start (ImproperlyConfigured naming the variable) when a secret is unset, blank or still a
placeholder (``docker/.env.example``'s ``change-me…`` values, the insecure local defaults), and when ``CACHE_URL``
is not a Redis shared by every process (rate limits must count across gunicorn workers). Logging (base.py) sends
the traceback of every 500 to stderr.
"""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.environment import cache_config, database_config, env, require_secret

# env.str(NAME) without a default: ImproperlyConfigured("NAME must be set in the environment") when unset or blank.
DEBUG = False
SECRET_KEY = require_secret("DJANGO_SECRET_KEY")
CERTIFICATE_SIGNING_KEY = require_secret("CERTIFICATE_SIGNING_KEY")
DATABASES = {"default": database_config(env.str("DATABASE_URL"))}
CACHES = {"default": cache_config(env.str("CACHE_URL"), shared=True)}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)

# Static files: hashed names (cache forever) and pre-compressed copies, written by collectstatic at image build and
# served by WhiteNoise (MIDDLEWARE in base.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
