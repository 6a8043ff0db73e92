"""The SDK's HTTP layer against a scripted server (httpx.MockTransport): retries, backoff, timeouts, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from awareness_sdk import Marketplace, errors
from awareness_sdk.http import MAX_RETRY_AFTER, Transport

LISTING = {"id": "vec_1", "name": "Formal", "source_model": "src", "price": "10.5000", "layer": 2,
           "created_at": "2026-11-30T10:00:00Z", "package": None}


def _error(status: int, code: str, message: str = "no", details=None, headers=None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "details": details}},
                          headers=headers)


def scripted(*answers: httpx.Response | Exception) -> tuple[Marketplace, list[httpx.Request], list[float]]:
    """A Marketplace whose server gives `answers` in order; returns it, the requests seen and the waits slept."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    market = Marketplace(api_key="amk_test", base_url="http://api.test", transport=httpx.MockTransport(handler),
                         max_retries=3, backoff=0.5)
    waits: list[float] = []
    market._transport._sleep = waits.append
    return market, seen, waits


def test_typed_result_and_auth_header():
    market, seen, _ = scripted(httpx.Response(200, json=LISTING))
    listing = market.vectors.get("vec_1")
    assert listing.id == "vec_1" and listing.layer == 2 and listing.raw == LISTING
    assert str(listing.price) == "10.5000" and listing.created_at.year == 2026 and listing.created_at.tzinfo
    assert seen[0].headers["Authorization"] == "Api-Key amk_test"
    assert seen[0].url.path == "/api/v1/vectors/vec_1/"


def test_get_is_retried_on_5xx_and_429_with_retry_after():
    market, seen, waits = scripted(_error(503, "server_error"), _error(429, "throttled", headers={"Retry-After": "7"}),
                                   httpx.Response(200, json=LISTING))
    assert market.vectors.get("vec_1").id == "vec_1"
    assert len(seen) == 3
    assert 0.375 <= waits[0] <= 0.625  # backoff 0.5 s ± 25 %
    assert waits[1] == 7.0  # the server's Retry-After


def test_backoff_doubles_and_gives_up_with_the_last_error():
    market, seen, waits = scripted(*[_error(502, "bad_gateway")] * 4)
    with pytest.raises(errors.ServerError) as info:
        market.vectors.get("vec_1")
    assert len(seen) == 4 and info.value.status == 502
    for wait, base in zip(waits, [0.5, 1.0, 2.0], strict=True):  # backoff · 2^attempt, ± 25 % jitter
        assert 0.75 * base <= wait <= 1.25 * base


def test_retry_after_is_capped():
    transport = Transport("http://x", max_retries=1)
    assert transport._delay(0, "100000") == MAX_RETRY_AFTER


def test_purchase_post_is_retried_with_the_same_idempotency_key():
    body = {"id": "pur_1", "status": "pending", "listing": "vec_1", "target_model": "tgt"}
    market, seen, _ = scripted(_error(500, "server_error"), httpx.ConnectError("refused"),
                               httpx.Response(202, json=body, headers={"Idempotent-Replayed": "false"}))
    purchase = market.purchases.create("vec_1", "tgt")
    assert purchase.id == "pur_1" and purchase.replayed is False
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1 and next(iter(keys)).startswith("sdk-")
    assert json.loads(seen[0].content) == {"listing": "vec_1", "target_model": "tgt"}


def test_a_post_without_idempotency_is_not_repeated_after_a_5xx():
    market, seen, _ = scripted(_error(500, "server_error"))
    with pytest.raises(errors.ServerError):
        market.alignment_jobs.create("a", "b")
    assert len(seen) == 1


def test_a_post_is_retried_when_the_connection_never_opened_or_on_429():
    job = {"id": "job_1", "status": "queued"}
    market, seen, _ = scripted(httpx.ConnectError("refused"), _error(429, "throttled"), httpx.Response(202, json=job))
    assert market.alignment_jobs.create("a", "b").status == "queued"
    assert len(seen) == 3


def test_a_read_timeout_after_the_retries_is_a_transport_error():
    market, seen, _ = scripted(*[httpx.ReadTimeout("slow")] * 4)
    with pytest.raises(errors.TransportError, match="slow"):
        market.vectors.get("vec_1")
    assert len(seen) == 4


@pytest.mark.parametrize(("status", "code", "cls"), [
    (400, "validation_error", errors.ValidationError), (401, "authentication_failed", errors.AuthenticationFailed),
    (402, "insufficient_funds", errors.InsufficientFunds), (404, "not_found", errors.NotFound),
    (409, "not_delivered", errors.NotDelivered), (409, "not_exportable", errors.NotExportable),
    (409, "conflict", errors.Conflict), (413, "payload_too_large", errors.PayloadTooLarge),
    (418, "teapot", errors.ApiError), (404, "brand_new_code", errors.NotFound),
    (403, "quota_exceeded", errors.QuotaExceeded),
])
def test_errors_map_by_code_then_status(status: int, code: str, cls: type):
    market, _, _ = scripted(_error(status, code, "said the server", {"field": ["bad"]}))
    with pytest.raises(cls) as info:
        market.vectors.get("vec_1")
    assert type(info.value) is cls
    assert (info.value.status, info.value.code, info.value.message) == (status, code, "said the server")
    assert info.value.details == {"field": ["bad"]} and "vec_1" in info.value.url


def test_a_lost_database_is_retried_then_raised_as_service_unavailable_with_retry_after():
    market, seen, _ = scripted(*[_error(503, "database_unavailable", details={"retry_after": 1})] * 4)
    with pytest.raises(errors.ServiceUnavailable) as info:
        market.vectors.get("vec_1")
    assert isinstance(info.value, errors.ServerError) and info.value.retry_after == 1.0
    assert len(seen) > 1  # a GET is retried on a 5xx before the error is raised


def test_rate_limited_exposes_retry_after_and_a_non_json_error_keeps_its_text():
    market, _, _ = scripted(*[_error(429, "throttled", details={"retry_after": 3})] * 4)
    with pytest.raises(errors.RateLimited) as info:
        market.vectors.get("vec_1")
    assert info.value.retry_after == 3.0
    market, _, _ = scripted(httpx.Response(404, text="<html>nope</html>"))
    with pytest.raises(errors.NotFound, match="nope"):
        market.vectors.get("vec_1")


def test_undeclared_parameters_are_refused_before_sending():
    market, seen, _ = scripted()
    with pytest.raises(TypeError, match="no query parameter"):
        market._transport.request("vectors.list", query={"colour": "red"})
    assert seen == []


def test_download_is_checked_against_the_announced_sha256():
    market, _, _ = scripted(httpx.Response(200, content=b"abc", headers={"X-Content-SHA256": "0" * 64}))
    with pytest.raises(errors.IntegrityError):
        market.purchases.download("pur_1", "safetensors")
    with pytest.raises(ValueError, match="format must be one of"):
        market.purchases.download("pur_1", "pickle")


def test_pages_are_followed_by_search():
    def page(results: list[dict], nxt: str | None) -> httpx.Response:
        return httpx.Response(200, json={"count": 3, "next": nxt, "previous": None, "results": results})

    market, seen, _ = scripted(page([LISTING, {**LISTING, "id": "vec_2"}], "http://api.test/api/v1/vectors/?page=2"),
                               page([{**LISTING, "id": "vec_3"}], None))
    assert [v.id for v in market.vectors.search("formal", grade="B", page_size=2)] == ["vec_1", "vec_2", "vec_3"]
    assert [dict(r.url.params) for r in seen] == [
        {"search": "formal", "grade": "B", "page_size": "2", "page": "1"},
        {"search": "formal", "grade": "B", "page_size": "2", "page": "2"}]


def test_wait_raises_on_failure_and_on_timeout(monkeypatch: pytest.MonkeyPatch):
    import awareness_sdk.marketplace as client

    clock = [0.0]
    monkeypatch.setattr(client.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(client.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    failed = {"id": "pur_1", "status": "failed", "error": "the map sends this vector to zero"}
    market, _, _ = scripted(httpx.Response(200, json={"id": "pur_1", "status": "processing"}),
                            httpx.Response(200, json=failed))
    with pytest.raises(errors.DeliveryFailed, match="to zero") as info:
        market.purchases.wait("pur_1")
    assert info.value.purchase.status == "failed"
    market, _, _ = scripted(*[httpx.Response(200, json={"id": "pur_1", "status": "pending"})] * 50)
    with pytest.raises(errors.WaitTimeout) as timeout:
        market.purchases.wait("pur_1", timeout=10)
    assert timeout.value.last.status == "pending" and clock[0] <= 10


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWARENESS_API_KEY", "amk_env")
    monkeypatch.setenv("AWARENESS_BASE_URL", "http://env.test:9000")
    seen: list[httpx.Request] = []
    handler: Callable[[httpx.Request], httpx.Response] = lambda r: seen.append(r) or httpx.Response(  # noqa: E731
        200, json={"count": 0, "results": []})
    market = Marketplace(transport=httpx.MockTransport(handler))
    assert market.support_matrix() == []
    assert str(seen[0].url) == "http://env.test:9000/api/v1/support-matrix/"
    assert seen[0].headers["Authorization"] == "Api-Key amk_env"


def test_list_pages_are_typed_summaries_and_get_takes_one():
    from awareness_sdk.types import VectorListing, VectorListingSummary

    summary = {"id": "vec_1", "name": "Formal", "capability": "formality", "method": "pca", "price": "10.5000"}
    page = httpx.Response(200, json={"count": 1, "next": None, "previous": None, "results": [summary]})
    market, seen, _ = scripted(page, httpx.Response(200, json={**LISTING, "package": {"capability": "formality"}}))
    (row,) = market.vectors.list().results
    assert isinstance(row, VectorListingSummary) and row.capability == "formality" and row.price == Decimal("10.5")
    full = market.vectors.get(row)
    assert isinstance(full, VectorListing) and full.capability == "formality"
    assert seen[1].url.path == "/api/v1/vectors/vec_1/"
