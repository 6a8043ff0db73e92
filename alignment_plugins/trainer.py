"""WMatrixTrainer: the seed's four phases on real models.

1. anchors: sample, stratified by domain, and split into train / validation / test (held out);
2. extraction: pooled hidden states of both models at every requested layer (cached on disk);
3. layer correspondence: linear CKA of every source × target layer on standardized training states, and a
   monotone layer map by dynamic programming;
4. fit: a closed-form solver per mapped layer pair from streaming statistics, optionally followed by a gradient
   calibration with early stopping on the validation split; the best pair is chosen on validation, and every
   reported metric is computed on the test split, which neither the fit nor the choice has seen.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_plugins import layers as layer_tools
from alignment_plugins import metrics
from alignment_plugins.anchors import AnchorSet, load_anchors
from alignment_plugins.calibration import calibrate
from alignment_plugins.contrastive_rows import contrastive_layer_states, with_contrastive_rows
from alignment_plugins.extraction import MAX_LENGTH, Activations, extract, resolve_layers
from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.recommendation import (  # noqa: F401  (re-exported: the trainer's public names)
    MIN_RECOMMENDED_LAYER,
    RECOMMENDATION,
    choose_pair,
    embedding_pair,
    recommend_pair,
)
from alignment_plugins.solvers import CrossStats, LinearMap
from alignment_plugins.token_pairs import PAIRINGS, token_pair_stats
from alignment_plugins.types import LoadedModel
from alignment_plugins.wmatrix import WMatrix, pair_key

log = logging.getLogger(__name__)

# Anchor pairs the maps are fit on (see configure): offset-matched tokens carry concept directions better than
# mean-pooled texts in the concept-transfer benchmark (bench/concept_bench.py, docs/concepts.md).
DEFAULT_PAIRING = "tokens"
# Weight of the contrastive anchors' pooled rows relative to the anchor pairs (0: off); see configure. Chosen on the
# validation concepts (bench/levers_bench.py, docs/levers.md: 3 beat 0, 0.3, 1 and 10 on two of three layer pairs).
DEFAULT_CONTRASTIVE_WEIGHT = 3.0
# Candidates tried per layer pair when regularization="auto" (chosen on the validation split).
AUTO_REGULARIZATION_GRID = (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
# Fractions of the sampled anchors held out for choosing (validation) and for the reported metrics (test).
DEFAULT_VALIDATION_SPLIT, DEFAULT_TEST_SPLIT = 0.1, 0.1
# Test-split anchors whose states are kept in the file as the drift probe (alignment_plugins.monitor).
PROBE_ANCHORS = 32
PROBE_MAX_LENGTH = MAX_LENGTH  # extract()'s default: the probe's states were read with it


def split_fractions(validation_split: float | None, test_split: float | None) -> tuple[float, float]:
    """(validation, test) fractions of the sampled anchors; the rest trains the maps. None: the default of each.

    `validation_split` alone is the older form: it is then the whole held-out fraction, shared evenly by
    validation and test (0.2 → 0.1 + 0.1), with a DeprecationWarning asking for both fractions.
    """
    if validation_split is None:
        validation_split = DEFAULT_VALIDATION_SPLIT
        test_split = DEFAULT_TEST_SPLIT if test_split is None else test_split
    elif test_split is None:
        warnings.warn(f"validation_split={validation_split} without test_split holds out {validation_split} shared "
                      f"evenly by validation and test; pass validation_split and test_split (fractions of the "
                      f"anchors) to say so", DeprecationWarning, stacklevel=3)
        validation_split = test_split = validation_split / 2 if _is_fraction(validation_split) else validation_split
    for name, value in (("validation_split", validation_split), ("test_split", test_split)):
        if not _is_fraction(value):
            raise ValueError(f"{name} must be a fraction strictly between 0 and 1, got {value!r}")
    if validation_split + test_split >= 1.0:
        raise ValueError(f"validation_split + test_split must be < 1 (the rest trains the maps), got "
                         f"{validation_split} + {test_split}")
    return float(validation_split), float(test_split)


def row_indices(anchors: AnchorSet, part: AnchorSet) -> np.ndarray:
    """Row numbers in `anchors` (the sampled set, extraction order) of the anchors of `part`, one of its splits."""
    index = {id(a): i for i, a in enumerate(anchors.anchors)}
    return np.array([index[id(a)] for a in part.anchors])


def _check_num_anchors(num_anchors: int | None) -> int | None:
    """`num_anchors` if None or at least 20, else ValueError (the splits need held-out anchors)."""
    if num_anchors is not None and num_anchors < 20:
        raise ValueError(f"num_anchors must be at least 20 (got {num_anchors}): metrics need held-out anchors")
    return num_anchors


def _is_fraction(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 < value < 1.0


class WMatrixTrainer:
    """Fit a W-Matrix from `source_model` to `target_model` (names, paths or loaded models).

    With `source_endpoint` / `target_endpoint` (``http(s)://`` URLs of model endpoints, see
    ``alignment_plugins.endpoint``) that side's model is the one served there, named `source_model` / `target_model`;
    `endpoint_token` is sent to both as a bearer token (default ``$ALIGNMENT_ENDPOINT_TOKEN``).
    """

    def __init__(
        self,
        source_model: str | LoadedModel,
        target_model: str | LoadedModel,
        source_endpoint: str | None = None,
        target_endpoint: str | None = None,
        *,
        endpoint_token: str | None = None,
        anchors: str | AnchorSet | None = None,
        pooling: str = "mean",
        dtype: str = "float32",
        device: str = "cpu",
        cache: bool = True,
        progress: bool = False,
        seed: int = 0,
    ) -> None:
        self.source_model = source_model
        self.target_model = target_model
        self.endpoints = {"source": source_endpoint, "target": target_endpoint}
        self.endpoint_token = endpoint_token
        self.anchor_source = anchors
        self.pooling = pooling
        self.dtype = dtype
        self.device = device
        self.cache = cache
        self.progress = progress
        self.seed = seed
        self.config: dict[str, Any] = {}
        self.configure()

    def configure(
        self,
        num_anchors: int | None = None,
        anchor_domains: Sequence[str] | None = None,
        layers: str | Sequence[int] = "all",
        optimization: str = "ridge",
        regularization: float | str | None = None,
        normalization: str = "standardize",
        layer_pairs: str = "map",
        cka_anchors: int = 2048,
        cka: str = "linear",
        pairing: str = DEFAULT_PAIRING,
        contrastive_weight: float = DEFAULT_CONTRASTIVE_WEIGHT,
        **solver_hyperparams: Any,
    ) -> WMatrixTrainer:
        """Set anchors (count, domains), source layers ("all" or a list), solver and its hyperparameters.

        ``cka`` picks the layer-similarity estimator: "linear" (Kornblith et al.) or "debiased" (unbiased HSIC, ≈ 0
        for unrelated layers at small N); ``layer_pairs`` fits one map per source layer along the monotone CKA map
        ("map") or every source × target pair ("grid"); ``pairing`` says which anchor pairs the maps are fit on:
        "mean" (one mean-pooled pair per text), "tokens" (per-token states matched by character offsets, see
        `alignment_plugins.token_pairs`) or "both" (the union of the two samples); ``contrastive_weight`` w > 0 adds
        the pooled states of the training-only contrastive anchors, counting w times the anchor pairs (see
        `alignment_plugins.contrastive_rows`; 0 turns them off).
        """
        _check_num_anchors(num_anchors)
        if cka not in ("linear", "debiased"):
            raise ValueError(f"cka must be 'linear' or 'debiased', got {cka!r}")
        if pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
        if isinstance(contrastive_weight, bool) or not isinstance(contrastive_weight, (int, float)) or not (
                0 <= contrastive_weight < float("inf")):
            raise ValueError(f"contrastive_weight must be a finite number >= 0, got {contrastive_weight!r}")
        if layer_pairs not in ("map", "grid"):
            raise ValueError("layer_pairs must be 'map' (the monotone CKA map) or 'grid' (every pair)")
        hyper = dict(solver_hyperparams)
        solver = get_plugin_manager().get_solver(optimization, normalization=normalization, **hyper)  # validate early
        auto = regularization == "auto"
        if regularization is not None and "regularization" not in solver.defaults:
            own = ", ".join(solver.defaults) or "none"
            need = "regularization='auto' needs a regularized solver" if auto else "regularization is not supported"
            raise ValueError(f"{need}: {optimization!r} has no regularization (its hyperparameters: {own})")
        if regularization is not None and not auto:
            hyper["regularization"] = float(regularization)
            solver = get_plugin_manager().get_solver(optimization, normalization=normalization, **hyper)
        hyper = dict(solver.hyperparams)  # every hyperparameter, defaults (each solver's own) included
        self.config = {
            "num_anchors": num_anchors, "anchor_domains": list(anchor_domains) if anchor_domains else None,
            "layers": layers, "optimization": optimization, "normalization": normalization,
            "solver_hyperparams": hyper, "layer_pairs": layer_pairs, "cka_anchors": cka_anchors,
            "auto_regularization": auto, "cka": cka, "pairing": pairing,
            "contrastive_weight": float(contrastive_weight),
        }
        return self

    # ------------------------------------------------------------------ phases
    def prepare_anchors(
        self, validation_split: float | None = None, test_split: float | None = None
    ) -> tuple[AnchorSet, AnchorSet, AnchorSet, AnchorSet]:
        """Phase 1: return (all sampled, train, validation, test) anchor sets (deterministic for a seed).

        Fractions of the sampled anchors as in ``split_fractions``; each split is stratified by domain.
        """
        validation_split, test_split = split_fractions(validation_split, test_split)
        held_out = validation_split + test_split
        anchors = load_anchors(self.anchor_source)
        if self.config["anchor_domains"]:
            anchors = anchors.filter(self.config["anchor_domains"])
        anchors = anchors.sample(self.config["num_anchors"], seed=self.seed)
        train, held = anchors.split(held_out, seed=self.seed)
        validation, test = held.split(test_split / held_out, seed=self.seed + 1)
        if min(len(train), len(validation), len(test)) < 10:
            raise ValueError(
                f"too few anchors: train/validation/test = {len(train)}/{len(validation)}/{len(test)}; "
                "use more anchors or larger validation_split / test_split"
            )
        return anchors, train, validation, test

    def _model(self, model: str | LoadedModel, side: str) -> LoadedModel:
        if isinstance(model, LoadedModel):
            return model
        from alignment_plugins.models import load_model

        return load_model(model, dtype=self.dtype, device=self.device, endpoint=self.endpoints[side],
                          auth_token=self.endpoint_token)

    def train(
        self,
        epochs: int = 0,
        validation_split: float | None = None,
        early_stopping_patience: int = 5,
        learning_rate: float = 1e-3,
        batch_size: int = 512,
        test_split: float | None = None,
        num_anchors: int | None = None,
        anchor_domains: Sequence[str] | None = None,
    ) -> WMatrix:
        """Run all phases; return the fitted WMatrix with held-out (test-split) metrics.

        `num_anchors` and `anchor_domains`, when given, replace the configured ones (as ``configure`` would).

        `validation_split` and `test_split` are fractions of the sampled anchors (default 0.1 each): validation
        chooses layer pairs, regularization ("auto") and the calibration's early stopping; test gives every
        reported metric. `validation_split` alone (the older form) is the whole held-out fraction, shared evenly.
        `early_stopping_patience`, `learning_rate` and `batch_size` drive the calibration of ``epochs > 0``.
        """
        if num_anchors is not None:
            self.config["num_anchors"] = _check_num_anchors(num_anchors)
        if anchor_domains is not None:
            self.config["anchor_domains"] = list(anchor_domains) or None
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        validation_split, test_split = split_fractions(validation_split, test_split)
        anchors, train, validation, test = self.prepare_anchors(validation_split, test_split)
        rows = {name: row_indices(anchors, part) for name, part in
                (("train", train), ("validation", validation), ("test", test))}
        timings["anchors"] = time.perf_counter() - clock

        clock = time.perf_counter()
        self._say(f"loading {self.source_model} and {self.target_model} (a GGUF model is converted once into the "
                  "engine cache: minutes the first time)")
        source, target = self._model(self.source_model, "source"), self._model(self.target_model, "target")
        source_layers = resolve_layers(self.config["layers"], source.num_layers)
        target_layers = resolve_layers("all", target.num_layers)
        src_acts = self._activations(source, anchors, source_layers, "source")
        tgt_acts = self._activations(target, anchors, target_layers, "target")
        timings["extraction"] = time.perf_counter() - clock

        clock = time.perf_counter()
        cka, layer_map, pairs, embedding = self.layer_pairs(source, target, src_acts, tgt_acts, rows["train"])
        timings["layer_correspondence"] = time.perf_counter() - clock

        clock = time.perf_counter()
        solver = get_plugin_manager().get_solver(
            self.config["optimization"], normalization=self.config["normalization"],
            **self.config["solver_hyperparams"],
        )
        maps: dict[tuple[int, int], LinearMap] = {}
        calibration: dict[str, Any] = {}
        pairing = self.config["pairing"]
        self._say(f"fitting {len(pairs)} layer pairs ({self.config['optimization']}, {pairing} pairing)")
        token_stats: dict[tuple[int, int], CrossStats] = {}
        token_count = 0
        if pairing != "mean":
            token_stats, token_count = self._token_pair_stats(source, target, train.texts, pairs)
        weight = self.config["contrastive_weight"]
        if weight > 0:
            self._say("extracting the contrastive anchors' pooled states")
            c_src = contrastive_layer_states(source, sorted({i for i, _ in pairs}), pooling=self.pooling,
                                             cache=self.cache, progress=self.progress)
            c_tgt = contrastive_layer_states(target, sorted({j for _, j in pairs}), pooling=self.pooling,
                                             cache=self.cache, progress=self.progress)
        for i, j in pairs:
            x, y = src_acts[i], tgt_acts[j]
            stats = token_stats[(i, j)] if pairing == "tokens" else CrossStats(x.shape[1], y.shape[1])
            if pairing != "tokens":
                for start in range(0, len(rows["train"]), 4096):
                    chunk = rows["train"][start : start + 4096]
                    stats.update(x[chunk], y[chunk])
                if pairing == "both":
                    stats = stats.merge(token_stats[(i, j)])
            if weight > 0:
                stats = with_contrastive_rows(stats, c_src[i], c_tgt[j], weight)
            if self.config["auto_regularization"]:
                linear = self._fit_auto(stats, x[rows["validation"]], y[rows["validation"]])
            else:
                linear = solver.fit(stats)
            if epochs > 0:
                linear, history = calibrate(
                    linear, x[rows["train"]], y[rows["train"]], x[rows["validation"]], y[rows["validation"]],
                    epochs=epochs, patience=early_stopping_patience, learning_rate=learning_rate,
                    batch_size=batch_size, seed=self.seed,
                )
                calibration[pair_key((i, j))] = history
            maps[(i, j)] = linear
        timings["fit"] = time.perf_counter() - clock

        clock = time.perf_counter()
        def on(split: str) -> dict[str, dict[str, float]]:
            return {pair_key(p): evaluate_map(m, src_acts[p[0]][rows[split]], tgt_acts[p[1]][rows[split]])
                    for p, m in maps.items()}

        validation_metrics = on("validation")
        best = max(maps, key=lambda p: (validation_metrics[pair_key(p)]["accuracy"],
                                        validation_metrics[pair_key(p)]["semantic_preservation"]))
        test_metrics = on("test")
        timings["evaluation"] = time.perf_counter() - clock

        clock = time.perf_counter()
        self._say(f"choosing the recommended pair: directions of the validation concepts on both models, "
                  f"{len(maps)} pairs")
        recommended, concept_scores = recommend_pair(source, target, maps, cache=self.cache, progress=self.progress)
        timings["recommendation"] = time.perf_counter() - clock
        probe_rows = rows["test"][:PROBE_ANCHORS]
        return WMatrix(
            source=_model_meta(source), target=_model_meta(target), maps=maps, layer_map=layer_map,
            best_pair=best, recommended_pair=recommended, embedding_pair=embedding, method=self.config["optimization"],
            hyperparams={"normalization": self.config["normalization"], **self.config["solver_hyperparams"],
                         **({"regularization": "auto"} if self.config["auto_regularization"] else {}),
                         "pooling": self.pooling, "dtype": self.dtype, "layer_pairs": self.config["layer_pairs"],
                         "cka": self.config["cka"], "pairing": pairing, "contrastive_weight": weight},
            anchors={"hash": anchors.content_hash, "name": anchors.name, "pooling": self.pooling,
                     "pairing": pairing, "token_pairs": token_count,
                     "contrastive": _contrastive_record(weight),
                     "counts": {"train": len(train), "validation": len(validation), "test": len(test)},
                     "domains": anchors.counts(), "seed": self.seed},
            pair_metrics=test_metrics, cka=cka,
            cka_layers={"source": list(source_layers), "target": list(target_layers)},
            training={"epochs": epochs, "validation_split": validation_split, "test_split": test_split,
                      "early_stopping_patience": early_stopping_patience, "timings_s": timings,
                      "validation_metrics": validation_metrics, "calibration": calibration,
                      "extraction": {"source_tokens": src_acts.tokens, "target_tokens": tgt_acts.tokens,
                                     "source_cached_layers": len(src_acts.from_cache),
                                     "target_cached_layers": len(tgt_acts.from_cache)},
                      "selection": "best validation accuracy, then semantic preservation; metrics on test split",
                      "recommendation": RECOMMENDATION, "concept_transfer": concept_scores},
            probe={"pair": list(recommended), "texts": [anchors.anchors[k].text for k in probe_rows],
                   "pooling": self.pooling, "max_length": PROBE_MAX_LENGTH, "dtype": self.dtype,
                   "selection": f"the first {PROBE_ANCHORS} anchors of the test split (never fit)"},
            probe_states={"source": src_acts[recommended[0]][probe_rows],
                          "target": tgt_acts[recommended[1]][probe_rows]},
        )

    def layer_pairs(
        self, source: LoadedModel, target: LoadedModel, src_acts: Activations, tgt_acts: Activations,
        train_rows: np.ndarray,
    ) -> tuple[np.ndarray, list[tuple[int, int]], list[tuple[int, int]], tuple[int, int] | None]:
        """Phase 3: (CKA matrix, monotone layer map, layer pairs to fit, embedding pair or None) from pooled states."""
        source_layers, target_layers = sorted(src_acts.layers), sorted(tgt_acts.layers)
        cka = self._cka(src_acts, tgt_acts, train_rows, source_layers, target_layers)
        layer_map = layer_tools.monotone_layer_map(cka, source_layers, target_layers)
        if self.config["layer_pairs"] == "grid":
            pairs = [(i, j) for i in source_layers for j in target_layers]
        else:
            pairs = list(layer_map)
        embedding = embedding_pair(source, target, source_layers, target_layers)
        if embedding is not None and embedding not in pairs:
            pairs.append(embedding)
        return cka, layer_map, pairs, embedding

    def _activations(self, model: LoadedModel, anchors: AnchorSet, layers: list[int], side: str) -> Activations:
        """Pooled states of `anchors` at `layers` of one side's model (the activation cache; a subclass may merge)."""
        return extract(model, anchors, layers, pooling=self.pooling, cache=self.cache, progress=self.progress)

    def _token_pair_stats(
        self, source: LoadedModel, target: LoadedModel, texts: Sequence[str], pairs: Sequence[tuple[int, int]]
    ) -> tuple[dict[tuple[int, int], CrossStats], int]:
        """Token-pair statistics of the training texts per layer pair, and the matched pairs' count."""
        return token_pair_stats(source, target, texts, pairs, cache=self.cache, progress=self.progress)

    def _say(self, message: str) -> None:
        """One line on stderr between the phases' progress bars (only with progress=True)."""
        if self.progress:
            print(message, file=sys.stderr, flush=True)

    def _fit_auto(self, stats: CrossStats, x_val: np.ndarray, y_val: np.ndarray) -> LinearMap:
        """Fit once per candidate regularization and keep the best validation semantic preservation."""
        best: tuple[float, LinearMap] | None = None
        for value in AUTO_REGULARIZATION_GRID:
            hyper = {**self.config["solver_hyperparams"], "regularization": value}
            solver = get_plugin_manager().get_solver(
                self.config["optimization"], normalization=self.config["normalization"], **hyper
            )
            linear = solver.fit(stats)
            score = metrics.semantic_preservation(linear.transform(x_val.astype(np.float64)), y_val, linear.mean_y,
                                                  linear.scale_y)
            if best is None or score > best[0]:
                best = (score, linear)
        assert best is not None
        best[1].hyperparams["regularization_selected_on"] = "validation semantic preservation"
        return best[1]

    def _cka(
        self, src: Activations, tgt: Activations, train_rows: np.ndarray, s_layers: list[int], t_layers: list[int]
    ) -> np.ndarray:
        """Linear CKA between standardized training states of every layer pair (unitless, 0..1)."""
        rng = np.random.default_rng(self.seed)
        rows = train_rows
        if len(rows) > self.config["cka_anchors"]:
            rows = np.sort(rng.choice(rows, self.config["cka_anchors"], replace=False))
        return layer_tools.cka_matrix(
            {layer: _standardized(src[layer][rows]) for layer in s_layers},
            {layer: _standardized(tgt[layer][rows]) for layer in t_layers},
            debiased=self.config["cka"] == "debiased",
        )


def _contrastive_record(weight: float) -> dict[str, Any]:
    """What the fit added from the contrastive anchors: weight, and when used their count and content hash."""
    if weight <= 0:
        return {"weight": 0.0}
    from alignment_plugins.anchors.contrastive import contrastive_hash, contrastive_texts

    return {"weight": weight, "texts": len(contrastive_texts()), "hash": contrastive_hash()}


def evaluate_map(linear: LinearMap, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Held-out metrics of one map on paired rows (standardized spaces of the map's training statistics)."""
    xs, ys = x.astype(np.float64), y.astype(np.float64)
    mapped = linear.transform(xs)
    return metrics.compute_all(
        mapped, ys, xs, linear.inverse(mapped), target_mean=linear.mean_y, target_scale=linear.scale_y,
        source_mean=linear.mean_x, source_scale=linear.scale_x,
    )


def _standardized(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _model_meta(model: LoadedModel) -> dict[str, Any]:
    """What a .wmatrix records of a model: name, weight fingerprint, dimensions, family, and where it was found."""
    return {"name": model.name, "fingerprint": model.fingerprint, "hidden_size": model.info.hidden_size,
            "num_layers": model.num_layers, "family": model.info.family, "kind": model.info.kind,
            "origin": dict(model.origin)}


