"""Configuration from the environment (DATABASE_URL parser, typed variables) and model registration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketplace.settings.base import env_bool, env_floats, env_int, parse_database_url


@pytest.mark.parametrize(
    ("url", "name"),
    [("sqlite://:memory:", ":memory:"), ("sqlite://", ":memory:"), ("sqlite:///var/db.sqlite3", "/proj/var/db.sqlite3"),
     ("sqlite:////tmp/x.db", "/tmp/x.db")],
)
def test_sqlite_urls(url: str, name: str) -> None:
    config = parse_database_url(url, base_dir=Path("/proj"))
    assert config["ENGINE"] == "django.db.backends.sqlite3" and str(config["NAME"]) == name


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_url(scheme: str) -> None:
    config = parse_database_url(f"{scheme}://app:p%40ss@db.internal:5433/market?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "app", "p@ss", "db.internal", "5433", "market")
    assert config["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgres://u@h:5432/", "sqlite:relative", "postgres://h:x/db"])
def test_bad_database_urls(url: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        parse_database_url(url)


def test_typed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_INT", "4_194_304")
    monkeypatch.setenv("X_BOOL", "off")
    monkeypatch.setenv("X_FLOATS", "0.1, 0.2,0.4")
    monkeypatch.setenv("X_BAD", "many")
    assert env_int("X_INT", 0) == 4 * 1024 * 1024 and env_int("X_UNSET", 7) == 7
    assert env_bool("X_BOOL", True) is False
    assert env_floats("X_FLOATS", []) == [0.1, 0.2, 0.4]
    with pytest.raises(ImproperlyConfigured, match="X_BAD"):
        env_int("X_BAD", 0)


def test_test_settings(settings: Any) -> None:
    assert settings.CELERY_TASK_ALWAYS_EAGER and settings.CELERY_TASK_EAGER_PROPAGATES
    assert settings.MAX_VECTOR_UPLOAD_BYTES == 4 * 1024 * 1024
    assert settings.DRIFT_REVALIDATE_AFTER_HOURS == 24 and settings.DRIFT_TOLERANCE == 0.05
    assert settings.QUALITY_TIER_BANDS == [0.05, 0.15, 0.30]


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
    monkeypatch.setattr(engine_models, "resolve", lambda name: (name, str(tmp_path), specs[name]))
    monkeypatch.setattr(engine_models, "model_fingerprint", lambda path: "sha256:feed")
    rows = {row.name: row for row in register_architectures()}
    assert {n: r.support_level for n, r in rows.items()} == {"here": "full", "gone": "partial", "closed": "metadata"}
    assert rows["here"].hidden_size == 576 and rows["here"].weight_fingerprint == "sha256:feed"
    assert "not installed" in rows["gone"].metadata["unavailable"] and not rows["closed"].runnable
    register_architectures(["here"])  # rerunnable: update_or_create
    assert Architecture.objects.count() == 3


def test_redis_visibility_timeout_outlasts_long_gpu_tasks() -> None:
    from marketplace.celery import app

    assert app.conf.broker_transport_options["visibility_timeout"] >= 6 * 3600
