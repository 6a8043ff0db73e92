"""Rate limits: per API key (scope "api_key"; session users by user id) and per IP for anonymous clients.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` read at request time (DRF's own throttles freeze
them at import), so ``override_settings`` and environment-driven settings both take effect.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from marketplace.catalog.models import ApiKey


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No default throttle rate set for {self.scope!r} scope")
        return rates[self.scope]


class ApiKeyRateThrottle(_SettingsRateThrottle):
    """Throttle authenticated requests per API key (cache key from the key's hash), session users per user."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.key_hash[:32]}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None  # anonymous: AnonymousRateThrottle
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(_SettingsRateThrottle):
    """Throttle anonymous requests per client IP (scope "anon")."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user is not None and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"ip:{self.get_ident(request)}"}
