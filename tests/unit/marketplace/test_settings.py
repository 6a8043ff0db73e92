"""Configuration from the environment (django-environ reader, DATABASE_URL) and model registration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketplace.settings.environment import Env, database_config

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("url", "name"),
    [("sqlite://:memory:", ":memory:"), ("sqlite://", ":memory:"), ("sqlite:///var/db.sqlite3", "/proj/var/db.sqlite3"),
     ("sqlite:////tmp/x.db", "/tmp/x.db")],
)
def test_sqlite_urls(url: str, name: str) -> None:
    config = database_config(url, base_dir=Path("/proj"))
    assert config["ENGINE"] == "django.db.backends.sqlite3" and str(config["NAME"]) == name


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_url(scheme: str) -> None:
    config = database_config(f"{scheme}://app:p%40ss@db.internal:5433/market?sslmode=require", conn_max_age=7)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "app", "p@ss", "db.internal", "5433", "market")
    assert config["OPTIONS"] == {"sslmode": "require"}
    assert config["CONN_MAX_AGE"] == 7 and config["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://u@h/db", "unsupported DATABASE_URL"), ("postgres://u@h:5432/", "names no database"),
     ("sqlite:relative", "unsupported DATABASE_URL"), ("postgres://h:x/db", "malformed port")],
)
def test_bad_database_urls(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        database_config(url)


def test_database_url_errors_hide_the_password() -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        database_config("postgres://app:s3cret@h:5432/")
    assert "s3cret" not in str(caught.value) and ":***@" in str(caught.value)


def test_typed_variables() -> None:
    env = Env()
    env.ENVIRON = {"X_INT": "4_194_304", "X_BOOL": "off", "X_FLOATS": "0.1, 0.2,0.4", "X_BLANK": "  ",
                   "X_EMPTY_LIST": "", "X_FLOAT": "1e-3", "X_SECRET": "$not-a-reference"}
    assert env.int("X_INT", default=0) == 4 * 1024 * 1024 and env.int("X_UNSET", default=7) == 7
    assert env.bool("X_BOOL", default=True) is False
    assert env.list("X_FLOATS", cast=float, default=[]) == [0.1, 0.2, 0.4]
    assert env.float("X_FLOAT", default=0.0) == 0.001  # django-environ alone reads 1e-3 as 1-3
    assert env.str("X_BLANK", default="fallback") == "fallback"  # a blank scalar counts as unset
    assert env.list("X_EMPTY_LIST", default=["*"]) == []  # a blank list is empty (ALIGNMENT_PLUGINS_ALLOW=)
    assert env.str("X_SECRET") == "$not-a-reference"  # no $VAR proxying
    assert env.path("X_UNSET", default=Path("/x")) == Path("/x") and isinstance(env.path("X_BLANK", "/y"), Path)


@pytest.mark.parametrize(
    ("value", "read", "message"),
    [("many", lambda e: e.int("X"), "X must be an integer, got 'many'"),
     ("maybe", lambda e: e.bool("X"), "X must be a boolean"),
     ("0.1,x", lambda e: e.list("X", cast=float), "X must be comma-separated numbers"),
     ("abc", lambda e: e.float("X"), "X must be a number, got 'abc'"),
     (None, lambda e: e.str("X"), "X must be set in the environment"),
     (" ", lambda e: e.str("X"), "X must be set in the environment")],
)
def test_bad_variables_name_themselves(value: str | None, read: Any, message: str) -> None:
    env = Env()
    env.ENVIRON = {} if value is None else {"X": value}
    with pytest.raises(ImproperlyConfigured, match=message):
        read(env)


def test_production_settings_require_the_secrets() -> None:
    """Importing the production settings without DJANGO_SECRET_KEY fails with the variable's name; with every
    required variable set they load (PostgreSQL from DATABASE_URL, Celery not eager)."""
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['NAME'], settings.CELERY_TASK_ALWAYS_EAGER)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    base.update(DJANGO_SETTINGS_MODULE="marketplace.settings.production", PYTHONPATH=str(ROOT))
    full = {**base, "DJANGO_SECRET_KEY": "k", "CERTIFICATE_SIGNING_KEY": "c",
            "DATABASE_URL": "postgres://u:p@db:5432/market", "CELERY_BROKER_URL": "redis://r:6379/0",
            "CACHE_URL": "redis://r:6379/1"}
    missing = subprocess.run([sys.executable, "-c", code], env=base, cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode != 0 and "DJANGO_SECRET_KEY must be set in the environment" in missing.stderr
    loaded = subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.split() == ["market", "False"]


def _production(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))}
    base.update(DJANGO_SETTINGS_MODULE="marketplace.settings.production", PYTHONPATH=str(ROOT),
                DJANGO_SECRET_KEY="a-real-secret-" + "x" * 40, CERTIFICATE_SIGNING_KEY="another-real-one-" + "y" * 40,
                DATABASE_URL="sqlite://:memory:", CELERY_BROKER_URL="redis://127.0.0.1:6379/14",
                CACHE_URL="redis://127.0.0.1:6379/14", DJANGO_ALLOWED_HOSTS="testserver")
    base.update(env)
    return subprocess.run([sys.executable, "-c", code], env={k: v for k, v in base.items() if v is not None},
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def _example_env() -> dict[str, str]:
    lines = (ROOT / "docker" / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))


SETUP = "import django; django.setup(); from django.conf import settings; "


@pytest.mark.parametrize("variable", ["DJANGO_SECRET_KEY", "CERTIFICATE_SIGNING_KEY"])
def test_production_refuses_the_placeholder_secrets_of_the_env_example(variable: str) -> None:
    placeholder = _example_env()[variable]
    result = _production({variable: placeholder}, SETUP + "print('started')")
    assert result.returncode != 0 and "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr and f"{variable} is still a placeholder value" in result.stderr
    assert placeholder not in result.stderr


def test_production_requires_a_cache_shared_by_every_worker() -> None:
    code = SETUP + "print(settings.CACHES['default']['BACKEND'])"
    assert _production({}, code).stdout.strip() == "django.core.cache.backends.redis.RedisCache"
    unset = _production({"CACHE_URL": None}, code)
    assert unset.returncode != 0 and "CACHE_URL must be set in the environment" in unset.stderr
    local = _production({"CACHE_URL": "locmem://"}, code)
    assert local.returncode != 0 and "CACHE_URL must be a shared cache" in local.stderr


def test_production_logs_the_traceback_of_a_500() -> None:
    """An unexpected exception in a view under production settings: the client gets the JSON 500, stderr the
    traceback (django.request through the root logger), not the client."""
    code = SETUP + (
        "from unittest import mock; from django.test import Client\n"
        "from marketplace.api import views\n"
        "def boom(self, request): raise RuntimeError('boom-7f3a internal detail')\n"
        "with mock.patch.object(views.PluginViewSet, 'list', boom):\n"
        "    response = Client(raise_request_exception=False).get('/api/v1/plugins/')\n"
        "print(response.status_code, response.content.decode())\n"
    )
    result = _production({}, code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("500 ") and "boom-7f3a" not in result.stdout
    assert "ERROR django.request" in result.stderr and "Internal Server Error: /api/v1/plugins/" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr and "RuntimeError: boom-7f3a" in result.stderr


def test_test_settings(settings: Any) -> None:
    assert settings.CELERY_TASK_ALWAYS_EAGER and settings.CELERY_TASK_EAGER_PROPAGATES
    assert settings.MAX_VECTOR_UPLOAD_BYTES == 4 * 1024 * 1024
    assert settings.DRIFT_REVALIDATE_AFTER_HOURS == 24 and settings.DRIFT_TOLERANCE == 0.05
    assert settings.QUALITY_TIER_BANDS == [0.05, 0.15, 0.30]


def _no_conversion(*args: Any) -> None:
    raise AssertionError("registering models must not convert GGUF weights")


@pytest.mark.django_db
def test_register_architectures_support_levels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import alignment_plugins.models as engine_models
    from alignment_plugins.catalog import PackageMissing
    from alignment_plugins.types import ArchitectureInfo, ModelSpec
    from marketplace.alignment.architectures import register_architectures
    from marketplace.catalog.models import Architecture

    def missing() -> Path:
        raise PackageMissing("package 'llm_nothing' is not installed")

    specs = {
        "here": ModelSpec(name="here", family="llama", kind="causal", locate=lambda: tmp_path, package="pkg-here"),
        "gone": ModelSpec(name="gone", family="qwen2", kind="causal", locate=missing, package="pkg-gone"),
        "closed": ModelSpec(name="closed", family="gpt", kind="proprietary", runnable=False),
    }
    infos = {
        "here": ArchitectureInfo(name="here", family="llama", kind="causal", hidden_size=576, num_layers=30,
                                 num_heads=9, activation="silu", adapter="hf_causal"),
        "closed": ArchitectureInfo(name="closed", family="gpt", kind="proprietary", hidden_size=0, num_layers=0,
                                   runnable=False),
    }
    monkeypatch.setattr(engine_models, "known_models", lambda: specs)
    monkeypatch.setattr(engine_models, "model_info", lambda name: infos[name])
    monkeypatch.setattr(engine_models, "weights_fingerprint", lambda name: "sha256:feed")
    monkeypatch.setattr(engine_models, "resolve", _no_conversion)
    rows = {row.name: row for row in register_architectures()}
    assert {n: r.support_level for n, r in rows.items()} == {"here": "full", "gone": "partial", "closed": "metadata"}
    assert rows["here"].hidden_size == 576 and rows["here"].weight_fingerprint == "sha256:feed"
    assert "not installed" in rows["gone"].metadata["unavailable"] and not rows["closed"].runnable
    register_architectures(["here"])  # rerunnable: update_or_create
    assert Architecture.objects.count() == 3


def test_redis_redelivers_a_dead_worker_s_message_within_minutes() -> None:
    """A short visibility timeout, swept every 10 s, and a lease shorter than it: a killed worker's task is taken up
    again within about five minutes; a task still running elsewhere is guarded by its TaskRun lease, not by a long
    timeout (see marketplace.alignment.tasks)."""
    from django.conf import settings

    from marketplace.celery import app

    options = app.conf.broker_transport_options
    assert options["visibility_timeout"] == 300 and options["unacked_restore_interval"] == 10
    assert options["unacked_restore_throttle"] == 1  # kombu's default scans only every tenth sweep
    assert 0 < settings.TASK_LEASE_SECONDS < options["visibility_timeout"]
