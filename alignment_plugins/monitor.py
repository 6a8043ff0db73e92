"""WMatrixMonitor: is a W-Matrix still valid for the models it maps? A stated test, a structured answer.

``WMatrixMonitor().check("s2g.wmatrix")`` (or ``WMatrixMonitor("s2g.wmatrix").check()``) loads both models where the
matrix recorded them (or at `source_model` / `target_model`), and returns a ``DriftStatus``: version, last
validation, today's held-out metrics of the recommended pair on fresh anchors, ``drift_detected``, a
``recommendation`` (keep / recalibrate / retrain) and why, with the evidence: weight fingerprints compared, metric
deltas with bootstrap intervals, and the paired probe test (statistic, p-value, false-alarm rate); the tests are in
``alignment_plugins.drift_stats``.

Decision: drift is detected when the paired probe test rejects (the map's quality on the recorded probe texts
dropped), a model's states moved beyond the shift tolerance, or the fresh-anchor test rejects (semantic
preservation significantly below the recorded value); the false-alarm rate of the two statistical tests together is
at most ``alpha``. The quality drop is the larger of the fresh-anchor drop in semantic preservation and the paired
mean drop. Recommendation: keep (no drift, or a drop within ``tolerance``), recalibrate (a drop up to
``retrain_drop``: the layer correspondence holds, the maps need refitting) or retrain (a larger drop, or a model
whose hidden size changed).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alignment_plugins.drift_stats import MetricDelta, PairedTest, fresh_anchors, metric_deltas, paired_probe_test
from alignment_plugins.drift_stats import row_metrics as _row_metrics
from alignment_plugins.wmatrix import WMatrix, pair_key

__all__ = ["KEEP", "RECALIBRATE", "RECOMMENDATIONS", "RETRAIN", "DriftStatus", "WMatrixMonitor"]

KEEP, RECALIBRATE, RETRAIN = "keep", "recalibrate", "retrain"
RECOMMENDATIONS = (KEEP, RECALIBRATE, RETRAIN)


@dataclass
class DriftStatus:
    """The answer of one check (see the module docstring); ``to_dict()`` is its JSON form."""

    source: str
    target: str
    version: int
    last_validated: str
    checked_at: str
    pair: tuple[int, int]
    metrics: dict[str, float]
    recorded_metrics: dict[str, Any]
    drift_detected: bool
    recommendation: str
    reason: str
    quality_drop: float | None
    false_alarm_rate: float
    fingerprints: list[dict[str, Any]] = field(default_factory=list)
    deltas: list[MetricDelta] = field(default_factory=list)
    paired_test: PairedTest | None = None
    fresh_test: dict[str, Any] = field(default_factory=dict)
    anchors: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Today's top-1 retrieval accuracy of the recommended pair on the fresh anchors (fraction)."""
        return float(self.metrics.get("accuracy", float("nan")))

    @property
    def fingerprint_changed(self) -> bool:
        """Whether either model's weight fingerprint differs from the recorded one."""
        return any(f.get("changed") for f in self.fingerprints)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (NaN and inf as null)."""
        from alignment_plugins.formats import json_safe

        body = asdict(self)
        body["pair"] = list(self.pair)
        body["pair_key"] = pair_key(self.pair)
        body["accuracy"] = self.accuracy
        body["fingerprint_changed"] = self.fingerprint_changed
        return json_safe(body)


class WMatrixMonitor:
    """Checks W-Matrices against today's models; every option has a stated default (see ``__init__``)."""

    def __init__(
        self,
        wmatrix: str | os.PathLike | WMatrix | None = None,
        *,
        source_model: str | None = None,
        target_model: str | None = None,
        anchors: Any = None,
        num_anchors: int | None = None,
        alpha: float = 0.01,
        tolerance: float = 0.02,
        retrain_drop: float = 0.10,
        shift_tolerance: float = 1e-3,
        resamples: int = 2000,
        seed: int | None = None,
        dtype: str | None = None,
        device: str = "cpu",
        auth_token: str | None = None,
        cache: bool = True,
        version: int | None = None,
        last_validated: str | None = None,
    ) -> None:
        """`anchors`: fresh anchors to use (default: `num_anchors` built-in ones the matrix never trained on, as many
        as its test split, seeded by `seed`, default today's date as YYYYMMDD); `alpha`: false-alarm rate of the
        tests together; `tolerance` / `retrain_drop`: drops in semantic preservation that need a recalibration /
        a retraining; `shift_tolerance`: relative representation shift that counts as changed weights; `dtype`:
        default the probe's (the matrix's training dtype); `version` / `last_validated`: override the file's (the
        marketplace keeps its own)."""
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if not 0.0 <= tolerance <= retrain_drop:
            raise ValueError(f"need 0 <= tolerance <= retrain_drop, got {tolerance} and {retrain_drop}")
        self.wmatrix = wmatrix
        self.overrides = {"source": source_model, "target": target_model}
        self.anchors, self.num_anchors = anchors, num_anchors
        self.alpha, self.tolerance, self.retrain_drop = alpha, tolerance, retrain_drop
        self.shift_tolerance, self.resamples = shift_tolerance, resamples
        self.seed = seed if seed is not None else int(date.today().strftime("%Y%m%d"))
        self.dtype, self.device, self.auth_token, self.cache = dtype, device, auth_token, cache
        self.version, self.last_validated = version, last_validated

    def check(self, wmatrix: str | os.PathLike | WMatrix | None = None) -> DriftStatus:
        """Check `wmatrix` (a .wmatrix path or a WMatrix; default the one given at construction)."""
        from alignment_plugins.provenance import HiddenSizeChanged, load_recorded_model

        wm = _as_wmatrix(wmatrix if wmatrix is not None else self.wmatrix)
        pair = wm.headline_pair
        recorded = dict(wm.pair_metrics.get(pair_key(pair), {}))
        dtype = self.dtype or str((wm.probe or {}).get("dtype") or wm.hyperparams.get("dtype") or "float32")
        base = self._status(wm, pair, recorded)
        models, checks = {}, []
        for role in ("source", "target"):
            try:
                models[role], check = load_recorded_model(
                    getattr(wm, role), self.overrides[role], role=role, dtype=dtype, device=self.device,
                    auth_token=self.auth_token, allow_changed_weights=True)
            except HiddenSizeChanged as exc:
                return DriftStatus(**base, metrics={}, drift_detected=True, recommendation=RETRAIN,
                                   reason=f"{exc}: the matrix cannot be applied; retrain it", quality_drop=None)
            checks.append(check.to_dict())
        linear = wm.maps[pair]
        fresh = self._fresh(wm)
        states = self._states(models, pair, fresh, pooling=str(wm.anchors.get("pooling", "mean")), cache=self.cache)
        from alignment_plugins.trainer import evaluate_map

        metrics = evaluate_map(linear, states["source"], states["target"])
        deltas, upper = metric_deltas(_row_metrics(linear, states["source"], states["target"]), recorded,
                                      alpha=self.alpha, resamples=self.resamples, seed=self.seed)
        fresh_rejected = upper is not None and upper < 0.0
        paired = self._paired(wm, models, pair, linear)
        sp = next((d for d in deltas if d.metric == "semantic_preservation"), None)
        drops = [-sp.delta] if sp is not None and sp.delta is not None else []
        if paired is not None:
            drops.append(paired.mean_drop)
        drop = max(drops) if drops else None
        detected = fresh_rejected or (paired is not None and (paired.rejected or paired.shifted))
        recommendation, reason = self._decide(detected, drop, paired, fresh_rejected, upper, checks)
        return DriftStatus(
            **base, metrics=metrics, drift_detected=detected, recommendation=recommendation, reason=reason,
            quality_drop=drop, fingerprints=checks, deltas=deltas, paired_test=paired,
            fresh_test={"test": "semantic preservation on fresh anchors below the recorded value (one-sided bootstrap "
                                "bound at level alpha/2)", "upper_bound": upper, "rejected": fresh_rejected},
            anchors={"count": len(fresh), "hash": fresh.content_hash, "seed": self.seed, "name": fresh.name},
        )

    # ------------------------------------------------------------------------------------------------ parts
    def _status(self, wm: WMatrix, pair: tuple[int, int], recorded: dict[str, Any]) -> dict[str, Any]:
        return {"source": wm.source.get("name", ""), "target": wm.target.get("name", ""),
                "version": self.version if self.version is not None else wm.version,
                "last_validated": self.last_validated or wm.created_at,
                "checked_at": datetime.now(UTC).isoformat(timespec="seconds"), "pair": pair,
                "recorded_metrics": recorded, "false_alarm_rate": self.alpha,
                "thresholds": {"alpha": self.alpha, "tolerance": self.tolerance, "retrain_drop": self.retrain_drop,
                               "shift_tolerance": self.shift_tolerance}}

    def _fresh(self, wm: WMatrix) -> Any:
        from alignment_plugins.anchors import load_anchors

        if self.anchors is not None:
            fresh = load_anchors(self.anchors)
        else:
            n = self.num_anchors or min(max(int((wm.anchors.get("counts") or {}).get("test", 200)), 20), 2000)
            fresh = fresh_anchors(wm.anchors, n, self.seed)
        if len(fresh) < 10:
            raise ValueError(f"need at least 10 fresh anchors to check a matrix, got {len(fresh)}")
        return fresh

    @staticmethod
    def _states(models: dict[str, Any], pair: tuple[int, int], anchors: Any, *, pooling: str, cache: bool,
                max_length: int = 256) -> dict[str, Any]:
        from alignment_plugins.extraction import extract

        return {role: extract(models[role], anchors, [layer], pooling=pooling, cache=cache,
                              max_length=max_length)[layer]
                for role, layer in (("source", pair[0]), ("target", pair[1]))}

    def _paired(self, wm: WMatrix, models: dict[str, Any], pair: tuple[int, int], linear: Any) -> PairedTest | None:
        probe = wm.probe or {}
        if tuple(probe.get("pair") or ()) != tuple(pair) or not wm.probe_states:
            return None  # an older file, or a recommended pair changed since the probe was recorded
        from alignment_plugins.anchors import Anchor, AnchorSet

        texts = AnchorSet([Anchor(text=t, domain="probe") for t in probe["texts"]], name="probe")
        current = self._states(models, pair, texts, pooling=str(probe.get("pooling", "mean")), cache=False,
                               max_length=int(probe.get("max_length", 256)))
        return paired_probe_test(linear, wm.probe_states, current, alpha=self.alpha,
                                 shift_tolerance=self.shift_tolerance, resamples=self.resamples, seed=self.seed)

    def _decide(self, detected: bool, drop: float | None, paired: PairedTest | None, fresh_rejected: bool,
                upper: float | None, checks: list[dict[str, Any]]) -> tuple[str, str]:
        evidence = []
        changed = [c["side"] for c in checks if c.get("changed")]
        evidence.append(f"weights changed: {', '.join(changed)}" if changed else "recorded weights unchanged"
                        if all(c.get("changed") is False for c in checks) else "a fingerprint is unknown")
        if paired is not None:
            evidence.append(f"probe: mean drop {paired.mean_drop:+.4f}, p = {paired.p_value:.4g} "
                            f"({'rejected' if paired.rejected else 'not rejected'} at {self.alpha / 2:g}), shift "
                            f"source {paired.shift['source']:.2e} / target {paired.shift['target']:.2e} "
                            f"(tolerance {paired.shift_tolerance:g})")
        else:
            evidence.append("no probe in this file (fresh-anchor test only)")
        if upper is not None:
            evidence.append(f"fresh anchors: semantic preservation delta upper bound {upper:+.4f} "
                            f"({'rejected' if fresh_rejected else 'not rejected'})")
        facts = "; ".join(evidence)
        if not detected:
            return KEEP, f"no drift detected ({facts})"
        if drop is None or drop <= self.tolerance:
            return KEEP, f"the models changed but the quality drop {drop or 0.0:.4f} is within tolerance " \
                         f"{self.tolerance:g} ({facts})"
        if drop <= self.retrain_drop:
            return RECALIBRATE, f"quality dropped by {drop:.4f} (> {self.tolerance:g}, <= {self.retrain_drop:g}): " \
                                f"recalibrate the maps on fresh anchors ({facts})"
        return RETRAIN, f"quality dropped by {drop:.4f} (> {self.retrain_drop:g}): retrain the matrix ({facts})"


def _as_wmatrix(value: str | os.PathLike | WMatrix | None) -> WMatrix:
    if value is None:
        raise ValueError("no W-Matrix to check: pass a .wmatrix path or a WMatrix")
    return value if isinstance(value, WMatrix) else WMatrix.load(Path(value))
