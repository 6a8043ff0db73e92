"""Money benchmark: concurrent purchases on PostgreSQL — deadlocks, errors, elapsed time, is the ledger exact.

Creates a temporary PostgreSQL database (``moneybench_<pid>_<random>``, dropped at the end unless ``--keep``),
migrates it, and runs the purchase service (``catalog.purchases.create_purchase``) from `--threads` threads, each
with its own connection and transaction, released together:

  crossing     `--crossing-trials` trials of "A buys from B while B buys from A" (two threads per trial);
  one-account  `--purchases` purchases at once by one buyer who can pay for `--affordable` of them, while the
               sellers buy the buyer's listing back (every pair of accounts crossed);
  refunds      every purchase of the one-account round refunded twice at once (the failure path) while new
               purchases run (skipped when the code has no ``catalog.refunds``).

Delivery is not measured (the purchase event is dropped). Prints one line per round (ok, refused, deadlocks, other
errors, elapsed seconds, purchases per second) and whether the ledger is exact: every transaction sums to zero,
each balance equals its entries, the sum of balances equals what was deposited, no balance below zero.

    python bench/money_bench.py --purchases 100 --threads 20 --crossing-trials 20
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL (a role that may create databases), without a database name")
    parser.add_argument("--purchases", type=int, default=100)
    parser.add_argument("--affordable", type=int, default=60, help="how many of --purchases the buyer can pay")
    parser.add_argument("--threads", type=int, default=20, help="connections at once (PostgreSQL allows ~100)")
    parser.add_argument("--crossing-trials", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def admin_execute(server: str, sql: str) -> None:
    """Run `sql` on the server's ``postgres`` database (autocommit)."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def setup_django(database_url: str) -> None:
    """Point Django (test settings: eager Celery, temporary media) at `database_url` and migrate it."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings.test"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DATABASE_CONN_MAX_AGE"] = "0"
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="moneybench-media-"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from marketplace import events

    events.purchase_created = lambda purchase_id: None  # delivery is not measured
    events.listing_created = lambda listing_id: None
    logging.getLogger("marketplace").setLevel(logging.CRITICAL)  # the refund round logs one error per refund


def classify(exc: BaseException) -> str:
    """"refused" for a service refusal (402/409...), "deadlock" for PostgreSQL's deadlock abort, else "error"."""
    from marketplace.errors import ServiceError

    if isinstance(exc, ServiceError):
        return "refused"
    return "deadlock" if "deadlock detected" in str(exc) else "error"


def concurrently(calls: list[Callable[[], Any]], threads: int) -> tuple[Counter, float, list[str]]:
    """Run `calls` from `threads` threads released together; return (outcome counts, seconds, error samples)."""
    from django.db import connections

    outcomes: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    n = min(threads, len(calls))
    start = threading.Barrier(n + 1)

    def worker(indices: list[int]) -> None:
        start.wait(timeout=60)
        try:
            for i in indices:
                try:
                    calls[i]()
                    outcome = "ok"
                except Exception as exc:
                    outcome = classify(exc)
                    if outcome != "refused":
                        with lock:
                            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                with lock:
                    outcomes[outcome] += 1
        finally:
            connections.close_all()

    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(worker, list(range(len(calls)))[t::n]) for t in range(n)]
        start.wait(timeout=60)
        began = time.perf_counter()
        for f in futures:
            f.result()
    return outcomes, time.perf_counter() - began, errors


def ledger_exact(deposited: Decimal) -> tuple[bool, str]:
    """Whether the books are exact; with a one-line account of the checks."""
    from django.db.models import Sum

    from marketplace.catalog.models import Account, LedgerEntry

    sums = set(LedgerEntry.objects.values("transaction_id").annotate(s=Sum("amount")).values_list("s", flat=True))
    unbalanced = len(sums - {Decimal("0")})
    mismatched = sum(
        1 for a in Account.objects.all()
        if a.balance != (LedgerEntry.objects.filter(account=a).aggregate(s=Sum("amount"))["s"] or Decimal("0")))
    total = Account.objects.aggregate(s=Sum("balance"))["s"] or Decimal("0")
    negative = Account.objects.filter(balance__lt=0).count()
    ok = not unbalanced and not mismatched and total == deposited and not negative
    return ok, (f"transactions={LedgerEntry.objects.values('transaction_id').distinct().count()} "
                f"unbalanced={unbalanced} balance!=entries={mismatched} sum(balances)={total} "
                f"deposited={deposited} negative={negative}")


def report(name: str, outcomes: Counter, seconds: float, errors: list[str]) -> None:
    """One line per round."""
    done = sum(outcomes.values())
    print(f"{name:<12} calls={done:<4} ok={outcomes['ok']:<4} refused={outcomes['refused']:<4} "
          f"deadlocks={outcomes['deadlock']:<3} errors={outcomes['error']:<3} elapsed={seconds:.2f}s "
          f"rate={done / seconds:.0f}/s")
    for line in sorted(set(errors))[:3]:
        print(f"{'':<12} e.g. {line[:150]}")


def main() -> int:
    """Create the database, run the rounds, print the figures, drop the database; exit 1 if the books are off."""
    args = parse_args()
    name = f"moneybench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_execute(args.pg, f'create database "{name}"')
    try:
        setup_django(f"{args.pg}/{name}")
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_execute(args.pg, f'drop database if exists "{name}" with (force)')


def run(args: argparse.Namespace) -> int:
    """The three rounds."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from safetensors.numpy import save

    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.listings import create_listing
    from marketplace.catalog.models import Architecture, Purchase
    from marketplace.catalog.purchases import create_purchase

    users = get_user_model().objects
    model = Architecture.objects.create(name="bench-src", family="llama", hidden_size=4, num_layers=2,
                                        support_level=Architecture.Support.FULL)
    vector = save({"vector": np.arange(1, 5, dtype=np.float32)})

    def listing(seller: Any, price: str) -> Any:
        return create_listing(seller=seller, layer=1, price=Decimal(price), vector_bytes=vector, name="bench",
                              description="", source_model=model, capability_domain="code", grade="B")

    def buy(buyer: Any, item: Any, key: str) -> Callable[[], Any]:
        return lambda: create_purchase(buyer=buyer, listing=item, target_model=model, idempotency_key=key)

    deposited = Decimal("0")

    def fund(user: Any, amount: str) -> None:
        nonlocal deposited
        deposit(user, Decimal(amount))
        deposited += Decimal(amount)

    print(f"PostgreSQL, {args.threads} threads (one connection each); python {sys.version.split()[0]}")
    # crossing: A buys from B while B buys from A
    a, b = users.create_user("bench-a"), users.create_user("bench-b")
    fund(a, "1000")
    fund(b, "1000")
    of_a, of_b = listing(a, "3"), listing(b, "2")
    total, seconds, errors = Counter(), 0.0, []
    for trial in range(args.crossing_trials):
        out, sec, err = concurrently([buy(a, of_b, f"a{trial}"), buy(b, of_a, f"b{trial}")], threads=2)
        total += out
        seconds += sec
        errors += err
    report("crossing", total, seconds, errors)

    # one account: many purchases at once, the sellers buying back meanwhile
    price = Decimal("1.2345")
    buyer = users.create_user("bench-buyer")
    fund(buyer, str(price * args.affordable))
    sellers = [users.create_user(f"bench-seller-{i}") for i in range(4)]
    for seller in sellers:
        fund(seller, "10")
    items = [listing(s, str(price)) for s in sellers]
    own = listing(buyer, "0.5")
    calls = [buy(buyer, items[i % len(items)], f"k{i}") for i in range(args.purchases)]
    calls += [buy(s, own, f"back{i}") for i, s in enumerate(sellers)]
    report("one-account", *concurrently(calls, threads=args.threads))

    try:
        from marketplace.catalog.refunds import refund_failed_delivery
    except ImportError:
        print("refunds      skipped: this code has no catalog.refunds")
    else:
        bought = list(Purchase.objects.filter(buyer=buyer))
        calls = [(lambda p=p: refund_failed_delivery(p, RuntimeError("bench"))) for p in bought for _ in range(2)]
        calls += [buy(s, own, f"again{i}") for i, s in enumerate(sellers)]
        report("refunds", *concurrently(calls, threads=args.threads))
        refunded = Purchase.objects.filter(buyer=buyer, status="refunded").count()
        entries = sum(p.ledger_entries.filter(kind="refund").count() for p in bought)
        print(f"{'':<12} purchases refunded={refunded}/{len(bought)} refund entries={entries} "
              f"(2 per purchase expected)")

    ok, detail = ledger_exact(deposited)
    print(f"ledger       {'EXACT' if ok else 'NOT EXACT'}: {detail}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
