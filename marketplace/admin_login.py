"""Brute-force protection of the admin login: failed logins are counted per client IP and per username.

Counts live in the shared cache (``marketplace.api.throttling.Window``; Redis in production), scopes
``admin_login_ip`` (default 10 failures an hour per client IP) and ``admin_login_user`` (30 an hour per username,
against a guess spread over many addresses). Once a budget is spent, every login attempt it covers is refused —
the right password included — with HTTP 429 and a message, until the window ends; nothing is checked against the
database meanwhile. The client IP follows ``TRUSTED_PROXIES`` as the API's rate limits do.
"""

from __future__ import annotations

import math

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from marketplace.api.client_ip import client_ip
from marketplace.api.throttling import Window

IP_SCOPE, USER_SCOPE = "admin_login_ip", "admin_login_user"
LOCKED_CODE = "too_many_attempts"


def _windows(request, username: str) -> list[Window]:
    windows = [Window(IP_SCOPE, f"ip:{client_ip(request)}")]
    if username:
        windows.append(Window(USER_SCOPE, f"user:{username.strip().lower()[:150]}"))
    return windows


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, refused while the client IP's or the username's failure budget is spent."""

    def clean(self):
        windows = _windows(self.request, self.cleaned_data.get("username") or "") if self.request else []
        spent = [w for w in windows if w.exhausted]
        if spent:
            minutes = math.ceil(max(w.remaining_seconds for w in spent) / 60)
            raise ValidationError(f"Too many failed login attempts; try again in {minutes} minute(s).",
                                  code=LOCKED_CODE)
        try:
            return super().clean()
        except ValidationError:
            for window in windows:
                window.hit()
            raise


def install() -> None:
    """Make ThrottledAdminAuthenticationForm the admin site's login form (urls.py calls this)."""
    admin.site.login_form = ThrottledAdminAuthenticationForm


def admin_login(request, extra_context=None):
    """The admin site's login view (its form is ThrottledAdminAuthenticationForm); a locked-out attempt is 429."""
    response = admin.site.login(request, extra_context)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if form is not None and request.method == "POST" and any(
            e.code == LOCKED_CODE for e in form.errors.as_data().get("__all__", [])):
        response.status_code = 429
    return response
