"""API-key authentication: ``Authorization: Api-Key <key>`` or ``X-API-Key: <key>``; only sha256 is stored."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from marketplace.api import throttling
from marketplace.catalog.models import ApiKey

KEYWORD = "Api-Key"
HEADER = "HTTP_X_API_KEY"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate a request by an API key; `request.auth` is the ApiKey row.

    No key header → None (other authenticators run). A key that is unknown, revoked or belongs to an inactive
    user → 401, counted against the client IP's failed-authentication budget (scope ``auth_failure``); once that is
    spent every key attempt from the IP is 429 until the window ends, before any lookup (so a valid key found by
    guessing is not confirmed). ``last_used_at`` is written at most once a minute per key (one UPDATE, no row lock).
    """

    keyword = KEYWORD

    def authenticate(self, request):
        raw = self.get_raw_key(request)
        if raw is None:
            return None
        spent = throttling.auth_failures_exhausted(request)
        if spent is not None:
            raise exceptions.Throttled(wait=spent.remaining_seconds,
                                       detail="Too many failed authentication attempts from this address.")
        key = (
            ApiKey.objects.select_related("user")
            .filter(key_hash=ApiKey.hash_key(raw))
            .first()
        )
        if key is None or key.revoked:
            throttling.record_auth_failure(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if not key.user.is_active:
            throttling.record_auth_failure(request)
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        self.touch(key)
        return key.user, key

    def authenticate_header(self, request) -> str:
        return self.keyword

    @classmethod
    def get_raw_key(cls, request) -> str | None:
        """Return the clear key from the request headers, None when no key header is present."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            parts = header.split()
            if parts and parts[0].lower() == cls.keyword.lower():
                if len(parts) != 2 or not parts[1]:
                    throttling.record_auth_failure(request)
                    raise exceptions.AuthenticationFailed("Invalid Api-Key header: expected 'Api-Key <key>'.")
                return parts[1]
        raw = request.META.get(HEADER, "").strip()
        return raw or None

    @staticmethod
    def touch(key: ApiKey) -> None:
        """Record use, at most once per LAST_USED_RESOLUTION (avoids a write per request)."""
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Document the API-key scheme in the OpenAPI schema."""

    target_class = "marketplace.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` (the `X-API-Key: <key>` header is also accepted)",
        }
