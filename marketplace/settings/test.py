"""Settings for the test suite: SQLite in memory and eager Celery, unless the environment names real services.

Integration tests export ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (redis/amqp); with a broker set,
eager execution is off and a worker must consume the queues.
"""

import atexit
import shutil
import tempfile
from pathlib import Path

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env_str, parse_database_url

DATABASES = {"default": parse_database_url(env_str("DATABASE_URL", "sqlite://:memory:"))}

_BROKER = env_str("CELERY_BROKER_URL")
CELERY_BROKER_URL = _BROKER or "memory://"
CELERY_TASK_ALWAYS_EAGER = _BROKER is None
CELERY_TASK_EAGER_PROPAGATES = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECRET_KEY = "test-secret-key"
CERTIFICATE_SIGNING_KEY = "test-certificate-key"

# Files written by tests go to a throw-away folder (removed at exit) unless MEDIA_ROOT is given.
_TMP = Path(tempfile.mkdtemp(prefix="marketplace-test-"))
atexit.register(shutil.rmtree, _TMP, True)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or _TMP / "media")
ALIGNMENT_MATRIX_DIR = Path(env_str("ALIGNMENT_MATRIX_DIR") or _TMP / "wmatrices")
