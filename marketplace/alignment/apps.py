"""App config of the alignment app."""

from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    """W-matrices, certificates, estimates, drift, jobs, task runs."""

    name = "marketplace.alignment"
    label = "alignment"
    default_auto_field = "django.db.models.BigAutoField"
