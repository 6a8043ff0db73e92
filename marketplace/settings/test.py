"""Settings for the test suite: SQLite in memory and eager Celery, unless the environment names real services.

Integration tests export ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (redis/amqp); with a broker set,
eager execution is off and a worker must consume the queues.
"""

import atexit
import shutil
import tempfile
from pathlib import Path

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.environment import database_config, env

DATABASES = {"default": database_config(env.str("DATABASE_URL", default="sqlite://:memory:"))}

_BROKER = env.str("CELERY_BROKER_URL", default=None)
CELERY_BROKER_URL = _BROKER or "memory://"
CELERY_TASK_ALWAYS_EAGER = _BROKER is None
CELERY_TASK_EAGER_PROPAGATES = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECRET_KEY = "test-secret-key"
CERTIFICATE_SIGNING_KEY = "test-certificate-key"

# Files written by tests go to a throw-away folder (removed at exit) unless MEDIA_ROOT is given.
_TMP = Path(tempfile.mkdtemp(prefix="marketplace-test-"))
atexit.register(shutil.rmtree, _TMP, True)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=_TMP / "media")
ALIGNMENT_MATRIX_DIR = env.path("ALIGNMENT_MATRIX_DIR", default=_TMP / "wmatrices")

# No collectstatic in tests: WhiteNoise finds static files through the finders on each request.
STATIC_ROOT = _TMP / "static"
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
