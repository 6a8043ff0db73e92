"""Production settings: every secret and service address comes from the environment; Celery is never eager."""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.environment import database_config, env

# env.str(NAME) without a default: ImproperlyConfigured("NAME must be set in the environment") when unset or blank.
DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
CERTIFICATE_SIGNING_KEY = env.str("CERTIFICATE_SIGNING_KEY")
DATABASES = {"default": database_config(env.str("DATABASE_URL"))}

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
