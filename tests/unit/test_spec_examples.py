"""The product specification's monitoring and custom-training examples, run as written with our model names (tiny
models behind real local endpoints; registering is tested against a live marketplace in tests/unit/api)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_custom_training_against_endpoints_then_monitoring(tiny_model: Callable[[str], Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    from alignment_plugins.endpoint.server import ModelServer
    from alignment_plugins.models import load_model

    servers = [ModelServer(load_model(str(tiny_model(name))), "127.0.0.1", 0) for name in ("llama", "gemma3")]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from alignment_plugins import WMatrixTrainer

        trainer = WMatrixTrainer(
            source_model="your-custom-model",
            target_model="gemma3-270m-copy",
            source_endpoint=servers[0].url,
            target_endpoint=servers[1].url,
        )
        w_matrix = trainer.train(
            num_anchors=120,
            epochs=50,
            anchor_domains=["code", "mathematics", "reasoning"],
        )
        assert w_matrix.source["name"] == "your-custom-model" and w_matrix.anchors["counts"]["test"] >= 10
        assert set(w_matrix.anchors["domains"]) == {"code", "mathematics", "reasoning"}
        assert w_matrix.training["epochs"] == 50 and w_matrix.training["calibration"]
        w_matrix.save(tmp_path / "custom-to-gemma.wmatrix")

        from alignment_plugins import WMatrixMonitor

        monitor = WMatrixMonitor()
        status = monitor.check(str(tmp_path / "custom-to-gemma.wmatrix"))  # the models: at their recorded endpoints
        print(f"Matrix version: {status.version}")
        print(f"Last validated: {status.last_validated}")
        print(f"Current accuracy: {status.accuracy:.3f}")
        print(f"Drift detected: {status.drift_detected}")
        print(f"Recommended action: {status.recommendation}")
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    out = capsys.readouterr().out
    assert "Matrix version: 1" in out and "Drift detected: False" in out and "Recommended action: keep" in out
