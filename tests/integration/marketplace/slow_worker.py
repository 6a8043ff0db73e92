"""A worker app whose purchase delivery is slow and logged: ``celery -A slow_worker worker`` (tests only).

``INTEGRATION_SLOW_DELIVERY`` seconds of sleep before each ``delivery.deliver_purchase``, and a line per start and
per finish (``start|done <pid> <purchase id>``) appended to ``INTEGRATION_DELIVERY_LOG``: a test can kill the
worker mid-delivery and count how often a delivery started and finished, across worker processes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")
django.setup()

from marketplace.catalog import delivery  # noqa: E402 - after django.setup()
from marketplace.celery import app  # noqa: E402

__all__ = ["app"]

_real_deliver = delivery.deliver_purchase


def _note(what: str, purchase_id: int) -> None:
    with open(os.environ["INTEGRATION_DELIVERY_LOG"], "a") as log:
        log.write(f"{what} {os.getpid()} {purchase_id}\n")


def slow_deliver(purchase: Any) -> Any:
    """Log the start, sleep, deliver, log the finish."""
    _note("start", purchase.pk)
    time.sleep(float(os.environ.get("INTEGRATION_SLOW_DELIVERY", "0")))
    result = _real_deliver(purchase)
    _note("done", purchase.pk)
    return result


delivery.deliver_purchase = slow_deliver
