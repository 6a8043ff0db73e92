"""App config of the catalog."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Architectures, listings, purchases, ledger."""

    name = "marketplace.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
