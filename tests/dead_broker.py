"""Point this process's Celery producer elsewhere for a while: at another URL, or at a closed port (broker down)."""

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
def publishing_to(url: str) -> Iterator[str]:
    """This process's Celery publishes to `url` (not eager) meanwhile; yield `url`.

    The app's connection and producer pools are set aside, not closed, and come back untouched afterwards. The
    pools made for `url` are left open too: kombu's global registry would hand a closed one back to the next user
    of the same URL ("Acquire on closed pool").
    """
    from marketplace.celery import app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELERY_BROKER_URL", url)  # Celery reads the variable before the setting
        patch.setitem(app.conf, "broker_url", url)
        patch.setitem(app.conf, "task_always_eager", False)
        patch.setattr(app, "_pool", None)
        patch.setattr(app.amqp, "_producer_pool", None)
        yield url


@contextlib.contextmanager
def broker_down(scheme: str = "redis") -> Iterator[str]:
    """Publish to `scheme`://127.0.0.1:<closed port> meanwhile (see :func:`publishing_to`); yield that URL.

    Every publish fails with a connection error (what a stopped Redis or RabbitMQ looks like to the web process).
    """
    url = f"{scheme}://{'guest:guest@' if scheme == 'amqp' else ''}127.0.0.1:{closed_port()}/"
    with publishing_to(url):
        yield url
