"""App config of the outbox."""

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """Events kept in the database until the broker has taken them."""

    name = "marketplace.outbox"
    label = "outbox"
    default_auto_field = "django.db.models.BigAutoField"
