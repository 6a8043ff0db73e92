"""Faults on real brokers (Redis, RabbitMQ) with real worker processes: a broker that is down, a worker SIGKILLed.

* Broker stopped: the web process publishes through a TCP proxy that the test stops (the shared Redis/RabbitMQ keep
  running for everyone else); a listing and a purchase are still accepted (201, 202), their events are kept in the
  outbox, and once the proxy is back the relay sends them and the worker processes each once.
* Worker killed mid-delivery: ``slow_worker`` makes ``deliver_purchase`` take INTEGRATION_SLOW_DELIVERY seconds and
  logs each start and finish; the worker is SIGKILLed mid-delivery, a new one started, and the purchase is
  delivered exactly once (one finish) within a bound set by the visibility timeout (Redis) or the TaskRun lease.
* A long task outliving Redis's visibility timeout while its worker is alive is not run a second time.

Timeouts are small and set through the environment: INTEGRATION_VISIBILITY_TIMEOUT (Redis redelivery, default 8 s),
INTEGRATION_TASK_LEASE (default 6 s), INTEGRATION_RESTORE_INTERVAL (a Redis worker's sweep, default 2 s).
Measured recovery times are printed (``-s``) as ``RECOVERY ...`` lines.
"""

from __future__ import annotations

import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from dead_broker import publishing_to
from live_services import TcpProxy, wait_for
from test_flow import LISTING_LAYER, SOURCE_DIM, _architecture, _client, _vector_upload, _write_wmatrix

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
VISIBILITY_TIMEOUT = int(os.environ.get("INTEGRATION_VISIBILITY_TIMEOUT", "8"))
TASK_LEASE = int(os.environ.get("INTEGRATION_TASK_LEASE", "6"))
RESTORE_INTERVAL = int(os.environ.get("INTEGRATION_RESTORE_INTERVAL", "2"))  # Redis sweep for such messages
WORKER_START = 60  # a worker's start-up on a busy machine, at most


def _market(tmp_path: Path, django_user_model) -> dict:
    """A source and a target model with an active matrix, a seller and a funded buyer (with API clients)."""
    from marketplace.alignment.matrices import store_matrix
    from marketplace.catalog.ledger import deposit

    source = _architecture("itest-source", SOURCE_DIM, "llama")
    _architecture("itest-target-a", 6, "gemma3")
    store_matrix(_write_wmatrix(tmp_path / "a.wmatrix", source.name, "itest-target-a", 6, 0))
    seller = django_user_model.objects.create_user("itest-seller", password="pw")
    buyer = django_user_model.objects.create_user("itest-buyer", password="pw")
    deposit(buyer, Decimal("100"), memo="itest")
    return {"source": source, "seller": _client(seller), "buyer": _client(buyer)}


def _list_vector(seller_api) -> str:
    response = seller_api.post(
        "/api/v1/vectors/",
        {"name": "itest", "description": "faults", "source_model": "itest-source", "layer": LISTING_LAYER,
         "capability_domain": "reasoning", "grade": "B", "price": "10", "vector": _vector_upload(SOURCE_DIM)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _buy(buyer_api, listing_id: str, key: str):
    order = {"listing": listing_id, "target_model": "itest-target-a", "idempotency_key": key}
    return buyer_api.post("/api/v1/purchases/", order, format="json")


def _status(purchase_id: str) -> str:
    from marketplace.catalog.models import Purchase

    return Purchase.objects.get(public_id=purchase_id).status


def _deliveries(log: Path) -> list[tuple[str, int]]:
    """(start|done, pid) per line of the slow worker's delivery log."""
    if not log.exists():
        return []
    return [(what, int(pid)) for what, pid, _ in (line.split() for line in log.read_text().splitlines())]


def test_events_survive_a_stopped_broker_and_are_relayed_once(
    broker, worker_factory, transactional_db: None, django_user_model, tmp_path: Path,
) -> None:
    """This process publishes through a TCP proxy to the broker; stopping the proxy is a stopped broker for it (the
    worker keeps its own connection), starting it again is the broker coming back, on the same URL and pools."""
    from urllib.parse import urlsplit

    from django.core.management import call_command

    from marketplace.alignment.models import CompatibilityEstimate, TaskRun
    from marketplace.catalog.models import Purchase
    from marketplace.outbox.models import OutboxEvent

    live = worker_factory.start()
    market = _market(tmp_path, django_user_model)
    real = urlsplit(broker.url)
    proxy = TcpProxy(real.hostname, real.port)
    proxied_url = broker.url.replace(f"{real.hostname}:{real.port}", f"127.0.0.1:{proxy.start()}", 1)
    try:
        with publishing_to(proxied_url):
            listing_id = _list_vector(market["seller"])
            assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 0  # the broker is up: sent at commit
            wait_for(lambda: CompatibilityEstimate.objects.filter(listing__public_id=listing_id).exists(),
                     timeout=60, what="the first listing's estimates")

            proxy.stop()  # the broker is gone for this process
            market["seller"].raise_request_exception = market["buyer"].raise_request_exception = False
            second_listing = _list_vector(market["seller"])  # 201: the listing exists, its estimates come later
            started = time.monotonic()
            response = _buy(market["buyer"], second_listing, "down-1")
            print(f"\nPURCHASE WITH BROKER DOWN broker={broker.name}: {response.status_code} in "
                  f"{time.monotonic() - started:.2f}s")
            assert response.status_code == 202, response.content  # the purchase is paid and accepted
            purchase_id = response.json()["id"]
            replay = _buy(market["buyer"], second_listing, "down-1")  # a client's retry: the same purchase
            assert replay.status_code == 200 and replay.json()["id"] == purchase_id
            unsent = list(OutboxEvent.objects.filter(sent_at__isnull=True).order_by("id"))
            assert [e.task_name for e in unsent] == ["alignment.precompute_estimates", "alignment.translate_purchase"]
            assert all(e.attempts == 1 and e.last_error for e in unsent)
            call_command("relay_events", "--now")  # still down: kept
            assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 2
            time.sleep(2)
            assert _status(purchase_id) == Purchase.Status.PENDING  # nothing reached the worker
            assert not CompatibilityEstimate.objects.filter(listing__public_id=second_listing).exists()

            proxy.start()  # the broker is back: the relay (beat's task, or the command) sends the kept events
            call_command("relay_events", "--now")
            wait_for(lambda: _status(purchase_id) == Purchase.Status.DELIVERED, timeout=60, interval=0.3,
                     what="the relayed purchase to be delivered")
            wait_for(lambda: CompatibilityEstimate.objects.filter(listing__public_id=second_listing).exists(),
                     timeout=60, what="the relayed listing's estimates")
            assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 0
            call_command("relay_events", "--now")  # nothing is sent twice
    finally:
        proxy.stop()
    purchase = Purchase.objects.get(public_id=purchase_id)
    run = TaskRun.objects.get(idempotency_key=f"translate_purchase:{purchase.pk}")
    assert run.status == TaskRun.Status.SUCCEEDED and run.attempts == 1
    time.sleep(1)
    assert len(re.findall(r"alignment\.translate_purchase\[[^\]]+\] succeeded", live.log())) == 1
    assert "already succeeded" not in live.log()  # no second message reached the worker


def _slow_env(log: Path, slow: float, visibility_timeout: int = VISIBILITY_TIMEOUT) -> dict[str, str]:
    return {"CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout), "TASK_LEASE_SECONDS": str(TASK_LEASE),
            "CELERY_UNACKED_RESTORE_INTERVAL": str(RESTORE_INTERVAL),
            "INTEGRATION_SLOW_DELIVERY": str(slow), "INTEGRATION_DELIVERY_LOG": str(log)}


def test_a_purchase_of_a_killed_worker_is_delivered_once(
    broker, worker_factory, transactional_db: None, django_user_model, tmp_path: Path,
) -> None:
    from marketplace.alignment.models import TaskRun
    from marketplace.catalog.models import Purchase

    slow = 12.0
    log = tmp_path / "deliveries.log"
    env = _slow_env(log, slow)
    first = worker_factory.start(app_module="slow_worker", env=env, python_path=(HERE,))
    market = _market(tmp_path, django_user_model)
    response = _buy(market["buyer"], _list_vector(market["seller"]), "kill-1")
    assert response.status_code == 202, response.content
    purchase_id = response.json()["id"]
    wait_for(lambda: _deliveries(log), timeout=60, what="the delivery to start")

    first.process.kill()  # SIGKILL mid-delivery: no warm shutdown, no ack, no reject
    first.process.wait(10)
    killed_at = time.monotonic()
    second = worker_factory.start(app_module="slow_worker", env=env, python_path=(HERE,))
    bound = (VISIBILITY_TIMEOUT + RESTORE_INTERVAL if broker.name == "redis" else 0) + TASK_LEASE + slow + WORKER_START
    wait_for(lambda: _status(purchase_id) == Purchase.Status.DELIVERED, timeout=bound, interval=0.5,
             what=f"the purchase to be delivered after the kill (bound {bound:.0f} s)")
    recovery = time.monotonic() - killed_at
    print(f"\nRECOVERY broker={broker.name} visibility_timeout={VISIBILITY_TIMEOUT}s lease={TASK_LEASE}s "
          f"delivery={slow:.0f}s: delivered {recovery:.1f}s after SIGKILL")

    purchase = Purchase.objects.get(public_id=purchase_id)
    run = TaskRun.objects.get(idempotency_key=f"translate_purchase:{purchase.pk}")
    assert run.status == TaskRun.Status.SUCCEEDED and run.attempts == 2  # the killed attempt and the one that ran
    # Exactly once: no copy of the message left to run it again (Redis restores a copy after the timeout).
    time.sleep(VISIBILITY_TIMEOUT + RESTORE_INTERVAL + 2 if broker.name == "redis" else 3)
    assert _deliveries(log) == [("start", first.pid), ("start", second.pid), ("done", second.pid)]
    assert _status(purchase_id) == Purchase.Status.DELIVERED
    assert TaskRun.objects.get(pk=run.pk).attempts == 2


def test_a_task_outliving_the_visibility_timeout_runs_once(
    broker, worker_factory, transactional_db: None, django_user_model, tmp_path: Path,
) -> None:
    """Redis hands the message of a running task to the idle second worker after the visibility timeout; the live
    lease makes that copy wait instead of running the delivery a second time."""
    from marketplace.alignment.models import TaskRun
    from marketplace.catalog.models import Purchase

    if broker.name != "redis":
        pytest.skip("RabbitMQ redelivers a message only when its consumer is gone")
    visibility = 4
    slow = visibility + RESTORE_INTERVAL + 6.0  # long enough that the idle worker restores the message meanwhile
    log = tmp_path / "deliveries.log"
    env = _slow_env(log, slow, visibility_timeout=visibility)
    workers = [worker_factory.start(app_module="slow_worker", env=env, python_path=(HERE,)) for _ in range(2)]
    market = _market(tmp_path, django_user_model)
    response = _buy(market["buyer"], _list_vector(market["seller"]), "long-1")
    assert response.status_code == 202, response.content
    purchase_id = response.json()["id"]
    wait_for(lambda: _status(purchase_id) == Purchase.Status.DELIVERED, timeout=slow + 60, interval=0.5,
             what="the purchase to be delivered")
    time.sleep(TASK_LEASE + 2)  # let a waiting copy see the finished run
    starts = [pid for what, pid in _deliveries(log) if what == "start"]
    assert len(starts) == 1, _deliveries(log)
    purchase = Purchase.objects.get(public_id=purchase_id)
    run = TaskRun.objects.get(idempotency_key=f"translate_purchase:{purchase.pk}")
    assert run.attempts == 1 and run.status == TaskRun.Status.SUCCEEDED
    other = next(w for w in workers if w.pid != starts[0])
    assert "lease held by" in other.log()  # the copy was delivered to the other worker and waited on the lease
