"""A broker that is down, as the producer sees it: Celery (not eager) publishing to a closed local port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def broker_down(scheme: str = "redis") -> Iterator[str]:
    """Publish to `scheme`://127.0.0.1:<closed port> meanwhile; yield that URL.

    The app's connection and producer pools are set aside, not closed, and come back untouched afterwards: only
    the pool made for the dead URL is closed. Every publish fails with a connection error (what a stopped Redis or
    RabbitMQ looks like to the web process); workers keep their own connection to the real broker.
    """
    from marketplace.celery import app

    url = f"{scheme}://{'guest:guest@' if scheme == 'amqp' else ''}127.0.0.1:{closed_port()}/"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELERY_BROKER_URL", url)  # Celery reads the variable before the setting
        patch.setitem(app.conf, "broker_url", url)
        patch.setitem(app.conf, "task_always_eager", False)
        patch.setattr(app, "_pool", None)
        patch.setattr(app.amqp, "_producer_pool", None)
        try:
            yield url
        finally:
            if app._pool is not None:
                app._pool.force_close_all()  # only the pool made for the dead URL
