"""Integration fixtures: real PostgreSQL, a real broker (Redis, then RabbitMQ) and a real Celery worker process.

Run this package alone::

    .venv/bin/python -m pytest -m integration tests/integration/marketplace -q

Services: PostgreSQL on 127.0.0.1:5432 (trust auth for a role that may create databases: ``INTEGRATION_PG_USER``,
else the first of postgres, root and the current user that connects), Redis on 127.0.0.1:6379 (database
``INTEGRATION_REDIS_DB``, default 11, emptied by the tests) and RabbitMQ on 127.0.0.1:5672 (guest/guest, vhost
``INTEGRATION_AMQP_VHOST``, default ``/``, its queues purged by the tests).
``.ci/run`` starts any that is down. A missing service skips the tests on a developer machine and fails them in CI
(``CI=true``). The whole package takes about half a minute (two worker start-ups, one PostgreSQL migration).

How it fits together
--------------------
* Database (``live_database``, module scope). pytest-django reads the settings when pytest starts, before this
  conftest is imported, and the rest of the suite runs on SQLite; so instead of changing ``DATABASE_URL`` for the
  whole run, the fixture creates a uniquely named PostgreSQL database with psycopg, points Django's ``default``
  connection of *this process* at it (a new connection object built from the same settings dict the worker gets
  through ``DATABASE_URL``), migrates it, and at teardown restores the original connection and drops the
  database (``WITH (FORCE)``). Tests use ``transactional_db``: every write is committed, so the worker sees it;
  pytest-django flushes the tables after each test.
* Files: ``MEDIA_ROOT`` (and ``ALIGNMENT_MATRIX_DIR``/``ALIGNMENT_CACHE_DIR``) are one temporary folder shared by
  this process (``override_settings``) and the worker (environment).
* Broker (``broker``, module scope, parametrized over Redis and RabbitMQ) and worker (``worker``, module scope, on
  that broker; tests that start, kill and restart their own workers use ``worker_factory``). The test process leaves
  eager mode: ``CELERY_BROKER_URL`` is set in its environment (Celery reads that variable before any setting),
  ``task_always_eager`` is turned off and the app's connection pools are dropped. The queues are purged, then
  ``python -m celery -A marketplace worker -Q default,gpu --pool solo -c 1`` starts as a child process with
  ``DJANGO_SETTINGS_MODULE=marketplace.settings.test`` (which turns eager off because ``CELERY_BROKER_URL`` is
  set) and the same ``DATABASE_URL``/``MEDIA_ROOT``; the fixture waits (60 s at most) until the worker answers
  ``app.control.ping`` under its unique node name. At teardown the worker gets SIGTERM (warm shutdown), then
  SIGKILL after 20 s; it also gets SIGTERM if this process dies (PR_SET_PDEATHSIG), so no orphan keeps consuming.
  Its log is kept for assertions (``LiveWorker.wait_for_log``) and printed on failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from live_services import LiveWorker, wait_for

ROOT = Path(__file__).resolve().parents[3]
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672
WORKER_SETTINGS = "marketplace.settings.test"
DB_PREFIX = "itest_"  # + pid of the test process + random suffix
WORKER_READY_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 20.0

# Settings of this process come from pytest-django (DJANGO_SETTINGS_MODULE / --ds); make the package usable on its
# own too when nothing named them.
if "DJANGO_SETTINGS_MODULE" not in os.environ:
    os.environ["DJANGO_SETTINGS_MODULE"] = WORKER_SETTINGS
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


# ------------------------------------------------------------------------------------------------ helpers
def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _unavailable(message: str) -> None:
    """A needed service is missing: a failure in CI, a skip elsewhere."""
    if _in_ci():
        pytest.fail(f"{message} (CI=true: .ci/run should have started it)", pytrace=False)
    pytest.skip(message)


def _tcp_open(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        socket.create_connection((host, port), timeout).close()
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- PostgreSQL
@dataclass(frozen=True)
class PgDatabase:
    """The module's PostgreSQL database: `url` is what the worker gets as DATABASE_URL."""

    role: str
    name: str

    @property
    def url(self) -> str:
        return f"postgres://{self.role}@{PG_HOST}:{PG_PORT}/{self.name}"


def _pg_admin_connect(role: str):
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=role, dbname="postgres", connect_timeout=5,
                           autocommit=True)


def _pg_role() -> str:
    """The first role that connects over TCP and may create databases."""
    import psycopg

    candidates = [os.environ.get("INTEGRATION_PG_USER", ""), "postgres", "root", getpass.getuser()]
    errors = []
    for role in dict.fromkeys(r for r in candidates if r):
        try:
            with _pg_admin_connect(role) as conn:
                row = conn.execute(
                    "select rolsuper or rolcreatedb from pg_roles where rolname = current_user"
                ).fetchone()
        except psycopg.Error as exc:
            errors.append(f"{role}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}")
            continue
        if row and row[0]:
            return role
        errors.append(f"{role}: may not create databases")
    _unavailable(f"no PostgreSQL role on {PG_HOST}:{PG_PORT} can create a database ({'; '.join(errors)})")
    raise AssertionError("unreachable")


def _drop_orphaned_databases(conn: Any) -> None:
    """Drop databases left by an earlier run that was killed before its teardown (its pid is gone)."""
    pattern = DB_PREFIX.replace("_", r"\_") + "%"
    names = conn.execute("select datname from pg_database where datname like %s", [pattern]).fetchall()
    for (name,) in names:
        pid = name[len(DB_PREFIX):].split("_", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            conn.execute(f'drop database if exists "{name}" with (force)')


@contextlib.contextmanager
def _swapped_default_connection(settings_dict: dict[str, Any]) -> Iterator[None]:
    """Point this process's ``default`` connection at `settings_dict`, restore the original afterwards."""
    from django.db import connections

    alias = "default"
    old_connection = connections[alias]
    old_settings = connections.settings[alias]
    new_settings = connections.configure_settings({alias: dict(settings_dict)})[alias]
    connections.settings[alias] = new_settings  # the same dict object as django.conf.settings.DATABASES
    connections[alias] = connections.create_connection(alias)
    try:
        yield
    finally:
        connections[alias].close()
        connections.settings[alias] = old_settings
        connections[alias] = old_connection


@pytest.fixture(scope="module")
def live_database(django_db_setup: None, django_db_blocker: Any) -> Iterator[PgDatabase]:
    """A fresh, migrated PostgreSQL database used by this process's default connection and by the worker."""
    if not _tcp_open(PG_HOST, PG_PORT):
        _unavailable(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}")
    from django.core.management import call_command

    from marketplace.settings.environment import database_config

    db = PgDatabase(role=_pg_role(), name=f"{DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}")
    with _pg_admin_connect(db.role) as conn:
        _drop_orphaned_databases(conn)
        conn.execute(f'create database "{db.name}"')
    try:
        settings_dict = {**database_config(db.url), "CONN_MAX_AGE": 0}
        with _swapped_default_connection(settings_dict):
            with django_db_blocker.unblock():
                call_command("migrate", interactive=False, verbosity=0)
            yield db
    finally:
        with _pg_admin_connect(db.role) as conn:
            conn.execute(f'drop database if exists "{db.name}" with (force)')


@pytest.fixture(scope="module")
def shared_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """MEDIA_ROOT, ALIGNMENT_MATRIX_DIR and ALIGNMENT_CACHE_DIR shared by this process and the worker."""
    root = tmp_path_factory.mktemp("marketplace-live")
    dirs = {name: root / name for name in ("media", "wmatrices", "cache")}
    for path in dirs.values():
        path.mkdir()
    return dirs


@pytest.fixture(scope="module")
def live_settings(shared_dirs: dict[str, Path]) -> Iterator[None]:
    """This process writes media where the worker reads it."""
    from django.test.utils import override_settings

    with override_settings(MEDIA_ROOT=shared_dirs["media"], ALIGNMENT_MATRIX_DIR=shared_dirs["wmatrices"]):
        yield


# ------------------------------------------------------------------------------------------ broker and worker
def _redis_url() -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{int(os.environ.get('INTEGRATION_REDIS_DB', '11'))}"


def _amqp_url() -> str:
    """The RabbitMQ URL of vhost ``INTEGRATION_AMQP_VHOST`` (default ``/``; the vhost must exist for guest)."""
    vhost = os.environ.get("INTEGRATION_AMQP_VHOST", "/")
    return f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/{'/' if vhost == '/' else quote(vhost, safe='')}"


BROKERS = {
    "redis": (_redis_url, REDIS_HOST, REDIS_PORT),
    "rabbitmq": (_amqp_url, AMQP_HOST, AMQP_PORT),
}


def _reset_connection_pools(app: Any) -> None:
    """Drop every broker connection and producer pool (they were made for the previous broker URL).

    kombu keeps its pools in process-wide groups keyed by connection (``kombu.pools``), and a producer pool holds on
    to its connection pool: closing only the app's connection pool (as Celery does after a fork) leaves the cached
    producer pool of the old URL pointing at a closed pool, so the next eager ``apply_async`` in this process, once
    the tests are back on ``memory://``, fails with "Acquire on closed pool". ``kombu.pools.reset()`` closes *and
    forgets* them all, so the next use builds fresh ones.
    """
    from kombu import pools

    pools.reset()
    app._pool = None  # Celery keeps them privately; this mirrors what it does after a fork
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the test process dies (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown
    try:
        process.wait(WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@dataclass(frozen=True)
class LiveBroker:
    """The broker this process publishes to (eager off), emptied at start."""

    name: str
    url: str


@pytest.fixture(scope="module", params=sorted(BROKERS), ids=lambda name: f"broker={name}")
def broker(request: pytest.FixtureRequest, live_database: PgDatabase, live_settings: None) -> Iterator[LiveBroker]:
    """This process publishes to a real, emptied broker (Redis, then RabbitMQ); no worker is started."""
    name = request.param
    url_of, host, port = BROKERS[name]
    if not _tcp_open(host, port):
        _unavailable(f"{name} is not reachable on {host}:{port}")
    broker_url = url_of()

    from marketplace.celery import app

    monkeypatch = pytest.MonkeyPatch()
    app.conf.broker_url  # noqa: B018 - load the configuration from Django settings before overriding it
    old_eager = app.conf.task_always_eager
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)  # Celery reads this before any setting
    app.conf.task_always_eager = False
    _reset_connection_pools(app)
    try:
        if name == "redis":  # a database of its own: drop everything, unacknowledged leftovers included
            import redis

            redis.Redis.from_url(broker_url).flushdb()
        purged = app.control.purge()
        if purged:
            print(f"purged {purged} stale message(s) from {name}")
        yield LiveBroker(name=name, url=broker_url)
    finally:
        _reset_connection_pools(app)
        app.conf.task_always_eager = old_eager
        monkeypatch.undo()


class WorkerFactory:
    """Starts worker processes on the module's broker, database and media; stops those still running at the end."""

    def __init__(self, broker: LiveBroker, database: PgDatabase, dirs: dict[str, Path], log_dir: Path) -> None:
        self.broker, self.database, self.dirs, self.log_dir = broker, database, dirs, log_dir
        self.started: list[LiveWorker] = []

    def start(self, *, app_module: str = "marketplace", env: dict[str, str] | None = None,
              python_path: tuple[Path, ...] = ()) -> LiveWorker:
        """Start ``celery -A app_module worker -Q default,gpu --pool solo`` with `env` added; wait for its ping."""
        from marketplace.celery import app

        name, broker_url = self.broker.name, self.broker.url
        log_path = self.log_dir / f"worker-{name}-{len(self.started)}.log"
        nodename = f"itest-{name}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        child_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS,
            "DATABASE_URL": self.database.url,
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url,
            "MEDIA_ROOT": str(self.dirs["media"]),
            "ALIGNMENT_MATRIX_DIR": str(self.dirs["wmatrices"]),
            "ALIGNMENT_CACHE_DIR": str(self.dirs["cache"]),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), *map(str, python_path),
                                                        os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
        child_env.pop("CELERY_RESULT_BACKEND", None)  # only what `env` asks for (worker_pair: a chord's backend)
        child_env.update(env or {})
        loglevel = os.environ.get("INTEGRATION_WORKER_LOGLEVEL", "info")  # debug: kombu/amqp frames too
        command = [
            sys.executable, "-m", "celery", "-A", app_module, "worker", "-Q", "default,gpu", "--pool", "solo",
            "-c", "1", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", loglevel, "-n", nodename,
        ]
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=log_file, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        live = LiveWorker(broker=name, broker_url=broker_url, nodename=nodename, process=process, log_path=log_path)
        self.started.append(live)

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode} before answering a ping:\n"
                                     f"{live.log_tail()}")
            return bool(app.control.ping(destination=[nodename], timeout=1.0))

        try:
            wait_for(answers, timeout=WORKER_READY_TIMEOUT, interval=0.5, what=f"worker {nodename} to answer a ping")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker log ---\n{live.log_tail()}") from None
        return live

    def stop_all(self) -> None:
        """Warm-stop every worker still running (SIGKILL after WORKER_STOP_TIMEOUT)."""
        for live in self.started:
            _stop(live.process)


@pytest.fixture
def worker_factory(broker: LiveBroker, live_database: PgDatabase, shared_dirs: dict[str, Path],
                   tmp_path: Path) -> Iterator[WorkerFactory]:
    """Start workers of this test on the module's broker; they are stopped when the test ends."""
    factory = WorkerFactory(broker, live_database, shared_dirs, tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def worker(broker: LiveBroker, live_database: PgDatabase, shared_dirs: dict[str, Path],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    """A Celery worker process consuming default and gpu from a real broker; this process publishes to it."""
    factory = WorkerFactory(broker, live_database, shared_dirs, tmp_path_factory.mktemp(f"worker-{broker.name}"))
    try:
        yield factory.start()
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def worker_pair(broker: LiveBroker, live_database: PgDatabase, shared_dirs: dict[str, Path],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveWorker, LiveWorker]]:
    """Two worker processes on the module's broker, with the Redis result backend a chord needs (sharded training).

    Each worker runs torch on one thread (``OMP_NUM_THREADS=1``), as one GPU worker per device would.
    """
    if not _tcp_open(REDIS_HOST, REDIS_PORT):
        _unavailable(f"redis (the result backend) is not reachable on {REDIS_HOST}:{REDIS_PORT}")
    from marketplace.celery import app

    backend = _redis_url()
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("CELERY_RESULT_BACKEND", backend)  # Celery reads this before any setting
    _reset_result_backend(app)
    factory = WorkerFactory(broker, live_database, shared_dirs, tmp_path_factory.mktemp(f"workers-{broker.name}"))
    env = {"CELERY_RESULT_BACKEND": backend, "OMP_NUM_THREADS": "1"}
    try:
        yield factory.start(env=env), factory.start(env=env)
    finally:
        factory.stop_all()
        monkeypatch.undo()
        _reset_result_backend(app)


def _reset_result_backend(app: Any) -> None:
    """Forget the app's result backend object, so the next use reads CELERY_RESULT_BACKEND again."""
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On a failure, attach the worker's log to the report."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    workers = [funcargs.get("worker"), *getattr(funcargs.get("worker_factory"), "started", []),
               *(funcargs.get("worker_pair") or ())]
    for live in workers:
        if report.failed and isinstance(live, LiveWorker):
            report.sections.append((f"worker log ({live.broker}, {live.nodename})", live.log_tail(200)))
    return report
