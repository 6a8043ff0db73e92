"""Training a matrix: the one recipe (all source layers, ridge, 80/10/10 split) that alignment jobs, the
``precompute_support_matrix`` command and the demo use to train a pair and store it as its next version."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alignment_plugins import models as engine_models
from marketplace.alignment.matrices import store_matrix
from marketplace.alignment.models import WMatrix

log = logging.getLogger(__name__)

#: Held-out fractions of the sampled anchors (the trainer's 80/10/10 split): validation picks, test measures.
VALIDATION_SPLIT, TEST_SPLIT = 0.1, 0.1

Progress = Callable[[float, str], None]


def best_device() -> str:
    """"cuda" when a GPU is visible to torch, else "cpu"."""
    import torch  # only on the training path (GPU worker, commands): the web process and CPU worker never get here

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_located(name: str, location: dict[str, Any] | None, device: str) -> Any:
    """Load model `name` where a job located it ({} or None: by name; {"kind": "path" | "endpoint", "location"}),
    named `name` whatever its directory is called."""
    location = location or {}
    if location.get("kind") == "endpoint":
        model = engine_models.load_model(name, endpoint=location["location"], device=device)
    elif location.get("kind") == "path":
        model = engine_models.load_model(location["location"], device=device)
    else:
        model = engine_models.load_model(name, device=device)
    return model if model.name == name else dataclasses.replace(model, name=name)


def train_and_store(source: str, target: str, *, num_anchors: int, path: Path, device: str | None = None,
                    report: Progress | None = None, progress: bool = False,
                    locations: dict[str, dict[str, Any]] | None = None,
                    measured: dict[str, float] | None = None) -> WMatrix:
    """Train a W-Matrix from model `source` to `target` on `num_anchors` built-in anchors, write it to `path` and
    store it as the pair's next active version (``store_matrix``: certificate issued, estimates recomputed).

    Recipe: ``WMatrixTrainer`` over all source layers, ridge maps along the CKA layer map, 80/10/10 train /
    validation / test split (held-out metrics on the test split). `report(fraction 0..1, message)` is called per
    phase: loading both models on `device` (default ``best_device()``), sampling anchors, extracting each model's
    hidden states (cached on disk, so the trainer's own pass reads them back), layer correspondence and fit,
    storing. `progress` shows the trainer's own progress bars (a terminal run such as the demo). `locations`
    ({"source"/"target": location}) says where a model given by path or endpoint is (``load_located``); `measured`
    receives each model's extraction throughput (texts/s) when its anchors were not cached.
    """
    # Model-running engine code: imported on the training path only, never by the web process or CPU worker.
    from alignment_plugins.extraction import extract, resolve_layers
    from alignment_plugins.trainer import WMatrixTrainer

    say = report or (lambda fraction, message: None)
    device = device or best_device()
    say(0.0, f"loading {source} and {target} on {device}")
    locations = locations or {}
    source_model = load_located(source, locations.get("source"), device)
    target_model = load_located(target, locations.get("target"), device)
    trainer = WMatrixTrainer(source_model, target_model, device=device, progress=progress)
    trainer.configure(num_anchors=num_anchors, layers="all", optimization="ridge")
    say(0.05, f"sampling {num_anchors} anchors")
    anchors = trainer.prepare_anchors(VALIDATION_SPLIT, TEST_SPLIT)[0]
    for fraction, model in ((0.10, source_model), (0.45, target_model)):
        layers = resolve_layers("all", model.num_layers)
        say(fraction, f"extracting {model.name} hidden states ({len(anchors)} anchors, {len(layers)} layers)")
        acts = extract(model, anchors, layers, pooling=trainer.pooling, cache=True)
        if measured is not None and not acts.from_cache and acts.seconds > 0:
            measured[model.name] = len(anchors) / acts.seconds
    say(0.80, "layer correspondence (CKA) and ridge fit")
    engine = trainer.train(epochs=0, validation_split=VALIDATION_SPLIT, test_split=TEST_SPLIT)
    say(0.95, "storing the matrix and issuing its certificate")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return store_matrix(engine.save(path))
