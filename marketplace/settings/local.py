"""Embedded defaults for a fresh machine: SQLite, no external service."""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import VAR_DIR

DEBUG = True
VAR_DIR.mkdir(parents=True, exist_ok=True)
