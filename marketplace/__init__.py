"""Marketplace backend: Django project around the alignment engine.

``celery_app`` is imported here (Celery's Django layout) so that ``@shared_task`` binds to it in every process.
Creating it reads no settings and imports no task module or torch.
"""

from marketplace.celery import app as celery_app

__all__ = ("celery_app",)
