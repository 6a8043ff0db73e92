"""Rate limits as an attacker tries them: forged X-Forwarded-For, guessed API keys, admin password guessing, a cache
outage. (Two processes sharing one count on Redis: tests/integration/marketplace/test_shared_rate_limits.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import error_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/models/"


def _rates(settings: Any, **rates: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates}}


def test_a_forged_x_forwarded_for_does_not_bypass_the_anonymous_limit(settings, client_anon, archs):
    _rates(settings, anon="3/hour")
    codes = [client_anon.get(URL, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]


def test_a_trusted_proxy_s_x_forwarded_for_counts_per_client_and_forged_hops_are_ignored(settings, client_anon,
                                                                                          archs):
    _rates(settings, anon="2/hour")
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = {"REMOTE_ADDR": "10.1.2.3"}
    # the proxy appends the real peer; whatever the client wrote sits to its left
    for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        response = client_anon.get(URL, HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.7, 10.9.9.9", **via_proxy)
        last = response.status_code
    assert last == 429  # one client (203.0.113.7) three times, however it varied its own part
    assert client_anon.get(URL, HTTP_X_FORWARDED_FOR="203.0.113.8", **via_proxy).status_code == 200  # another client
    # an untrusted peer's header is ignored: the peer itself is counted
    for _ in range(2):
        assert client_anon.get(URL, HTTP_X_FORWARDED_FOR="10.1.1.1", REMOTE_ADDR="192.0.2.50").status_code == 200
    assert client_anon.get(URL, HTTP_X_FORWARDED_FOR="10.1.1.2", REMOTE_ADDR="192.0.2.50").status_code == 429


def test_guessed_api_keys_are_throttled_per_ip_then_even_a_valid_key_waits(settings, client_anon, api_key, archs):
    _rates(settings, auth_failure="3/hour")
    attacker = {"REMOTE_ADDR": "192.0.2.66"}
    for guess in range(3):
        response = client_anon.get(URL, HTTP_AUTHORIZATION=f"Api-Key amk_guess{guess}", **attacker)
        assert response.status_code == 401
    for header in ({"HTTP_AUTHORIZATION": "Api-Key amk_guess4"}, {"HTTP_X_API_KEY": "amk_guess5"},
                   {"HTTP_AUTHORIZATION": f"Api-Key {api_key[1]}"}):  # a found key is not confirmed either
        response = client_anon.get(URL, **header, **attacker)
        assert response.status_code == 429
        assert error_of(response)["code"] == "throttled" and int(response["Retry-After"]) > 0
    # the key's owner, elsewhere, is not locked out
    assert client_anon.get(URL, HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}", REMOTE_ADDR="192.0.2.1").status_code == 200


def _login(client, password: str, ip: str, username: str = "root"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                      "next": "/admin/"}, REMOTE_ADDR=ip)


def test_admin_password_guessing_is_locked_out_per_ip(settings, superuser):
    from django.test import Client

    _rates(settings, admin_login_ip="3/hour", admin_login_user="100/hour")
    attacker = Client()
    for guess in range(3):
        response = _login(attacker, f"guess{guess}", "192.0.2.66")
        assert response.status_code == 200 and "_auth_user_id" not in attacker.session
    response = _login(attacker, "pw", "192.0.2.66")  # the right password, too late
    assert response.status_code == 429 and "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in attacker.session
    admin = Client()
    assert _login(admin, "pw", "192.0.2.1").status_code == 302 and "_auth_user_id" in admin.session


def test_admin_password_guessing_spread_over_addresses_is_locked_out_per_username(settings, superuser):
    from django.test import Client

    _rates(settings, admin_login_ip="100/hour", admin_login_user="3/hour")
    attacker = Client()
    for guess in range(3):
        assert _login(attacker, f"guess{guess}", f"198.51.100.{guess}").status_code == 200
    assert _login(attacker, "pw", "198.51.100.9", username="ROOT").status_code == 429
    assert "_auth_user_id" not in attacker.session


def test_a_cache_outage_does_not_take_the_api_down(settings, client_anon, archs):
    """Rate limits fail open (logged) when the shared cache cannot be reached."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {"socket_connect_timeout": 0.2}}}
    _rates(settings, anon="1/min", auth_failure="1/min")
    assert [client_anon.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    assert client_anon.get(URL, HTTP_AUTHORIZATION="Api-Key amk_wrong").status_code == 401


def test_client_ip_rules(settings):
    from types import SimpleNamespace

    from marketplace.api.client_ip import client_ip

    def ip(remote: str, xff: str = "") -> str:
        return client_ip(SimpleNamespace(META={"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": xff}))

    settings.TRUSTED_PROXIES = []
    assert ip("192.0.2.1", "203.0.113.5") == "192.0.2.1"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    assert ip("10.0.0.1", "203.0.113.5") == "203.0.113.5"
    assert ip("10.0.0.1", "6.6.6.6, 203.0.113.5, 10.0.0.2") == "203.0.113.5"
    assert ip("10.0.0.1", "203.0.113.5:4711") == "203.0.113.5"
    assert ip("2001:db8::1", "[2001:dead::5]:80, 2001:db8::2") == "2001:dead::5"
    assert ip("10.0.0.1", "not-an-ip, 10.0.0.3") == "10.0.0.3"  # garbage stops the walk at the last trusted hop
    assert ip("10.0.0.1", "") == "10.0.0.1"
    assert client_ip(SimpleNamespace(META={})) == "unknown"
