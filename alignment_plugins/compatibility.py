"""Pre-purchase compatibility estimates: how much of a vector's steering effect a buyer can expect on a target model
in a given configuration (Django-free; numpy at import, no torch).

``CompatibilityChecker(wmatrices, measurements=..., estimator=...).estimate(vector_listing=, target_model=,
target_config={"quantization", "context_length", "custom_fine_tune"})`` returns a ``CompatibilityResult``:

* **basis "measured_retention"** — the pair was measured for this capability at the vector's source layer in this
  configuration (a support-matrix row): the measured retention and its bootstrap interval (95%);
* **basis "learned_estimate"** — otherwise: the learned estimator (``alignment_plugins.estimator``) on the pair's
  held-out metrics at the vector's layers, the vector's dimensional loss, the structural mismatch and the
  configuration (and the measured retention around the pair), with its conformal interval by pair (90% unless the
  model says otherwise). The interval is the wide (per-pair) one, and ``reasons`` say why, for an unverified
  fine-tune, a configuration outside the measured range or a missing feature the model uses;
* **basis "identity"** — source and target are the same model.

``custom_fine_tune`` is checked first (``fine_tune_check``): a weight fingerprint, or a local checkpoint path whose
``weights_fingerprint`` is computed, equal to the base model's means the base weights (estimated as the base); any
other checkpoint is unverified: no base measurement is used for it and its interval is the wide one. A local
checkpoint that differs is also probed before estimating (``CompatibilityChecker(drift_probe=True)``, the default):
the W-Matrix's drift check (``alignment_plugins.monitor.WMatrixMonitor``) with the checkpoint as target says whether
the map still holds on it (keep / recalibrate / retrain, with the held-out semantic preservation on fresh anchors);
its answer is in ``fine_tune["drift"]`` and in the reasons. The probe loads both models (torch): the engine does it,
the marketplace never reads a path.

Risk level from the interval's lower end: low if ci_low ≥ 0.8, medium if ≥ 0.5, else high. Alignment quality is the
map's held-out semantic preservation at the vector's layer pair; dimensional loss and structural mismatch are
defined in ``alignment_plugins.transfer_features``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from alignment_plugins.estimator import RetentionEstimator, default_estimator
from alignment_plugins.target_config import FINGERPRINT, SHORT_CONTEXT, normalize_config, quantization_bits
from alignment_plugins.transfer_features import carried_basis, dimensional_loss, structural_mismatch

__all__ = ["CompatibilityChecker", "CompatibilityResult", "Measurement", "capability_key", "estimate_compatibility",
           "fine_tune_check", "identity_result", "measured_index", "measured_setting", "measurement_key",
           "probe_fine_tune", "risk_level"]

RISK_BANDS = (0.8, 0.5)


def capability_key(name: str | None) -> str:
    """A capability name compared loosely: lower case, runs of non-alphanumerics as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", (name or "").lower()).strip("_")


def risk_level(ci_low: float) -> str:
    """"low" if the interval's lower end is ≥ 0.8, "medium" if ≥ 0.5, else "high"."""
    return "low" if ci_low >= RISK_BANDS[0] else "medium" if ci_low >= RISK_BANDS[1] else "high"


# ------------------------------------------------------------------------------------------------ fine-tune
def fine_tune_check(value: Any, base_fingerprint: str | None, *, allow_paths: bool) -> dict[str, Any]:
    """How a normalized ``custom_fine_tune`` relates to the base weights: {"status", "checkpoint", "fingerprint",
    "reason"} with status "none", "identical" (same weight fingerprint as the base), "different" or "unverified".

    A fingerprint (sha256:<hex>) is compared as given; with `allow_paths`, an existing local path is fingerprinted
    with ``alignment_plugins.models.weights_fingerprint`` (never from a web request: the marketplace passes False).
    """
    if value is None:
        return {"status": "none", "checkpoint": None, "fingerprint": None, "reason": ""}
    if value is True:
        return {"status": "unverified", "checkpoint": None, "fingerprint": None,
                "reason": "an unnamed custom fine-tune cannot be compared with the base weights"}
    text = str(value)
    fingerprint = text if FINGERPRINT.match(text) else None
    if fingerprint is None and allow_paths and os.path.exists(os.path.expanduser(text)):
        from alignment_plugins.models import weights_fingerprint  # lazy: reads the plugin host, no torch

        fingerprint = weights_fingerprint(os.path.expanduser(text)) or None
        if fingerprint is None:
            return {"status": "unverified", "checkpoint": text, "fingerprint": None,
                    "reason": f"no weight files found to fingerprint at {text!r}"}
    if fingerprint is None:
        return {"status": "unverified", "checkpoint": text, "fingerprint": None,
                "reason": f"checkpoint {text!r} is neither a local checkpoint path nor a weight fingerprint, so it "
                          "cannot be compared with the base weights"}
    if base_fingerprint and fingerprint == base_fingerprint:
        return {"status": "identical", "checkpoint": text, "fingerprint": fingerprint,
                "reason": "the checkpoint has the base model's weight fingerprint"}
    why = "differs from" if base_fingerprint else "cannot be compared with (no base fingerprint recorded)"
    return {"status": "different", "checkpoint": text, "fingerprint": fingerprint,
            "reason": f"the checkpoint's weight fingerprint {fingerprint[:19]}… {why} the base model's weights; its "
                      "retention was never measured"}


def probe_fine_tune(wm: Any, checkpoint: str, *, seed: int = 0) -> dict[str, Any]:
    """The W-Matrix's drift check with `checkpoint` as its target: {"ran", "drift_detected", "recommendation",
    "semantic_preservation" (fresh anchors), "recorded_semantic_preservation", "reason", "summary"}; "ran" False (and
    why in "summary") when the models or the matrix's probe are unavailable."""
    from alignment_plugins.monitor import WMatrixMonitor

    try:
        status = WMatrixMonitor(target_model=checkpoint, seed=seed).check(wm)
    except Exception as exc:  # the estimate still answers, saying the probe could not run and why
        return {"ran": False, "summary": f"the drift probe of the W-Matrix on it could not run "
                                         f"({type(exc).__name__}: {exc})"}
    sp = status.metrics.get("semantic_preservation")
    recorded = status.recorded_metrics.get("semantic_preservation")
    numbers = (f"; held-out semantic preservation {sp:.2f} vs {recorded:.2f} recorded"
               if isinstance(sp, float) and isinstance(recorded, (int, float)) else "")
    summary = (f"a drift probe of the W-Matrix on it {'detected' if status.drift_detected else 'found no'} drift "
               f"(recommendation: {status.recommendation}{numbers})")
    return {"ran": True, "drift_detected": status.drift_detected, "recommendation": status.recommendation,
            "semantic_preservation": sp, "recorded_semantic_preservation": recorded, "reason": status.reason,
            "summary": summary}


# ------------------------------------------------------------------------------------------------ measurements
@dataclass(frozen=True)
class Measurement:
    """One measured retention of a capability (a support-matrix row) and where it was measured."""

    retention: float
    ci_low: float | None
    ci_high: float | None
    capability: str
    source_layer: int | None
    target_layer: int | None
    measured_at: str | None = None


def measured_setting(config: Mapping[str, Any]) -> dict[str, int | None]:
    """What a measurement's configuration is matched on: bits per weight (None for 16 or more, what the estimator's
    quantization feature sees) and context length (None for prompts up to SHORT_CONTEXT tokens)."""
    length = config.get("context_length")
    bits = quantization_bits(config.get("quantization"))
    return {"bits": None if bits >= 16 else bits,
            "context_length": None if not length or length <= SHORT_CONTEXT else int(length)}


def measurement_key(source: str, target: str, source_layer: int | None, capability: str,
                    config: Mapping[str, Any]) -> tuple[Any, ...]:
    """The look-up key of a measurement: pair, source layer, capability (loosely) and ``measured_setting``."""
    setting = measured_setting(config)
    return (source, target, source_layer, capability_key(capability), setting["bits"], setting["context_length"])


def measured_index(docs: Iterable[Mapping[str, Any]]) -> dict[tuple[Any, ...], Measurement]:
    """Every finite capability row of support-matrix documents by ``measurement_key`` (a later document wins)."""
    out: dict[tuple[Any, ...], Measurement] = {}
    for doc in docs:
        for pair in doc.get("pairs") or []:
            config = normalize_config(pair.get("target_config", doc.get("target_config")))
            for name, row in (pair.get("capabilities") or {}).items():
                value = row.get("retention")
                if value is None:
                    continue
                ci = row.get("ci") if isinstance(row.get("ci"), (list, tuple)) else (None, None)
                key = measurement_key(pair["source"], pair["target"], pair.get("source_layer"), name, config)
                out[key] = Measurement(float(value), ci[0], ci[1], str(name), pair.get("source_layer"),
                                       pair.get("target_layer"), doc.get("generated_at"))
    return out


# ------------------------------------------------------------------------------------------------ the result
@dataclass(frozen=True)
class CompatibilityResult:
    """A compatibility estimate; ``to_dict()`` is its JSON form."""

    source_model: str
    target_model: str
    source_layer: int | None
    target_layer: int | None
    capability: str
    retention: float
    ci_low: float
    ci_high: float
    level: float
    alignment_quality: float
    risk_level: str
    recommendation: str
    dimensional_loss: float | None
    structural_mismatch: float | None
    basis: str
    target_config: dict[str, Any]
    fine_tune: dict[str, Any]
    interval: str
    coverage_guaranteed: bool
    reasons: tuple[str, ...] = ()
    features: dict[str, Any] = field(default_factory=dict)
    measurement: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The estimate as a JSON-serializable dict."""
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out


def _pct(value: float) -> str:
    return f"{round(100 * value)}%"


def _recommendation(result: dict[str, Any], measurement: Measurement | None, n_cases: int | None,
                    guaranteed: bool, ranked: bool = True) -> str:
    r, lo, hi, level = result["retention"], result["ci_low"], result["ci_high"], result["level"]
    where = f"{result['target_model']} at layer {result['target_layer']}"
    quant = result["target_config"].get("quantization")
    setting = f" ({quant} weights)" if quant else ""
    if measurement is not None:
        text = (f"Measured: keeps about {_pct(r)} ({round(level * 100)}% CI {round(100 * lo)}–{_pct(hi)}) of the "
                f"{measurement.capability!r} steering effect on {where}{setting}")
        text += f", measured {measurement.measured_at[:10]}." if measurement.measured_at else "."
    else:
        basis = f"learned from {n_cases} measured cases" if n_cases else "learned from measured cases"
        text = (f"Estimated ({basis}): keeps about {_pct(r)} ({round(level * 100)}% interval "
                f"{round(100 * lo)}–{_pct(hi)}) of the vector's steering effect on {where}{setting}.")
        if result["reasons"]:
            text += (" The interval is widened to cover every capability of an unmeasured pair because "
                     + "; ".join(result["reasons"]) + ".")
        if not ranked:
            text += (f" Too few calibration cases for a {round(level * 100)}% guarantee: the interval is the largest "
                     "error seen on them.")
        elif not guaranteed:
            text += (" The interval's coverage was measured on pairs held out from the estimator (cross-conformal), "
                     "not guaranteed.")
    if result["fine_tune"]["status"] == "identical":
        text += " The custom fine-tune has the base model's weights, so the base estimate applies."
    loss = result["dimensional_loss"]
    if loss is not None and loss >= 0.005:
        text += f" {_pct(loss)} of the vector's standardized energy lies outside the subspace the map carries well."
    text += {
        "low": " Low risk.",
        "medium": " Medium risk: check the effect on your own prompts after delivery.",
        "high": " High risk: much of the vector may not transfer; evaluate it before relying on it.",
    }[result["risk_level"]]
    return text


def estimate_compatibility(
    estimator: RetentionEstimator,
    *,
    source_model: str,
    target_model: str,
    source_layer: int | None,
    target_layer: int | None,
    capability: str,
    pair_metrics: Mapping[str, Any],
    dimensional_loss: float | None,
    structural_mismatch: float | None,
    config: Mapping[str, Any],
    fine_tune: Mapping[str, Any],
    measurement: Measurement | None = None,
) -> CompatibilityResult:
    """The estimate from its parts (the core the checker and the marketplace share; see the module docstring).

    `measurement` is used only when the fine-tune status is "none" or "identical"; `config` must be normalized.
    """
    from alignment_plugins.target_config import config_features

    features = {name: pair_metrics.get(name) for name in estimator.features if name in pair_metrics}
    features.update(dimensional_loss=dimensional_loss, structural_mismatch=structural_mismatch,
                    **config_features(config))
    unverified = fine_tune.get("status") in ("different", "unverified")
    prediction = estimator.predict(features, source=source_model, target=target_model, capability=capability,
                                   wide_reasons=[fine_tune["reason"]] if unverified else [])
    if measurement is not None and not unverified:
        point = min(1.0, max(0.0, measurement.retention))
        if measurement.ci_low is not None and measurement.ci_high is not None:
            low, high = min(measurement.ci_low, measurement.retention), max(measurement.ci_high, measurement.retention)
            level, interval = 0.95, "measured"
        else:  # a measurement without its interval: the estimator's (case) interval width around it
            q = estimator.case_quantile
            low, high, level, interval = measurement.retention - q, measurement.retention + q, estimator.level, \
                "measured_with_estimator_width"
        result = {"retention": point, "ci_low": min(1.0, max(0.0, low)), "ci_high": min(1.0, max(0.0, high)),
                  "level": level, "basis": "measured_retention", "interval": interval, "guaranteed": True,
                  "reasons": ()}
    else:
        measurement = None
        result = {"retention": prediction.retention, "ci_low": prediction.ci_low, "ci_high": prediction.ci_high,
                  "level": prediction.level, "basis": "learned_estimate",
                  "interval": "conformal_wide" if prediction.wide else "conformal",
                  "guaranteed": prediction.guaranteed, "reasons": prediction.reasons}
    sp = pair_metrics.get("semantic_preservation")
    result.update(
        source_model=source_model, target_model=target_model, source_layer=source_layer, target_layer=target_layer,
        capability=capability, alignment_quality=float(sp) if sp is not None else float("nan"),
        risk_level=risk_level(result["ci_low"]), dimensional_loss=dimensional_loss,
        structural_mismatch=structural_mismatch, target_config=dict(config), fine_tune=dict(fine_tune),
    )
    text = _recommendation(result, measurement, estimator.training.get("cases"), result["guaranteed"],
                           prediction.ranked)
    return CompatibilityResult(
        source_model=source_model, target_model=target_model, source_layer=source_layer, target_layer=target_layer,
        capability=capability, retention=result["retention"], ci_low=result["ci_low"], ci_high=result["ci_high"],
        level=result["level"], alignment_quality=result["alignment_quality"], risk_level=result["risk_level"],
        recommendation=text, dimensional_loss=dimensional_loss, structural_mismatch=structural_mismatch,
        basis=result["basis"], target_config=dict(config), fine_tune=dict(fine_tune), interval=result["interval"],
        coverage_guaranteed=result["guaranteed"], reasons=tuple(result["reasons"]),
        features={**features, "prediction": prediction.raw, "imputed": list(prediction.imputed)},
        measurement=asdict(measurement) if measurement is not None else None,
    )


def identity_result(model: str, layer: int | None, capability: str, config: Mapping[str, Any]) -> CompatibilityResult:
    """The estimate for the vector's own model: retention 1 (delivered unchanged); with an unverified custom
    fine-tune the interval is the whole range [0, 1] (nothing was measured on it)."""
    fine = fine_tune_check(config.get("custom_fine_tune"), None, allow_paths=False)
    unverified = fine["status"] in ("different", "unverified")
    reasons = (fine["reason"],) if unverified else ()
    text = "Same model as the vector's source: the vector is delivered unchanged."
    if unverified:
        text += f" Nothing is known about the custom fine-tune ({fine['reason']}): evaluate it before relying on it."
    return CompatibilityResult(
        source_model=model, target_model=model, source_layer=layer, target_layer=layer, capability=capability,
        retention=1.0, ci_low=0.0 if unverified else 1.0, ci_high=1.0, level=1.0, alignment_quality=1.0,
        risk_level="high" if unverified else "low", recommendation=text, dimensional_loss=0.0, structural_mismatch=0.0,
        basis="identity", target_config=dict(config), fine_tune=fine, interval="identity",
        coverage_guaranteed=not unverified, reasons=reasons)


# ------------------------------------------------------------------------------------------------ the checker
def _listing_parts(listing: Any) -> tuple[str, int | None, str, np.ndarray | None]:
    """(source model, layer, capability, vector or None) of a VectorPackage, a .vpkg path or a listing-like object
    (attributes or keys source_model, layer, capability / capability_domain / name, vector or package)."""
    from alignment_plugins.vector_package import VectorPackage

    if isinstance(listing, (str, os.PathLike)):
        listing = VectorPackage.load(listing)
    if isinstance(listing, VectorPackage):
        layer = listing.layers[0] if len(listing.layers) == 1 else None
        vector = listing.vector(layer) if layer is not None else None
        return listing.metadata["source_model"], layer, str(listing.metadata.get("capability") or ""), vector

    def get(name: str) -> Any:
        return listing.get(name) if isinstance(listing, Mapping) else getattr(listing, name, None)

    source = get("source_model")
    source = getattr(source, "name", source)
    if not source:
        raise ValueError("vector_listing needs a source_model (a VectorPackage, a .vpkg path or a listing)")
    package = get("package")
    vector = get("vector")
    layer = get("layer")
    if isinstance(package, VectorPackage):
        layer = layer if layer is not None else (package.layers[0] if len(package.layers) == 1 else None)
        vector = package.vector(layer) if vector is None and layer is not None else vector
    capability = get("capability") or get("capability_domain") or get("name") or ""
    return str(source), (int(layer) if layer is not None else None), str(capability), (
        None if vector is None else np.asarray(vector, dtype=np.float64))


class CompatibilityChecker:
    """Estimates from local .wmatrix files, support-matrix documents and a retention estimator (JSON model)."""

    def __init__(
        self,
        wmatrices: Iterable[Any] = (),
        *,
        measurements: Iterable[Any] = (),
        estimator: RetentionEstimator | str | os.PathLike | None = None,
        architectures: Mapping[str, Any] | None = None,
        drift_probe: bool = True,
    ) -> None:
        """`drift_probe`: run the W-Matrix's drift check on a local fine-tuned checkpoint that differs from the base
        (loads both models; see the module docstring)."""
        from alignment_plugins.certificate import load_support_matrix
        from alignment_plugins.wmatrix import WMatrix

        self.matrices = [m if isinstance(m, WMatrix) else WMatrix.load(m) for m in wmatrices]
        docs = [m if isinstance(m, Mapping) else load_support_matrix(m) for m in measurements]
        self.measured = measured_index(docs)
        if estimator is None:
            estimator = default_estimator()
        self.estimator = estimator if isinstance(estimator, RetentionEstimator) else RetentionEstimator.load(
            estimator)
        self.architectures = dict(architectures or {})
        self.drift_probe = drift_probe

    def matrix(self, source: str, target: str) -> Any:
        """The newest loaded matrix from `source` to `target`; LookupError when there is none."""
        found = [m for m in self.matrices if m.source.get("name") == source and m.target.get("name") == target]
        if not found:
            raise LookupError(f"no W-Matrix from {source} to {target} was given; train one, or look for a multi-hop "
                              "path with MultiHopAligner")
        return max(found, key=lambda m: m.created_at)

    def architecture(self, name: str) -> Any:
        """Architecture metadata of `name`: given to the checker, else read by the engine (None if unreadable)."""
        if name not in self.architectures:
            try:
                from alignment_plugins.models import model_info

                self.architectures[name] = model_info(name)
            except Exception:  # unknown or unreadable model: structural mismatch falls back to the header
                self.architectures[name] = None
        return self.architectures[name]

    def estimate(self, vector_listing: Any, target_model: str, target_config: Mapping[str, Any] | None = None,
                 *, layer: int | None = None) -> CompatibilityResult:
        """The compatibility estimate of a vector on `target_model` in `target_config` (see the module)."""
        source, vector_layer, capability, vector = _listing_parts(vector_listing)
        layer = vector_layer if layer is None else layer
        target_info = self.architecture(target_model) if source != target_model else None
        max_positions = (target_info.get("max_positions") if isinstance(target_info, Mapping)
                         else getattr(target_info, "max_positions", None))
        config = normalize_config(target_config, max_positions=max_positions)
        if source == target_model:
            return identity_result(source, layer, capability, config)
        wm = self.matrix(source, target_model)
        pair, linear = wm.map_for(layer)
        loss = (dimensional_loss(vector, linear.scale_x, carried_basis(linear.weight))
                if vector is not None else None)
        source_info = self.architecture(source) or wm.source
        mismatch = structural_mismatch(source_info, target_info or wm.target)
        fine = fine_tune_check(config["custom_fine_tune"], wm.target.get("fingerprint"), allow_paths=True)
        if self.drift_probe and fine["status"] == "different" and os.path.exists(
                os.path.expanduser(str(fine["checkpoint"]))):
            drift = probe_fine_tune(wm, os.path.expanduser(str(fine["checkpoint"])))
            fine = {**fine, "drift": drift, "reason": f"{fine['reason']}; {drift['summary']}"}
        key = measurement_key(source, target_model, pair[0], capability, config)
        return estimate_compatibility(
            self.estimator, source_model=source, target_model=target_model, source_layer=pair[0],
            target_layer=pair[1], capability=capability, pair_metrics=wm.pair_metrics.get(f"{pair[0]}->{pair[1]}", {}),
            dimensional_loss=loss, structural_mismatch=mismatch, config=config, fine_tune=fine,
            measurement=self.measured.get(key))


