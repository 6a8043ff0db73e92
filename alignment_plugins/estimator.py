"""The learned retention estimator: measured cases in, a small JSON model out (numpy only; no torch).

**Cases.** One measured case = one (directed pair, capability, target configuration) row of a retention bench's
support-matrix document: measured retention y (the transferred vector's steering effect over the target's own
vector's, random control subtracted; see ``alignment_plugins.retention``) and the features

* of the pair: the map's held-out ``semantic_preservation``, ``r2``, ``cka``, ``reconstruction_error`` at the layers
  the vector uses (standardized spaces; see ``alignment_plugins.metrics``);
* of the vector: ``dimensional_loss`` (``alignment_plugins.transfer_features``);
* of the architectures: ``structural_mismatch``;
* of the configuration: ``quantization_loss`` and ``context_log_ratio`` (``alignment_plugins.target_config``).

**Point model.** Ridge regression on standardized features, ŷ = b + Σ_k β_k (x_k − m_k) / s_k (m, s: training mean
and standard deviation; a feature constant in training gets β = 0), the penalty λ chosen from ``RIDGE_GRID`` by
leave-one-pair-out mean absolute error inside the training pairs.

**Intervals: split-conformal by pair.** The measured pairs are split at random (``seed``) into training pairs (the
point model is fit on their cases) and calibration pairs. On the n calibration cases the scores are
e_i = |y_i − ŷ_i|; with k = ⌈(n + 1)(1 − α)⌉ the interval is ŷ ± e_(k) (the k-th smallest), which covers a case of a
new pair with probability ≥ 1 − α when pairs are exchangeable. When k > n the calibration set is too small for that
guarantee: the largest score is used and the estimate says so (``guaranteed=False``). The *wide* interval uses the
per-pair scores E_g = max_i∈g |y_i − ŷ_i| the same way: it covers every case of a new pair at once, and is what an
estimate gets when it leaves what was measured (an unverified fine-tune, a configuration outside the measured range,
a missing feature).

``leave_one_pair_out`` refits the whole procedure without each pair in turn and reports the held-out mean absolute
error and the actual coverage of both intervals beside two baselines (the training mean; semantic preservation taken
as the retention, the estimate used before this model).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alignment_plugins.target_config import config_features, normalize_config
from alignment_plugins.transfer_features import structural_mismatch

__all__ = [
    "CONFIG_FEATURES", "FEATURES", "PAIR_METRICS", "MeasuredCase", "Prediction", "RetentionEstimator",
    "conformal_quantile", "default_estimator", "leave_one_pair_out", "measured_cases",
]

FORMAT, FORMAT_VERSION = "retention-estimator", 1
PAIR_METRICS: tuple[str, ...] = ("semantic_preservation", "r2", "cka", "reconstruction_error")
CONFIG_FEATURES: tuple[str, ...] = ("quantization_loss", "context_log_ratio")
FEATURES: tuple[str, ...] = (*PAIR_METRICS, "dimensional_loss", "structural_mismatch", *CONFIG_FEATURES)
RIDGE_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
DEFAULT_RIDGE = 1.0
#: The model fitted by ``bench/estimates_bench.py`` on the measured support matrix (shipped with the engine).
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "retention_estimator.json"


@dataclass(frozen=True)
class MeasuredCase:
    """One measured retention with the features the estimator reads (see the module docstring)."""

    source: str
    target: str
    capability: str
    retention: float
    features: dict[str, float]
    config: dict[str, Any] = field(default_factory=dict)
    source_layer: int | None = None
    target_layer: int | None = None
    ci: tuple[float, float] | None = None

    @property
    def pair(self) -> str:
        """The directed pair, "source->target" (the unit held out together)."""
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class Prediction:
    """An estimate: point and interval (retention, clipped to 0..1), the interval's kind and why it is wide."""

    retention: float
    ci_low: float
    ci_high: float
    level: float
    wide: bool
    guaranteed: bool
    raw: float
    reasons: tuple[str, ...] = ()
    imputed: tuple[str, ...] = ()


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def conformal_quantile(scores: Sequence[float], alpha: float) -> tuple[float, bool]:
    """(e_(k), guaranteed): the k-th smallest score, k = ⌈(n+1)(1−α)⌉; the largest with guaranteed=False if k > n."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    if s.size == 0:
        raise ValueError("no calibration scores")
    k = math.ceil((s.size + 1) * (1.0 - alpha) - 1e-12)
    return (float(s[k - 1]), True) if k <= s.size else (float(s[-1]), False)


# --------------------------------------------------------------------------------------------------- cases
def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return None
    return float(value)


def measured_cases(
    doc: Mapping[str, Any],
    *,
    dimensional_loss: Callable[[Mapping[str, Any], str], float | None] | None = None,
    architectures: Mapping[str, Any] | None = None,
) -> list[MeasuredCase]:
    """Every (pair, capability) row with a finite retention of a support-matrix document, as MeasuredCase.

    Features: the pair's ``held_out`` metrics; ``dimensional_loss`` from the capability row, else from the
    `dimensional_loss(pair, capability)` callback; ``structural_mismatch`` from the pair, else from the
    ``architecture`` of both models (``models.<name>.architecture`` in the document or `architectures`); the
    configuration from the pair's ``target_config``, else the document's, else the default (unquantized, short
    prompts). ValueError naming the row when a feature cannot be found.
    """
    cases = []
    models = doc.get("models") or {}
    doc_config = doc.get("target_config")
    for pair in doc.get("pairs") or []:
        source, target = pair["source"], pair["target"]
        held = pair.get("held_out") or {}
        config = normalize_config(pair.get("target_config", doc_config))
        mismatch = _finite(pair.get("structural_mismatch"))
        if mismatch is None:
            arch = {n: (architectures or {}).get(n) or (models.get(n) or {}).get("architecture") for n in
                    (source, target)}
            if arch[source] is not None and arch[target] is not None:
                mismatch = structural_mismatch(arch[source], arch[target])
        for capability, row in (pair.get("capabilities") or {}).items():
            retention = _finite(row.get("retention"))
            if retention is None:
                continue
            where = f"{source} -> {target} {capability}"
            features = {name: _finite(held.get(name)) for name in PAIR_METRICS}
            loss = _finite(row.get("dimensional_loss"))
            if loss is None and dimensional_loss is not None:
                loss = dimensional_loss(pair, capability)
            features.update(dimensional_loss=loss, structural_mismatch=mismatch, **config_features(config))
            missing = sorted(k for k, v in features.items() if v is None)
            if missing:
                raise ValueError(f"{where}: no value for {missing} (the bench writes them; dimensional loss can be "
                                 "computed from the bench's work directory)")
            ci = row.get("ci")
            interval = (float(ci[0]), float(ci[1])) if isinstance(ci, (list, tuple)) and None not in ci else None
            cases.append(MeasuredCase(
                source=source, target=target, capability=str(capability), retention=retention,
                features={k: float(v) for k, v in features.items()}, config=config,
                source_layer=pair.get("source_layer"), target_layer=pair.get("target_layer"), ci=interval))
    return cases


# ------------------------------------------------------------------------------------------------ the model
def _design(cases: Sequence[MeasuredCase], features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[c.features[f] for f in features] for c in cases], dtype=np.float64).reshape(len(cases), -1)
    return x, np.array([c.retention for c in cases], dtype=np.float64)


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, coef, intercept) of ridge regression on standardized columns (constant columns get coef 0)."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    live = std > 1e-12
    scale = np.where(live, std, 1.0)
    z = (x - mean) / scale
    coef = np.zeros(x.shape[1])
    if live.any():
        zl = z[:, live]
        coef[live] = np.linalg.solve(zl.T @ zl + lam * np.eye(zl.shape[1]), zl.T @ (y - y.mean()))
    return mean, scale, coef, float(y.mean())


def _groups(cases: Sequence[MeasuredCase]) -> list[str]:
    return sorted({c.pair for c in cases})


def _choose_ridge(cases: Sequence[MeasuredCase], features: Sequence[str]) -> float:
    """λ of RIDGE_GRID with the smallest leave-one-pair-out MAE on `cases` (DEFAULT_RIDGE with fewer than 2 pairs)."""
    groups = _groups(cases)
    if len(groups) < 2:
        return DEFAULT_RIDGE
    best, best_err = DEFAULT_RIDGE, math.inf
    for lam in RIDGE_GRID:
        errors = []
        for g in groups:
            train = [c for c in cases if c.pair != g]
            x, y = _design(train, features)
            mean, scale, coef, b = _ridge(x, y, lam)
            xh, yh = _design([c for c in cases if c.pair == g], features)
            errors.extend(np.abs(yh - (b + ((xh - mean) / scale) @ coef)))
        err = float(np.mean(errors))
        if err < best_err - 1e-12:
            best, best_err = lam, err
    return best


@dataclass
class RetentionEstimator:
    """Ridge point model + split-conformal intervals (by pair), saved as a small JSON file (see the module)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    ridge: float
    alpha: float
    case_quantile: float
    case_guaranteed: bool
    pair_quantile: float
    pair_guaranteed: bool
    ranges: dict[str, list[float]]
    training: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def level(self) -> float:
        """Nominal coverage of the intervals (1 − α)."""
        return 1.0 - self.alpha

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, cases: Sequence[MeasuredCase], *, alpha: float = 0.1, calibration_fraction: float = 0.5,
            seed: int = 0, features: Sequence[str] = FEATURES, ridge: float | None = None,
            sources: Sequence[Mapping[str, Any]] = ()) -> RetentionEstimator:
        """Fit on the training pairs, calibrate on the others (split at random by pair with `seed`)."""
        if not 0 < alpha < 1 or not 0 < calibration_fraction < 1:
            raise ValueError("alpha and calibration_fraction must be in (0, 1)")
        features = tuple(features)
        unknown = sorted(set(features) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {list(FEATURES)}")
        groups = _groups(cases)
        if len(groups) < 2:
            raise ValueError(f"split-conformal calibration needs measured cases of at least 2 pairs, got {groups}")
        order = np.random.default_rng(seed).permutation(len(groups))
        n_cal = min(len(groups) - 1, max(1, round(calibration_fraction * len(groups))))
        calibration = sorted(groups[k] for k in order[:n_cal])
        train = [c for c in cases if c.pair not in calibration]
        held = [c for c in cases if c.pair in calibration]
        lam = _choose_ridge(train, features) if ridge is None else float(ridge)
        x, y = _design(train, features)
        mean, scale, coef, intercept = _ridge(x, y, lam)
        model = cls(features=features, mean=mean, scale=scale, coef=coef, intercept=intercept, ridge=lam,
                    alpha=alpha, case_quantile=math.inf, case_guaranteed=False, pair_quantile=math.inf,
                    pair_guaranteed=False,
                    ranges={f: [float(x[:, k].min()), float(x[:, k].max())] for k, f in enumerate(features)})
        errors = [(c.pair, abs(c.retention - model.point(c.features))) for c in held]
        model.case_quantile, model.case_guaranteed = conformal_quantile([e for _, e in errors], alpha)
        per_pair = [max(e for p, e in errors if p == g) for g in calibration]
        model.pair_quantile, model.pair_guaranteed = conformal_quantile(per_pair, alpha)
        model.training = {
            "cases": len(cases), "pairs": groups, "training_pairs": sorted(set(groups) - set(calibration)),
            "calibration_pairs": calibration, "calibration_cases": len(held), "seed": seed,
            "capabilities": sorted({c.capability for c in cases}), "sources": [dict(s) for s in sources],
        }
        return model

    # -------------------------------------------------------------- predict
    def point(self, features: Mapping[str, float]) -> float:
        """The raw point estimate ŷ (retention, not clipped) of complete features."""
        x = np.array([float(features[f]) for f in self.features])
        return float(self.intercept + ((x - self.mean) / self.scale) @ self.coef)

    def predict(self, features: Mapping[str, float | None], *, wide_reasons: Iterable[str] = ()) -> Prediction:
        """Estimate with the case interval, or the wide (per-pair) one when `wide_reasons` are given, a
        configuration feature lies outside the measured range, or a feature is missing (imputed with the
        training centre)."""
        reasons = list(wide_reasons)
        filled, imputed = {}, []
        for k, name in enumerate(self.features):
            value = features.get(name)
            if value is None or not math.isfinite(float(value)):
                filled[name] = float(self.mean[k])
                imputed.append(name)
            else:
                filled[name] = float(value)
        if imputed:
            reasons.append(f"no value for {', '.join(imputed)} (imputed with the measured cases' mean)")
        for name in CONFIG_FEATURES:
            if name in self.ranges:
                low, high = self.ranges[name]
                if not low - 1e-9 <= filled[name] <= high + 1e-9:
                    reasons.append(f"{name.replace('_', ' ')} {filled[name]:.2f} is outside the measured range "
                                   f"[{low:.2f}, {high:.2f}]")
        raw = self.point(filled)
        wide = bool(reasons)
        q = self.pair_quantile if wide else self.case_quantile
        guaranteed = self.pair_guaranteed if wide else self.case_guaranteed
        return Prediction(retention=_clip01(raw), ci_low=_clip01(raw - q), ci_high=_clip01(raw + q),
                          level=self.level, wide=wide, guaranteed=guaranteed, raw=raw, reasons=tuple(reasons),
                          imputed=tuple(imputed))

    # ---------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the model (format "retention-estimator", version 1)."""
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "format": FORMAT, "version": FORMAT_VERSION, "created_at": self.created_at,
            "features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
            "coef": self.coef.tolist(), "intercept": self.intercept, "ridge": self.ridge, "alpha": self.alpha,
            "conformal": {"case": {"quantile": num(self.case_quantile), "guaranteed": self.case_guaranteed},
                          "pair": {"quantile": num(self.pair_quantile), "guaranteed": self.pair_guaranteed}},
            "ranges": self.ranges, "training": self.training,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetentionEstimator:
        """Rebuild a model from ``to_dict`` output; ValueError saying what is wrong otherwise."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a {FORMAT} version {FORMAT_VERSION} document")
        try:
            features = tuple(data["features"])
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            conformal = data["conformal"]
            quantiles = [conformal[k]["quantile"] for k in ("case", "pair")]
            model = cls(
                features=features, mean=arrays[0], scale=arrays[1], coef=arrays[2],
                intercept=float(data["intercept"]), ridge=float(data["ridge"]), alpha=float(data["alpha"]),
                case_quantile=math.inf if quantiles[0] is None else float(quantiles[0]),
                case_guaranteed=bool(conformal["case"]["guaranteed"]),
                pair_quantile=math.inf if quantiles[1] is None else float(quantiles[1]),
                pair_guaranteed=bool(conformal["pair"]["guaranteed"]),
                ranges={str(k): [float(v[0]), float(v[1])] for k, v in data["ranges"].items()},
                training=dict(data.get("training") or {}), created_at=str(data.get("created_at", "")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"malformed {FORMAT} document: {exc!r}") from None
        if set(features) - set(FEATURES) or any(a.shape != (len(features),) for a in arrays):
            raise ValueError(f"malformed {FORMAT} document: features and coefficients do not match")
        if not all(np.isfinite(a).all() for a in arrays) or (arrays[1] <= 0).any():
            raise ValueError(f"malformed {FORMAT} document: non-finite or non-positive numbers")
        return model

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON model file (atomically); return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> RetentionEstimator:
        """Read a JSON model file written by ``save``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the retention estimator {path}: {exc}") from None
        return cls.from_dict(data)


# --------------------------------------------------------------------------------------------- evaluation
def leave_one_pair_out(cases: Sequence[MeasuredCase], **fit_kwargs: Any) -> dict[str, Any]:
    """Hold out each directed pair in turn, fit on the rest (``RetentionEstimator.fit(**fit_kwargs)``), predict it.

    Returns ``{"n", "pairs", "mae", "coverage", "wide_coverage", "mean_width", "baselines": {"training_mean",
    "semantic_preservation"}, "rows": [per case]}``; retention and intervals are compared clipped to [0, 1] (what an
    estimate reports). A pair whose rest has fewer than 2 pairs (one to fit, one to calibrate) is skipped and
    listed under ``"skipped"``.
    """
    groups = _groups(cases)
    rows, skipped = [], []
    for g in groups:
        rest = [c for c in cases if c.pair != g]
        if len(_groups(rest)) < 2:
            skipped.append(g)
            continue
        model = RetentionEstimator.fit(rest, **fit_kwargs)
        mean = float(np.mean([c.retention for c in rest]))
        for c in (c for c in cases if c.pair == g):
            y = _clip01(c.retention)
            p = model.predict(c.features)
            w = model.predict(c.features, wide_reasons=["evaluation"])
            rows.append({"pair": g, "capability": c.capability, "config": c.config, "measured": c.retention,
                         "estimate": p.retention, "ci": [p.ci_low, p.ci_high], "wide_ci": [w.ci_low, w.ci_high],
                         "covered": p.ci_low <= y <= p.ci_high, "wide_covered": w.ci_low <= y <= w.ci_high,
                         "error": abs(p.retention - y), "mean_error": abs(_clip01(mean) - y),
                         "sp_error": abs(_clip01(c.features["semantic_preservation"]) - y)})
    if not rows:
        return {"n": 0, "pairs": [], "skipped": skipped, "rows": []}

    def avg(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    return {
        "n": len(rows), "pairs": sorted({r["pair"] for r in rows}), "skipped": skipped,
        "mae": avg("error"), "coverage": avg("covered"), "wide_coverage": avg("wide_covered"),
        "mean_width": float(np.mean([r["ci"][1] - r["ci"][0] for r in rows])),
        "baselines": {"training_mean": avg("mean_error"), "semantic_preservation": avg("sp_error")},
        "rows": rows,
    }


_LOADED: dict[tuple[str, float], RetentionEstimator] = {}


def default_estimator(path: str | os.PathLike | None = None) -> RetentionEstimator:
    """The estimator in `path` (default: the shipped ``data/retention_estimator.json``), cached per file mtime."""
    path = Path(path or DEFAULT_MODEL_PATH)
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError as exc:
        raise ValueError(f"no retention estimator at {path}: {exc}; fit one with bench/estimates_bench.py") from None
    if key not in _LOADED:
        if len(_LOADED) > 8:
            _LOADED.clear()
        _LOADED[key] = RetentionEstimator.load(path)
    return _LOADED[key]
