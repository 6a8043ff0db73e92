"""The statistics of a drift check (numpy only): fresh anchors, per-row metrics, bootstrap deltas, the paired probe
test.

Two tests, each at half the stated false-alarm rate α (so that together, by the union bound, they raise a false
alarm with probability at most α when nothing changed):

* **paired probe test** — the same m probe texts (held-out test anchors, states kept in the .wmatrix) read on
  today's models. Per text k, the drop of the map's quality d_k = cos(W̃x̃ᵣ, ỹᵣ) − cos(W̃x̃ₙ, ỹₙ) (r = recorded, n =
  now; standardized spaces of the map). H0: the d_k are symmetric about 0 (the models compute what they computed).
  Statistic T = mean_k d_k; one-sided sign-flip randomization p-value p = (1 + #{T* ≥ T}) / (1 + B) over B random
  sign vectors; reject when p < α/2. Beside it the **representation shift** of each side, mean_k ‖ãₙ − ãᵣ‖ / ‖ãᵣ‖
  (standardized), compared with a tolerance far above float32 recomputation noise: weights that compute other states
  are a change even when the map's quality survives it.
* **fresh-anchor test** — today's metrics of the recommended pair on fresh anchors (never trained on, as many as the
  recorded test split) against the recorded held-out metrics: delta = now − recorded with a 95% interval from B
  bootstrap resamples of the fresh rows, widened in quadrature by the recorded value's own 95% half-width. The
  semantic-preservation test rejects "no drop" when the one-sided upper (1 − α/2) bound of its delta is below 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from alignment_plugins.metrics import retrieval_ranks, row_cosines
from alignment_plugins.solvers import LinearMap

__all__ = ["MetricDelta", "PairedTest", "fresh_anchors", "metric_deltas", "paired_probe_test", "row_metrics"]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class MetricDelta:
    """One metric of the recommended pair: recorded, now (fresh anchors), delta = now − recorded, its 95% interval."""

    metric: str
    recorded: float | None
    current: float
    delta: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class PairedTest:
    """The paired probe test's result (see the module docstring)."""

    n: int
    mean_drop: float
    p_value: float
    alpha: float
    rejected: bool
    shift: dict[str, float]
    shift_tolerance: float
    shifted: bool
    resamples: int
    test: str = ("one-sided sign-flip randomization test of the mean per-text drop in cos(W·x, y) (standardized) on "
                 "the probe texts, at level alpha/2; representation shift = mean relative distance of today's "
                 "standardized states from the recorded ones")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def fresh_anchors(anchors_meta: Mapping[str, Any], n: int, seed: int) -> Any:
    """`n` built-in anchors the matrix never trained on, from its corpus version and domains, seeded by `seed`.

    The training sample is rebuilt from the recorded corpus name, domains, count and seed and excluded when its
    content hash matches the recorded one; the returned set never equals the training set.
    """
    from alignment_plugins.anchors import AnchorSet, available_versions, load_builtin

    name = str(anchors_meta.get("name") or "")
    trained_on = name.split("|", 1)[0]
    version = trained_on.split(":", 1)[1] if trained_on.startswith("builtin:") else ""
    corpus = load_builtin(version) if version in available_versions() else load_builtin()
    domains = sorted((anchors_meta.get("domains") or {}).keys())
    if "|domains=" in name and domains:
        corpus = corpus.filter(domains)
    total = sum(int(v) for v in (anchors_meta.get("counts") or {}).values())
    excluded: set[str] = set()
    if 0 < total <= len(corpus):
        sample = corpus.sample(total, seed=int(anchors_meta.get("seed", 0)))
        if sample.content_hash == anchors_meta.get("hash"):
            excluded = set(sample.texts)
    pool = AnchorSet([a for a in corpus if a.text not in excluded], name=f"{corpus.name}|not-training")
    fresh = pool.sample(min(n, len(pool)), seed=seed)
    if fresh.content_hash == anchors_meta.get("hash"):  # only possible when nothing could be excluded
        fresh = pool.sample(min(n, len(pool)), seed=seed + 1)
    return fresh


def _standardized(a: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (np.asarray(a, np.float64) - mean) / scale


def row_metrics(linear: LinearMap, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row terms of the held-out metrics on paired rows: ``cos`` (mapped vs true, standardized target), ``top1``
    (1 when the true row ranks first among all rows), ``sse``/``sst`` (round-trip squared error and spread, standardized
    source; reconstruction error = Σsse / Σsst)."""
    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    mapped = linear.transform(xs)
    xt = _standardized(xs, linear.mean_x, linear.scale_x)
    xr = _standardized(linear.inverse(mapped), linear.mean_x, linear.scale_x)
    return {
        "cos": row_cosines(mapped, ys, linear.mean_y, linear.scale_y),
        "top1": (retrieval_ranks(mapped, ys, linear.mean_y, linear.scale_y) == 0).astype(np.float64),
        "sse": np.sum((xt - xr) ** 2, axis=1),
        "sst": np.sum((xt - xt.mean(axis=0)) ** 2, axis=1),
    }


def _aggregate(rows: Mapping[str, np.ndarray], index: np.ndarray) -> dict[str, float]:
    return {"semantic_preservation": float(rows["cos"][index].mean()), "accuracy": float(rows["top1"][index].mean()),
            "reconstruction_error": float(rows["sse"][index].sum() / max(rows["sst"][index].sum(), 1e-300))}


def _baseline_half_width(metric: str, recorded: Mapping[str, Any]) -> float:
    """95% half-width of a recorded metric: its stored interval (semantic preservation), the binomial one (accuracy
    over the recorded n), else 0 (reconstruction error has no stored interval)."""
    if metric == "semantic_preservation" and recorded.get("semantic_preservation_ci_low") is not None:
        return (float(recorded["semantic_preservation_ci_high"]) - float(recorded["semantic_preservation_ci_low"])) / 2
    if metric == "accuracy" and recorded.get("accuracy") is not None and recorded.get("n"):
        p = float(recorded["accuracy"])
        return Z95 * float(np.sqrt(max(p * (1 - p), 0.0) / float(recorded["n"])))
    return 0.0


def metric_deltas(rows: Mapping[str, np.ndarray], recorded: Mapping[str, Any], *, alpha: float, resamples: int,
                  seed: int) -> tuple[list[MetricDelta], float | None]:
    """Deltas (now − recorded) of the three headline metrics with 95% intervals, and the one-sided upper
    (1 − alpha/2) bound of the semantic-preservation delta (None without a recorded value)."""
    n = len(rows["cos"])
    rng = np.random.default_rng(seed)
    point = _aggregate(rows, np.arange(n))
    draws = [_aggregate(rows, rng.integers(0, n, size=n)) for _ in range(resamples)]
    out: list[MetricDelta] = []
    upper: float | None = None
    for metric, now in point.items():
        base = recorded.get(metric)
        if base is None or not np.isfinite(float(base)):
            out.append(MetricDelta(metric, None, now, None, None, None))
            continue
        values = np.array([d[metric] for d in draws])
        lo, hi = np.quantile(values, [0.025, 0.975])
        half = _baseline_half_width(metric, recorded)
        delta = now - float(base)
        out.append(MetricDelta(metric, float(base), now, delta, delta - float(np.hypot(now - lo, half)),
                               delta + float(np.hypot(hi - now, half))))
        if metric == "semantic_preservation":
            q = float(np.quantile(values, 1.0 - alpha / 2))
            z = _normal_quantile(1.0 - alpha / 2)
            upper = delta + float(np.hypot(q - now, half / Z95 * z))
    return out, upper


def _normal_quantile(p: float) -> float:
    """Standard normal quantile of probability p."""
    from statistics import NormalDist

    return float(NormalDist().inv_cdf(p))


COSINE_ROUNDING = 1e-5  # per-probe cosine differences at or below this are float32 rounding, not drift


def sign_flip_p_value(d: np.ndarray, resamples: int, seed: int) -> float:
    """One-sided p-value of mean(d) > 0 under sign symmetry: (1 + #{mean(s·d) ≥ mean(d)}) / (1 + B)."""
    d = np.asarray(d, np.float64)
    observed = float(d.mean())
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, resamples, 1024):
        size = min(1024, resamples - start)
        signs = rng.choice((-1.0, 1.0), size=(size, d.size))
        hits += int(np.sum((signs * d).mean(axis=1) >= observed - 1e-15 * max(1.0, abs(observed))))
    return (1 + hits) / (1 + resamples)


def paired_probe_test(linear: LinearMap, recorded: Mapping[str, np.ndarray], current: Mapping[str, np.ndarray], *,
                      alpha: float, shift_tolerance: float, resamples: int, seed: int) -> PairedTest:
    """Compare the probe texts' recorded and current states through the map (see the module docstring)."""
    ref, now = row_metrics(linear, recorded["source"], recorded["target"]), row_metrics(
        linear, current["source"], current["target"])
    d = ref["cos"] - now["cos"]
    # An unchanged model's states differ from the recorded ones only by float32 rounding (other batch shapes): such
    # differences are ties, else the test would read pure rounding noise (p uniform on (0, 1), seeded by the date).
    d = np.where(np.abs(d) <= COSINE_ROUNDING, 0.0, d)
    p = sign_flip_p_value(d, resamples, seed)
    stats = {"source": (linear.mean_x, linear.scale_x), "target": (linear.mean_y, linear.scale_y)}
    shift = {}
    for side, (mean, scale) in stats.items():
        a, b = _standardized(recorded[side], mean, scale), _standardized(current[side], mean, scale)
        shift[side] = float(np.mean(np.linalg.norm(b - a, axis=1) / np.maximum(np.linalg.norm(a, axis=1), 1e-12)))
    return PairedTest(n=int(d.size), mean_drop=float(d.mean()), p_value=p, alpha=alpha, rejected=p < alpha / 2,
                      shift=shift, shift_tolerance=shift_tolerance,
                      shifted=max(shift.values()) > shift_tolerance, resamples=resamples)
