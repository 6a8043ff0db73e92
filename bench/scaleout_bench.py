"""Sharded training on Celery workers against one process: wall time, speed-up and the largest difference.

Single: ``WMatrixTrainer.train()`` in this process on one torch thread (one device). Sharded: the canvas of
``marketplace.alignment.sharded_training`` published to Redis, run by `--workers` ``--pool solo`` worker processes
on one torch thread each (one device per worker), with Redis as the result backend and a SQLite file as the TaskRun
database. Steady state on both sides: each first runs once untimed on `--warmup-anchors` other anchors (seed 1), so
the libraries and models are loaded and the fixed texts (contrastive anchors, validation concepts) are in its cache,
as on a long-running worker; the timed run (seed 0) extracts every one of its anchors. The sharded time runs from
publishing the canvas to its result. Models: tiny random ones built here (``tests/tiny_models.py``) unless
`--source` / `--target` name others. Prints both times, the ratio and the largest difference of maps, metrics and
CKA (must be ≤ 1e-6).

    python bench/scaleout_bench.py --anchors 1000 --shards 2 --workers 2 --redis-url redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# One thread for every BLAS/OpenMP pool of this process too (set before numpy or torch is imported), as the workers.
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    """`count` solo workers on the gpu queue, each with its own log file."""
    processes = []
    for k in range(count):
        command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", "gpu", "--pool", "solo",
                   "-c", "1", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
                   "-n", f"scaleout-{k}-{uuid.uuid4().hex[:6]}@%h"]
        with open(logs / f"worker-{k}.log", "wb") as log:
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL))
    return processes


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def main() -> None:
    """Parse arguments, time both runs, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup-anchors", type=int, default=100)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="broker and result backend (emptied)")
    parser.add_argument("--source", help="model name or path (default: a tiny random llama built here)")
    parser.add_argument("--target", help="model name or path (default: a tiny random qwen2 built here)")
    args = parser.parse_args()
    os.environ.update(THREADS)

    work = Path(tempfile.mkdtemp(prefix="scaleout-bench-"))
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    if args.source and args.target:
        source, target = args.source, args.target
    else:
        from tiny_models import build_tiny_model

        source, target = (str(build_tiny_model(family, work / "models")) for family in ("llama", "qwen2"))
    split = {"validation_split": 0.1, "test_split": 0.1}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
           "DATABASE_URL": f"sqlite:///{work / 'taskruns.sqlite3'}", "CELERY_BROKER_URL": args.redis_url,
           "CELERY_RESULT_BACKEND": args.redis_url, "ALIGNMENT_CACHE_DIR": str(work / "shared-cache"),
           "ALIGNMENT_MATRIX_DIR": str(work / "wmatrices"), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    workers = _start_workers(args.workers, env, work)
    try:
        os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL",
                                               "CELERY_RESULT_BACKEND")})
        os.environ["ALIGNMENT_CACHE_DIR"] = str(work / "single-cache")
        import django
        import torch

        django.setup()
        torch.set_num_threads(1)
        from sharding_checks import largest_difference

        from alignment_plugins.trainer import WMatrixTrainer
        from alignment_plugins.wmatrix import WMatrix
        from marketplace.alignment import sharded_training
        from marketplace.celery import app

        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=1.0)) < args.workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in workers):
                raise SystemExit(f"workers did not start; logs in {work}")

        def single(anchors: int, seed: int) -> tuple[float, WMatrix]:
            started = time.perf_counter()
            trainer = WMatrixTrainer(source, target, seed=seed).configure(num_anchors=anchors, layers="all")
            matrix = trainer.train(**split)
            return time.perf_counter() - started, matrix

        def sharded(anchors: int, seed: int) -> tuple[float, str]:
            spec = sharded_training.training_spec(source, target, out=work / f"sharded-{seed}.wmatrix",
                                                  shards=args.shards, num_anchors=anchors, seed=seed, device="cpu",
                                                  **split)
            started = time.perf_counter()
            result = sharded_training.training_signature(spec).apply_async().get(timeout=900)
            return time.perf_counter() - started, result["out"]

        single(args.warmup_anchors, seed=1)
        sharded(args.warmup_anchors, seed=1)
        single_s, single_matrix = single(args.anchors, seed=0)
        sharded_s, out = sharded(args.anchors, seed=0)
        worst = largest_difference(single_matrix, WMatrix.load(out))
    finally:
        _stop(workers)
    print(f"anchors {args.anchors}, {args.shards} shards on {args.workers} worker processes (one torch thread each), "
          f"cores {os.cpu_count()}")
    phases = ", ".join(f"{k} {v:.1f}" for k, v in single_matrix.training["timings_s"].items())
    print(f"single process   {single_s:8.1f} s  ({phases})")
    print(f"sharded (chord)  {sharded_s:8.1f} s  (logs of each task: {work}/worker-*.log)")
    print(f"speed-up         {single_s / sharded_s:8.2f} x")
    print(f"max |difference| {worst:.2e} (maps, metrics, CKA; bound 1e-6)")


if __name__ == "__main__":
    main()
