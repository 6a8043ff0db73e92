"""Rate limits on the shared cache: per API key (session users per user id), per client IP for anonymous clients,
and per client IP for failed authentication (invalid API keys; failed admin logins in ``admin_login``).

Counting is a fixed window per (scope, identity) in Django's ``default`` cache — Redis in production (``CACHE_URL``),
so every gunicorn worker and every web container share one count; ``cache.add`` + ``cache.incr`` are atomic there,
so concurrent requests cannot slip past the limit. A window allows at most the configured number of requests (up to
twice that across a window boundary). Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` read at request
time, so ``override_settings`` and environment-driven settings both take effect. The client IP is
``client_ip.client_ip`` (``X-Forwarded-For`` only from ``TRUSTED_PROXIES``). If the cache cannot be reached the
request is let through and the error logged (an outage of Redis must not take the API down with it).
"""

from __future__ import annotations

import logging
import time

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from marketplace.api.client_ip import client_ip
from marketplace.catalog.models import ApiKey

log = logging.getLogger(__name__)

CACHE_ALIAS = "default"
KEY_PREFIX = "throttle"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """(requests, window seconds) of a DRF-style rate such as ``"60/min"`` or ``"5/hour"``."""
    try:
        count, period = str(rate).split("/", 1)
        return int(count), _PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        raise ImproperlyConfigured(f"malformed throttle rate {rate!r}: use N/s, N/min, N/hour or N/day") from None


#: Rates of the failed-authentication scopes when REST_FRAMEWORK's rates do not name them (settings/rest.py does).
FALLBACK_RATES = {"auth_failure": "20/min", "admin_login_ip": "10/hour", "admin_login_user": "30/hour"}


def scope_rate(scope: str) -> tuple[int, int]:
    """The configured (requests, window seconds) of a throttle scope."""
    rates = {**FALLBACK_RATES, **(api_settings.DEFAULT_THROTTLE_RATES or {})}
    if scope not in rates:
        raise ImproperlyConfigured(f"No default throttle rate set for {scope!r} scope")
    return parse_rate(rates[scope])


class Window:
    """A fixed-window counter of one (scope, identity) in the shared cache."""

    def __init__(self, scope: str, ident: str, cache=None, now: float | None = None) -> None:
        self.limit, self.duration = scope_rate(scope)
        now = time.time() if now is None else now
        start = int(now // self.duration) * self.duration
        self.remaining_seconds = max(start + self.duration - now, 0.001)
        self.key = f"{KEY_PREFIX}:{scope}:{ident}:{start}"
        self.cache = cache if cache is not None else caches[CACHE_ALIAS]

    def count(self) -> int:
        """Requests counted in the current window (0 when the cache is unreachable)."""
        try:
            return int(self.cache.get(self.key) or 0)
        except Exception:  # any cache client error: fail open, logged
            log.warning("throttle cache unreachable; not limiting %s", self.key, exc_info=True)
            return 0

    def hit(self) -> int:
        """Count one request; return the new count (0 when the cache is unreachable)."""
        try:
            self.cache.add(self.key, 0, timeout=self.duration + 1)
            try:
                return int(self.cache.incr(self.key))
            except ValueError:  # expired between add and incr
                self.cache.add(self.key, 1, timeout=self.duration + 1)
                return 1
        except Exception:  # any cache client error: fail open, logged
            log.warning("throttle cache unreachable; not limiting %s", self.key, exc_info=True)
            return 0

    @property
    def exhausted(self) -> bool:
        """Whether the window's budget is spent (no request counted by asking)."""
        return self.count() >= self.limit


class SharedRateThrottle(BaseThrottle):
    """A DRF throttle counting in the shared cache; subclasses give `scope` and `ident(request)` (None: exempt)."""

    scope = ""
    cache = None  # None: caches[CACHE_ALIAS]; a test may give each instance its own client

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident(request)
        if ident is None:
            return True
        self.window = Window(self.scope, ident, cache=self.cache)
        return self.window.hit() <= self.window.limit

    def wait(self) -> float | None:
        window = getattr(self, "window", None)
        return None if window is None else window.remaining_seconds

    def get_ident(self, request) -> str:
        """The client IP (trusted proxies only; DRF's own reads any X-Forwarded-For)."""
        return client_ip(request)


class ApiKeyRateThrottle(SharedRateThrottle):
    """Throttle authenticated requests per API key (cache key from the key's hash), session users per user."""

    scope = "api_key"

    def ident(self, request) -> str | None:
        if isinstance(request.auth, ApiKey):
            return f"key:{request.auth.key_hash[:32]}"
        if request.user is not None and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None  # anonymous: AnonymousRateThrottle


class AnonymousRateThrottle(SharedRateThrottle):
    """Throttle anonymous requests per client IP (scope "anon")."""

    scope = "anon"

    def ident(self, request) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            return None
        return f"ip:{self.get_ident(request)}"


AUTH_FAILURE_SCOPE = "auth_failure"


def auth_failures_exhausted(request, scope: str = AUTH_FAILURE_SCOPE) -> Window | None:
    """The client IP's failed-authentication window when its budget is spent (refuse the attempt), else None."""
    window = Window(scope, f"ip:{client_ip(request)}")
    return window if window.exhausted else None


def record_auth_failure(request, scope: str = AUTH_FAILURE_SCOPE) -> None:
    """Count one failed authentication of the request's client IP."""
    Window(scope, f"ip:{client_ip(request)}").hit()
