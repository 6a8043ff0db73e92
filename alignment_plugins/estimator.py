"""The learned retention estimator: measured cases in, a small JSON model out (numpy only; no torch).

**Cases.** One measured case = one (directed pair, capability, target configuration) row of a retention bench's
support-matrix document: measured retention y (the transferred vector's steering effect over the target's own
vector's, random control subtracted; see ``alignment_plugins.retention``) and the features

* of the pair: the map's held-out ``semantic_preservation``, ``r2``, ``cka``, ``reconstruction_error`` at the layers
  the vector uses (standardized spaces; see ``alignment_plugins.metrics``);
* of the vector: ``dimensional_loss`` (``alignment_plugins.transfer_features``);
* of the architectures: ``structural_mismatch``;
* of the configuration: ``quantization_loss`` and ``context_log_ratio`` (``alignment_plugins.target_config``);
* of what was measured around it (*priors*): ``target_prior``, the mean measured retention into the same target model
  from the other pairs, and ``capability_prior``, the mean measured retention of the same capability on the other
  pairs (a case's own pair never enters its priors, in training as at prediction, so a prior is always an
  out-of-pair number). The model keeps the measured (pair, capability, retention) rows to compute them.

**Point model.** Ridge regression on standardized features, ŷ = b + Σ_k β_k (x_k − m_k) / s_k (m, s: training mean
and standard deviation; a feature constant in training gets β = 0). Which features enter, and the penalty λ of
``RIDGE_GRID``, are chosen by leave-one-pair-out mean absolute error inside the training pairs (clipped to [0, 1], what
an estimate reports): greedy forward selection from the intercept-only model (the training mean), adding the feature
that lowers that error most while one does. With a handful of measured pairs most features do not generalize across
pairs, and the selection keeps the model from being worse than the mean; unselected features keep β = 0 (their
ranges are still checked).

**Intervals: conformal by pair**, two ways (``calibration``):

* ``"cross"`` (the default; cross-conformal by pair, the "CV" form of Barber et al. 2021): the point model is fit on
  every pair, and each case's score is e_i = |y_i − ŷ_−g(i)|, the error of the same procedure refit without its pair
  g(i). With n cases and k = ⌈(n + 1)(1 − α)⌉ the interval is ŷ ± e_(k). Every measured pair serves both to fit and
  to calibrate, which matters when only a few pairs are measured; its coverage is not a finite-sample theorem (the
  jackknife+ form guarantees 1 − 2α), so it is measured: ``leave_one_pair_out`` reports it.
* ``"split"`` (split-conformal): the pairs are split at random (``seed``) into training pairs (the point model is fit
  on their cases) and calibration pairs, e_i = |y_i − ŷ_i| on the calibration cases; the interval ŷ ± e_(k) covers a
  case of a new pair with probability ≥ 1 − α when pairs are exchangeable.

When k > n the calibration set is too small for the rank: the largest score is used and the estimate says so
(``Prediction.ranked=False``); ``Prediction.guaranteed`` is true only for a ranked split-conformal interval. The
*wide* interval uses the per-pair scores E_g = max_i∈g e_i the same way: it covers every case of a new pair at once,
and is what an estimate gets when it leaves what was measured (an unverified fine-tune, a configuration outside the
measured range, a missing feature the model uses).

``leave_one_pair_out`` refits the whole procedure (selection, λ, calibration) without each pair in turn and reports
the held-out mean absolute error and the actual coverage of both intervals beside two baselines (the training mean;
semantic preservation taken as the retention, the estimate used before this model).
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
    "CONFIG_FEATURES", "FEATURES", "PAIR_METRICS", "PRIOR_FEATURES", "MeasuredCase", "Prediction", "RetentionEstimator",
    "conformal_quantile", "default_estimator", "leave_one_pair_out", "measured_cases",
]

FORMAT, FORMAT_VERSION = "retention-estimator", 1
PAIR_METRICS: tuple[str, ...] = ("semantic_preservation", "r2", "cka", "reconstruction_error")
CONFIG_FEATURES: tuple[str, ...] = ("quantization_loss", "context_log_ratio")
#: prior feature -> the MeasuredCase field whose value the prior averages over (see the module docstring)
PRIOR_FEATURES: dict[str, str] = {"target_prior": "target", "capability_prior": "capability"}
FEATURES: tuple[str, ...] = (*PAIR_METRICS, "dimensional_loss", "structural_mismatch", *CONFIG_FEATURES,
                             *PRIOR_FEATURES)
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
    #: how the interval was calibrated: "split" (finite-sample guarantee when `guaranteed`) or "cross" (coverage
    #: measured on held-out pairs, never `guaranteed`)
    calibration: str = "split"
    #: whether the calibration set held the conformal rank ⌈(n+1)(1−α)⌉ (else the largest error seen was used)
    ranked: bool = True


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
Reference = Sequence[tuple[str, str, str, float]]  # measured (source, target, capability, retention) rows


def _reference(cases: Sequence[MeasuredCase]) -> list[tuple[str, str, str, float]]:
    return [(c.source, c.target, c.capability, float(c.retention)) for c in cases]


def prior(reference: Reference, name: str, *, source: str, target: str, capability: str | None) -> float | None:
    """The prior feature `name` of a case of pair source->target: mean measured retention (ratio) over the rows of
    `reference` with the same target (``target_prior``) or capability (``capability_prior``), the pair itself
    excluded; None when no such row exists (or the capability is unknown)."""
    value = {"target": target, "capability": capability}[PRIOR_FEATURES[name]]
    index = {"target": 1, "capability": 2}[PRIOR_FEATURES[name]]
    same = [r[3] for r in reference if (r[0], r[1]) != (source, target) and r[index] == value]
    return float(np.mean(same)) if same and value is not None else None


def _design(cases: Sequence[MeasuredCase], features: Sequence[str],
            reference: Reference | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of `cases`; prior features from `reference` (default: the cases themselves), each case's own pair
    excluded, the other pairs' mean retention where no row matches."""
    reference = _reference(cases) if reference is None else reference
    # running sums (retention, count) per key and per (pair, key): a prior is (S_key - S_pair,key) / (N - N_pair)
    totals: dict[Any, list[float]] = {}
    for src, tgt, cap, value in reference:
        for key in (("all",), ("target", tgt), ("capability", cap), ("pair", src, tgt, "all"),
                    ("pair", src, tgt, "target", tgt), ("pair", src, tgt, "capability", cap)):
            total = totals.setdefault(key, [0.0, 0.0])
            total[0] += value
            total[1] += 1.0

    def other_pairs_mean(c: MeasuredCase, *key: str) -> float | None:
        s_all, n_all = totals.get(key, (0.0, 0.0))
        s_own, n_own = totals.get(("pair", c.source, c.target, *key), (0.0, 0.0))
        return (s_all - s_own) / (n_all - n_own) if n_all - n_own > 0 else None

    rows = []
    for c in cases:
        row = []
        for f in features:
            if f in PRIOR_FEATURES:
                kind = PRIOR_FEATURES[f]
                value = other_pairs_mean(c, kind, getattr(c, kind))
                if value is None:
                    value = other_pairs_mean(c, "all")
                if value is None:
                    value = float(np.mean([r[3] for r in reference])) if reference else 0.0
                row.append(value)
            else:
                row.append(c.features[f])
        rows.append(row)
    x = np.array(rows, dtype=np.float64).reshape(len(cases), -1)
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


def _predict(fit: tuple[np.ndarray, np.ndarray, np.ndarray, float], x: np.ndarray) -> np.ndarray:
    mean, scale, coef, b = fit
    return b + ((x - mean) / scale) @ coef


def _ridge_on(x: np.ndarray, y: np.ndarray, lam: float, selected: Sequence[int]) -> tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray, float]:
    """`_ridge` on the columns `selected` only (the others get coef 0; mean and scale of every column are kept)."""
    std = x.std(axis=0)
    coef = np.zeros(x.shape[1])
    if selected:
        cols = list(selected)
        coef[cols] = _ridge(x[:, cols], y, lam)[2]
    return x.mean(axis=0), np.where(std > 1e-12, std, 1.0), coef, float(y.mean())


@dataclass(frozen=True)
class _Fold:
    """One leave-one-pair-out fold, standardized with its training cases' mean and scale."""

    z: np.ndarray  # training cases, standardized
    y: np.ndarray  # training retention, centred
    intercept: float
    zh: np.ndarray  # held-out pair's cases (priors from the training cases), same standardization
    yh: np.ndarray


def _folds(cases: Sequence[MeasuredCase], features: Sequence[str]) -> list[_Fold]:
    """Leave-one-pair-out folds of `cases` (each pair held out once)."""
    folds = []
    for g in _groups(cases):
        rest = [c for c in cases if c.pair != g]
        x, y = _design(rest, features)
        xh, yh = _design([c for c in cases if c.pair == g], features, _reference(rest))
        std = x.std(axis=0)
        mean, scale = x.mean(axis=0), np.where(std > 1e-12, std, 1.0)
        folds.append(_Fold((x - mean) / scale, y - y.mean(), float(y.mean()), (xh - mean) / scale, yh))
    return folds


def _lopo_errors(folds: Sequence[_Fold], selected: Sequence[int], grid: Sequence[float]) -> np.ndarray:
    """Leave-one-pair-out absolute errors (estimate and retention clipped to 0..1) of ridge on the `selected`
    columns, one row per λ of `grid` (one eigendecomposition per fold serves every λ)."""
    lams = np.asarray(grid, dtype=np.float64)
    rows = []
    for f in folds:
        pred = np.full((lams.size, f.yh.size), f.intercept)
        if selected:
            cols = list(selected)
            z, zh = f.z[:, cols], f.zh[:, cols]
            evals, evecs = np.linalg.eigh(z.T @ z)
            proj = evecs.T @ (z.T @ f.y)  # coef(λ) = V diag(1 / (e + λ)) Vᵀ Zᵀ y
            coefs = (proj[None, :] / (evals[None, :] + lams[:, None])) @ evecs.T
            pred = pred + coefs @ zh.T
        rows.append(np.abs(np.clip(pred, 0.0, 1.0) - np.clip(f.yh, 0.0, 1.0)))
    return np.concatenate(rows, axis=1)


def _choose_model(cases: Sequence[MeasuredCase], features: Sequence[str], *, ridge: float | None,
                  select: bool) -> tuple[list[int], float]:
    """(selected feature columns, λ) by leave-one-pair-out MAE on `cases` (see the module docstring).

    With fewer than 2 pairs nothing can be held out: every feature, λ = `ridge` or DEFAULT_RIDGE.
    """
    grid = RIDGE_GRID if ridge is None else (float(ridge),)
    every = list(range(len(features)))
    if len(_groups(cases)) < 2:
        return every, grid[0] if ridge is not None else DEFAULT_RIDGE
    folds = _folds(cases, features)

    def best_lambda(selected: list[int]) -> tuple[float, float, float]:
        """(MAE, its standard error, λ) of the best λ for `selected` (ties: the larger penalty)."""
        errors = _lopo_errors(folds, selected, grid)
        mae = errors.mean(axis=1)
        k = min(range(len(grid)), key=lambda i: (mae[i], -grid[i]))
        se = float(errors[k].std(ddof=1) / math.sqrt(errors.shape[1])) if errors.shape[1] > 1 else 0.0
        return float(mae[k]), se, float(grid[k])

    if not select:
        return every, best_lambda(every)[2]
    # forward selection with the one-standard-error rule: a feature enters only when it lowers the held-out-pair
    # error by more than that error's standard error (a smaller gain is within what another sample of pairs moves)
    selected: list[int] = []
    error, se, lam = best_lambda(selected)
    while True:
        trials = [(*best_lambda([*selected, k]), k) for k in every if k not in selected]
        if not trials:
            break
        err, se_k, lam_k, k = min(trials, key=lambda t: (t[0], t[3]))
        if err >= error - se:
            break
        selected, error, se, lam = sorted([*selected, k]), err, se_k, lam_k
    return selected, lam


def _fit_point(cases: Sequence[MeasuredCase], features: Sequence[str], *, ridge: float | None,
               select: bool) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, float], list[int], float]:
    """The point model of `cases`: ((mean, scale, coef, intercept), selected columns, λ)."""
    selected, lam = _choose_model(cases, features, ridge=ridge, select=select)
    x, y = _design(cases, features)
    return _ridge_on(x, y, lam, selected), selected, lam


@dataclass
class RetentionEstimator:
    """Ridge point model + conformal intervals by pair (cross or split), saved as a small JSON file (see the module)."""

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
    #: the measured (source, target, capability, retention) rows the prior features average over
    reference: list[tuple[str, str, str, float]] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def level(self) -> float:
        """Nominal coverage of the intervals (1 − α)."""
        return 1.0 - self.alpha

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, cases: Sequence[MeasuredCase], *, alpha: float = 0.1, calibration: str = "cross",
            calibration_fraction: float = 0.5, seed: int = 0, features: Sequence[str] = FEATURES,
            ridge: float | None = None, select: bool = True,
            sources: Sequence[Mapping[str, Any]] = ()) -> RetentionEstimator:
        """Fit and calibrate on measured cases: ``calibration="cross"`` (every pair fits and calibrates) or
        ``"split"`` (pairs split at random with `seed`, `calibration_fraction` of them calibrate); see the module."""
        if not 0 < alpha < 1 or not 0 < calibration_fraction < 1:
            raise ValueError("alpha and calibration_fraction must be in (0, 1)")
        if calibration not in ("cross", "split"):
            raise ValueError(f"calibration must be 'cross' or 'split', got {calibration!r}")
        features = tuple(features)
        unknown = sorted(set(features) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {list(FEATURES)}")
        groups = _groups(cases)
        if len(groups) < 2:
            raise ValueError(f"conformal calibration by pair needs measured cases of at least 2 pairs, got {groups}")
        if calibration == "split":
            order = np.random.default_rng(seed).permutation(len(groups))
            n_cal = min(len(groups) - 1, max(1, round(calibration_fraction * len(groups))))
            calibration_pairs = sorted(groups[k] for k in order[:n_cal])
            train = [c for c in cases if c.pair not in calibration_pairs]
            point, selected, lam = _fit_point(train, features, ridge=ridge, select=select)
            held = [c for c in cases if c.pair in calibration_pairs]
            xh, yh = _design(held, features, _reference(train))
            errors = [(c.pair, float(e)) for c, e in zip(held, np.abs(yh - _predict(point, xh)), strict=True)]
        else:
            calibration_pairs, train = groups, list(cases)
            point, selected, lam = _fit_point(train, features, ridge=ridge, select=select)
            errors = []
            for g in groups:  # the whole procedure (selection and λ included) without pair g, scored on g
                rest, held = [c for c in cases if c.pair != g], [c for c in cases if c.pair == g]
                fold, _, _ = _fit_point(rest, features, ridge=ridge, select=select)
                xh, yh = _design(held, features, _reference(rest))
                errors.extend((g, float(e)) for e in np.abs(yh - _predict(fold, xh)))
        x, _ = _design(train, features)
        mean, scale, coef, intercept = point
        model = cls(features=features, mean=mean, scale=scale, coef=coef, intercept=intercept, ridge=lam,
                    alpha=alpha, case_quantile=math.inf, case_guaranteed=False, pair_quantile=math.inf,
                    pair_guaranteed=False,
                    ranges={f: [float(x[:, k].min()), float(x[:, k].max())] for k, f in enumerate(features)})
        model.case_quantile, model.case_guaranteed = conformal_quantile([e for _, e in errors], alpha)
        per_pair = [max(e for p, e in errors if p == g) for g in calibration_pairs]
        model.pair_quantile, model.pair_guaranteed = conformal_quantile(per_pair, alpha)
        model.training = {
            "cases": len(cases), "pairs": groups, "calibration": calibration,
            "training_pairs": sorted({c.pair for c in train}), "calibration_pairs": calibration_pairs,
            "calibration_cases": len(errors), "seed": seed, "selected_features": [features[k] for k in selected],
            "capabilities": sorted({c.capability for c in cases}), "sources": [dict(s) for s in sources],
        }
        model.reference = _reference(cases)
        return model

    # -------------------------------------------------------------- predict
    def point(self, features: Mapping[str, float]) -> float:
        """The raw point estimate ŷ (retention, not clipped) of complete features."""
        x = np.array([float(features[f]) for f in self.features])
        return float(self.intercept + ((x - self.mean) / self.scale) @ self.coef)

    def predict(self, features: Mapping[str, float | None], *, source: str | None = None, target: str | None = None,
                capability: str | None = None, wide_reasons: Iterable[str] = ()) -> Prediction:
        """Estimate for a vector of `capability` sent from `source` to `target` (names as measured; they give the
        prior features): the case interval, or the wide (per-pair) one when `wide_reasons` are given, a configuration
        feature lies outside the measured range, or a feature the model uses is missing (imputed with the training
        centre; a prior is missing when nothing was measured into that target or of that capability)."""
        reasons = list(wide_reasons)
        features = dict(features)
        for name in PRIOR_FEATURES:
            if name in self.features and features.get(name) is None and source is not None and target is not None:
                features[name] = prior(self.reference, name, source=source, target=target, capability=capability)
        filled, imputed = {}, []
        for k, name in enumerate(self.features):
            value = features.get(name)
            if value is None or not math.isfinite(float(value)):
                filled[name] = float(self.mean[k])
                imputed.append(name)
            else:
                filled[name] = float(value)
        used = [name for k, name in enumerate(self.features) if name in imputed and self.coef[k] != 0.0]
        if used:
            reasons.append(f"no value for {', '.join(used)} (imputed with the measured cases' mean)")
        for name in CONFIG_FEATURES:
            if name in self.ranges:
                low, high = self.ranges[name]
                if not low - 1e-9 <= filled[name] <= high + 1e-9:
                    reasons.append(f"{name.replace('_', ' ')} {filled[name]:.2f} is outside the measured range "
                                   f"[{low:.2f}, {high:.2f}]")
        raw = self.point(filled)
        wide = bool(reasons)
        q = self.pair_quantile if wide else self.case_quantile
        ranked = self.pair_guaranteed if wide else self.case_guaranteed
        calibration = str(self.training.get("calibration", "split"))
        return Prediction(retention=_clip01(raw), ci_low=_clip01(raw - q), ci_high=_clip01(raw + q),
                          level=self.level, wide=wide, guaranteed=ranked and calibration == "split", raw=raw,
                          reasons=tuple(reasons), calibration=calibration, ranked=ranked,
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
            "ranges": self.ranges, "training": self.training, "reference": [list(r) for r in self.reference],
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
                reference=[(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in data.get("reference") or []],
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"malformed {FORMAT} document: {exc!r}") from None
        if set(features) - set(FEATURES) or any(a.shape != (len(features),) for a in arrays):
            raise ValueError(f"malformed {FORMAT} document: features and coefficients do not match")
        if not all(np.isfinite(a).all() for a in arrays) or (arrays[1] <= 0).any():
            raise ValueError(f"malformed {FORMAT} document: non-finite or non-positive numbers")
        if not model.reference and any(arrays[2][k] != 0.0 for k, f in enumerate(features) if f in PRIOR_FEATURES):
            raise ValueError(f"malformed {FORMAT} document: prior features without the measured reference rows")
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
            where = {"source": c.source, "target": c.target, "capability": c.capability}
            p = model.predict(c.features, **where)
            w = model.predict(c.features, **where, wide_reasons=["evaluation"])
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
