"""Production settings: every secret and service address comes from the environment."""

import os

from marketplace.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
