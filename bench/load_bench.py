"""Load bench (loopback only): the compatibility estimate and the listing list under production settings and
gunicorn, at a fixed request rate, beside a plain DRF view.

What it does:

1. creates a throw-away PostgreSQL database (``--pg``, default ``postgres://postgres@127.0.0.1:5432``; the name
   ``loadbench_<pid>``, dropped at the end) or, with ``--sqlite``, a SQLite file in a temporary folder; migrates it
   with ``marketplace.settings.production`` (through ``bench/load_site.py``, which adds ``/bench/plain/``);
2. seeds two models, a W-Matrix between them, ``--listings`` listings and the default-config estimate of the first
   listing (precomputed, as the CPU worker does after a listing event);
3. starts ``gunicorn marketplace.wsgi:application`` with ``--workers`` sync workers on 127.0.0.1, rate limits on
   the shared Redis cache (``--cache``, database 14 by default, emptied) at rates the bench cannot reach — their
   cost is measured, their refusals are not;
4. drives each endpoint in turn — ``/bench/plain/``, ``/api/v1/vectors/<id>/compatibility/?target_model=…``,
   ``/api/v1/vectors/`` — open-loop at ``--rate`` requests/s for ``--duration`` seconds: request i is due at
   t0 + i/rate, sent by a pool of threads (a new connection each: gunicorn's sync workers close it), and its
   latency is counted from when it was due (a server that falls behind shows in p99; the client's own lag is
   reported as ``late``).

Prints per endpoint: requests, achieved requests/s, p50/p90/p99/max latency in ms, errors (non-2xx or failed
connections), and p50/p99 as a ratio to the plain view's.

    python bench/load_bench.py                           # 200 rps, 20 s each, PostgreSQL, 2 workers
    python bench/load_bench.py --duration 5 --sqlite     # shorter, no PostgreSQL
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


# ------------------------------------------------------------------------------------------------ the server side
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(database_url: str, cache_url: str, media: Path) -> dict[str, str]:
    """The environment of migrate, seed and gunicorn: production settings (bench/load_site.py) on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.load_site", PYTHONPATH=str(ROOT),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), CERTIFICATE_SIGNING_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url, CACHE_URL=cache_url, CELERY_BROKER_URL="memory://",
        DJANGO_ALLOWED_HOSTS=HOST, DJANGO_SECURE_COOKIES="false", MEDIA_ROOT=str(media / "media"),
        STATIC_ROOT=str(media / "static"), ALIGNMENT_MATRIX_DIR=str(media / "wmatrices"),
        API_THROTTLE_RATE_ANON="100000000/min", API_THROTTLE_RATE_KEY="100000000/min", MARKETPLACE_LOG_LEVEL="WARNING",
    )
    return env


def seed(listings: int) -> dict[str, str]:
    """Seed the bench database (run in a child process with server_env); return the URLs to drive."""
    import django

    django.setup()
    from decimal import Decimal

    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.files.base import ContentFile

    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix as WMatrixFile
    from alignment_plugins.wmatrix import pair_key
    from marketplace.alignment import estimates
    from marketplace.alignment.models import WMatrix
    from marketplace.catalog.models import Architecture, VectorListing
    from marketplace.catalog.vector_files import listing_package, vector_sha256

    dx, dy, layers, pair = 64, 48, 4, (2, 1)
    common = {"family": "bench", "num_layers": layers, "support_level": Architecture.Support.FULL}
    source = Architecture.objects.create(name="bench-src", hidden_size=dx, **common)
    target = Architecture.objects.create(name="bench-tgt", hidden_size=dy, **common)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, dx))
    y = x @ rng.standard_normal((dx, dy)) + 0.05 * rng.standard_normal((256, dy))
    metrics = {"semantic_preservation": 0.93, "accuracy": 0.88, "reconstruction_error": 0.04}
    path = Path(os.environ["ALIGNMENT_MATRIX_DIR"]) / "bench.wmatrix"
    path.parent.mkdir(parents=True, exist_ok=True)
    WMatrixFile(source={"name": source.name, "hidden_size": dx, "num_layers": layers, "fingerprint": "fp-s"},
                target={"name": target.name, "hidden_size": dy, "num_layers": layers, "fingerprint": "fp-t"},
                maps={pair: RidgeSolver().fit_arrays(x, y)}, layer_map=[pair], best_pair=pair, method="ridge",
                anchors={"hash": "bench", "count": 256}, pair_metrics={pair_key(pair): metrics}).save(path)
    import hashlib

    matrix = WMatrix(source=source, target=target, version=1, method="ridge", layer_map=[list(pair)],
                     best_source_layer=pair[0], best_target_layer=pair[1],
                     file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(), metrics={"2->1": metrics},
                     anchor_set_hash="bench", source_fingerprint="fp-s", target_fingerprint="fp-t")
    with path.open("rb") as handle:
        matrix.file.save("bench.wmatrix", File(handle), save=False)
    matrix.save()
    seller = get_user_model().objects.create_user("bench-seller", "s@bench.test", secrets.token_urlsafe(16))
    first = None
    for i in range(listings):
        vector = rng.standard_normal(dx).astype(np.float32)
        listing = VectorListing(seller=seller, name=f"Bench vector {i}", description="load bench",
                                source_model=source, layer=pair[0], capability_domain="style", grade="B",
                                price=Decimal("1"), vector_dim=dx, vector_norm=float(np.linalg.norm(vector)),
                                vector_sha256=vector_sha256(vector))
        listing.vector_file.save(f"bench{i}.vpkg", ContentFile(listing_package(listing, vector, None).to_bytes()),
                                 save=False)
        listing.save()
        first = first or listing
    made = estimates.precompute_estimates(first)
    assert made, "no estimate was precomputed"
    return {"plain": "/bench/plain/",
            "compatibility": f"/api/v1/vectors/{first.public_id}/compatibility/?target_model={target.name}",
            "listings": "/api/v1/vectors/"}


def _wait_http(port: int, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = _get(port, path, timeout=5.0)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer {path} within {timeout:.0f} s")


# ------------------------------------------------------------------------------------------------ the client side
def _get(port: int, path: str, timeout: float = 10.0) -> tuple[int, int]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read()
        return response.status, len(body)
    finally:
        connection.close()


def drive(port: int, path: str, rate: float, duration: float, threads: int) -> dict[str, Any]:
    """Open-loop load on `path`: request i due at t0 + i/rate; latency from due time (ms)."""
    total = int(rate * duration)
    latencies: list[float] = [0.0] * total
    late: list[float] = [0.0] * total
    status: list[int] = [0] * total
    sizes: list[int] = [0] * total
    counter = iter(range(total))
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.2

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            due = t0 + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent = time.perf_counter()
            try:
                status[i], sizes[i] = _get(port, path)
            except OSError:
                status[i] = -1
            latencies[i] = (time.perf_counter() - due) * 1000.0
            late[i] = max(sent - due, 0.0) * 1000.0

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - t0
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"path": path, "requests": total, "seconds": round(elapsed, 2), "rps": round(total / elapsed, 1),
            "p50_ms": round(pct(0.50), 2), "p90_ms": round(pct(0.90), 2), "p99_ms": round(pct(0.99), 2),
            "max_ms": round(ordered[-1], 2), "errors": sum(1 for s in status if not 200 <= s < 300),
            "late_p99_ms": round(sorted(late)[min(total - 1, int(0.99 * total))], 2),
            "bytes_median": int(statistics.median(sizes))}


# ------------------------------------------------------------------------------------------------------- the run
def _pg_database(base: str, name: str, create: bool) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--threads", type=int, default=32, help="client threads (default 32)")
    parser.add_argument("--listings", type=int, default=20, help="listings seeded (default 20; one list page)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--cache", default="redis://127.0.0.1:6379/14", help="the shared cache (emptied)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed_only:  # child process: seed, print the URLs
        print(json.dumps(seed(args.listings)))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="loadbench-"))
    db_name = f"loadbench_{os.getpid()}"
    database_url = f"sqlite:///{tmp / 'db.sqlite3'}" if args.sqlite else f"{args.pg}/{db_name}"
    env = server_env(database_url, args.cache, tmp)
    server = None
    try:
        import redis

        redis.Redis.from_url(args.cache).flushdb()
        if not args.sqlite:
            _pg_database(args.pg, db_name, create=True)
        print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL ' + db_name}; migrating and seeding …",
              flush=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        seeded = subprocess.run([sys.executable, __file__, "--seed-only", "--listings", str(args.listings)],
                                cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        urls = json.loads(seeded.stdout.strip().splitlines()[-1])
        port = _free_port()
        log = (tmp / "gunicorn.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application", "--bind", f"{HOST}:{port}",
             "--workers", str(args.workers), "--worker-tmp-dir", "/dev/shm", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for path in urls.values():
            _wait_http(port, path)
            for _ in range(20):  # warm both workers' connections and caches
                _get(port, path)
        print(f"gunicorn: {args.workers} sync workers on {HOST}:{port}; {args.rate:g} rps × {args.duration:g} s "
              f"per endpoint, {args.threads} client threads, cache {args.cache}", flush=True)
        results = {name: drive(port, path, args.rate, args.duration, args.threads) for name, path in urls.items()}
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if not args.sqlite:
            _pg_database(args.pg, db_name, create=False)
        shutil.rmtree(tmp, ignore_errors=True)
    plain = results["plain"]
    header = (f"{'endpoint':<14}{'requests':>9}{'rps':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
              f"{'errors':>8}{'p50/plain':>11}{'p99/plain':>11}{'late p99':>10}{'bytes':>8}")
    print(header)
    for name, r in results.items():
        r["p50_ratio"] = round(r["p50_ms"] / plain["p50_ms"], 2) if plain["p50_ms"] else None
        r["p99_ratio"] = round(r["p99_ms"] / plain["p99_ms"], 2) if plain["p99_ms"] else None
        print(f"{name:<14}{r['requests']:>9}{r['rps']:>8}{r['p50_ms']:>9}{r['p90_ms']:>9}{r['p99_ms']:>9}"
              f"{r['max_ms']:>9}{r['errors']:>8}{r['p50_ratio']:>11}{r['p99_ratio']:>11}{r['late_p99_ms']:>10}"
              f"{r['bytes_median']:>8}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "results": results}, indent=2))
    return 0 if all(r["errors"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
