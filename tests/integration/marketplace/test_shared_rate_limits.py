"""Rate limits shared by several web processes through Redis: each "worker" has its own cache client (its own
connection pool, as each gunicorn worker has) on one Redis database; the count is one, also under concurrency.

Redis on 127.0.0.1:6379, database ``THROTTLE_TEST_REDIS_DB`` (default 14, emptied by the test).
"""

from __future__ import annotations

import os
import socket
import threading
from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REDIS_DB = int(os.environ.get("THROTTLE_TEST_REDIS_DB", "14"))
LOCATION = f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture
def redis_db() -> str:
    try:
        socket.create_connection(("127.0.0.1", 6379), 2).close()
    except OSError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Redis is not running on 127.0.0.1:6379 (CI=true)", pytrace=False)
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    import redis

    client = redis.Redis.from_url(LOCATION)
    client.flushdb()
    yield LOCATION
    client.flushdb()


def _worker_cache() -> Any:
    """A cache client of its own, as a separate gunicorn worker would build from CACHES."""
    from django.core.cache.backends.redis import RedisCache

    return RedisCache(LOCATION, {"KEY_PREFIX": "marketplace"})


def _anonymous_request(ip: str) -> Any:
    from django.contrib.auth.models import AnonymousUser

    return SimpleNamespace(user=AnonymousUser(), auth=None, META={"REMOTE_ADDR": ip})


def _throttle(cache: Any) -> Any:
    from marketplace.api.throttling import AnonymousRateThrottle

    throttle = AnonymousRateThrottle()
    throttle.cache = cache
    return throttle


def test_two_workers_share_one_anonymous_count(settings: Any, redis_db: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "4/day"}}
    workers = [_worker_cache(), _worker_cache()]
    allowed = [_throttle(workers[i % 2]).allow_request(_anonymous_request("203.0.113.20"), None) for i in range(10)]
    assert allowed == [True] * 4 + [False] * 6  # not 4 per worker
    assert _throttle(workers[0]).allow_request(_anonymous_request("203.0.113.21"), None)  # another client


def test_concurrent_requests_from_two_workers_cannot_exceed_the_limit(settings: Any, redis_db: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "50/day"}}
    workers = [_worker_cache(), _worker_cache()]
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def attack(worker: Any) -> None:
        start.wait()
        for _ in range(15):
            ok = _throttle(worker).allow_request(_anonymous_request("203.0.113.30"), None)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=attack, args=(workers[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 240 and sum(results) == 50
