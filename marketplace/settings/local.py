"""Embedded defaults for a fresh machine (used by manage.py): SQLite under var/, Celery eager, no external service.

Setting ``DATABASE_URL`` or ``CELERY_BROKER_URL`` in the environment switches to real services (a broker turns
eager execution off, so a worker must run).
"""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import ALIGNMENT_MATRIX_DIR, MEDIA_ROOT, VAR_DIR
from marketplace.settings.environment import env

DEBUG = True

_BROKER = env.str("CELERY_BROKER_URL", default=None)
CELERY_BROKER_URL = _BROKER or "memory://"
CELERY_TASK_ALWAYS_EAGER = _BROKER is None
CELERY_TASK_EAGER_PROPAGATES = True

for _folder in (VAR_DIR, MEDIA_ROOT, ALIGNMENT_MATRIX_DIR):
    _folder.mkdir(parents=True, exist_ok=True)
