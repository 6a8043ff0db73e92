"""Alignment services: architectures, W-matrix versions, certificates, estimates, translation, drift, training.

Web-process and CPU-worker functions use numpy and safetensors only (``alignment_plugins.wmatrix``); the GPU
paths (``run_drift_check``, ``run_alignment_job``) import the engine's model code inside their bodies, so that
importing this module never imports torch or transformers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from alignment_plugins import certificate as engine_certificate
from alignment_plugins.certificate import canonical_json  # what certificates sign (the engine's, byte for byte)
from marketplace import events
from marketplace.alignment import retention as measured
from marketplace.alignment.models import (
    AlignmentJob,
    CompatibilityEstimate,
    DriftCheck,
    MeasuredRetention,
    QualityCertificate,
    WMatrix,
)
from marketplace.catalog.models import Architecture, Purchase, VectorListing
from marketplace.catalog.services import read_vector_file, vector_file_bytes, vector_sha256
from marketplace.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)

CERTIFICATE_FORMAT = engine_certificate.FORMAT
#: Each of these widens the estimate's interval by this factor (and raises the risk level one step).
QUANTIZATION_WIDENING = 1.5
FINE_TUNE_WIDENING = 1.5
#: Test-set size assumed when a matrix file does not record it (a deliberately wide interval).
FALLBACK_TEST_ANCHORS = 30
#: Alignment jobs: the 80/10/10 split needs at least 10 validation and 10 test anchors; the corpus has ~10.5k.
MIN_ALIGNMENT_ANCHORS, MAX_ALIGNMENT_ANCHORS = 100, 10_000
STRUCTURAL_FIELDS = ("family", "normalization", "positional_encoding", "activation")
_UNQUANTIZED = {"", "none", "fp32", "float32"}


# ----------------------------------------------------------------------------------------------------- helpers
def _finite(value: Any) -> Any:
    """A JSON-safe copy: non-finite floats become None (PostgreSQL jsonb rejects NaN)."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def local_path(field_file: Any) -> Iterator[Path]:
    """A local filesystem path for a stored file (the file itself, or a temporary copy for remote storage)."""
    try:
        path = Path(field_file.path)
    except NotImplementedError:
        path = None
    if path is not None and path.is_file():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="marketplace-") as tmp:
        copy = Path(tmp) / Path(field_file.name).name
        with field_file.open("rb") as src, open(copy, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
        yield copy


_HEADER_CACHE: dict[str, dict[str, Any]] = {}


def matrix_header(matrix: WMatrix) -> dict[str, Any]:
    """The JSON metadata of a stored matrix's .wmatrix file, read without loading its tensors (cached per sha256).

    The tensors and the integrity digest were validated by ``WMatrix.load`` when the file was stored.
    """
    cached = _HEADER_CACHE.get(matrix.file_sha256)
    if cached is not None:
        return cached
    from safetensors import safe_open

    with local_path(matrix.file) as path, safe_open(str(path), framework="numpy") as handle:
        header = handle.metadata() or {}
    meta = json.loads(header.get("metadata", "{}"))
    if len(_HEADER_CACHE) > 256:
        _HEADER_CACHE.clear()
    _HEADER_CACHE[matrix.file_sha256] = meta
    return meta


def load_engine_matrix(matrix: WMatrix) -> Any:
    """Load and validate the engine's WMatrix (numpy) from a stored matrix's file."""
    from alignment_plugins.wmatrix import WMatrix as EngineWMatrix

    with local_path(matrix.file) as path:
        return EngineWMatrix.load(path)


def _architecture(name: str) -> Architecture:
    try:
        return Architecture.objects.get(name=name)
    except Architecture.DoesNotExist:
        raise NotFound(f"architecture {name!r} is not registered; run `manage.py register_models`") from None


# ----------------------------------------------------------------------------------------------- architectures
def _info_fields(info: Any) -> dict[str, Any]:
    return {
        "family": info.family or "",
        "kind": info.kind or "",
        "hidden_size": int(info.hidden_size or 0),
        "num_layers": int(info.num_layers or 0),
        "num_heads": info.num_heads,
        "num_kv_heads": info.num_kv_heads,
        "activation": info.activation or "",
        "positional_encoding": info.positional_encoding or "",
        "vocab_size": info.vocab_size,
        "normalization": info.normalization or "",
        "adapter": info.adapter or "",
    }


def register_architectures(names: Iterable[str] | None = None) -> list[Architecture]:
    """Create or update an Architecture row for every model the engine knows (or only `names`).

    Metadata comes from ``alignment_plugins.models.model_info`` (the model's own config; catalogue metadata for
    proprietary rows). Support level: FULL when the model's weights are located (its package is installed) and
    its config reads; PARTIAL for a runnable model whose package is missing or whose config cannot be read
    (the row keeps earlier dimensions); METADATA for proprietary rows. Nothing is converted: a GGUF model's config
    comes from its file header, its weight fingerprint is the sha256 of the GGUF file (the digest its conversion
    records; cached per file size and mtime), a model directory's the digest of its safetensors.
    """
    from alignment_plugins.models import known_models, model_info, weights_fingerprint

    specs = known_models()
    if names is not None:
        unknown = sorted(set(names) - set(specs))
        if unknown:
            raise ValidationFailed(f"unknown model(s) {unknown}; known: {', '.join(sorted(specs))}")
        specs = {name: specs[name] for name in names}
    rows: list[Architecture] = []
    for name, spec in sorted(specs.items()):
        defaults: dict[str, Any] = {"family": spec.family, "kind": spec.kind, "description": spec.description}
        metadata: dict[str, Any] = {"package": spec.package}
        if not spec.runnable:
            info = model_info(name)
            defaults.update(_info_fields(info), support_level=Architecture.Support.METADATA, weight_fingerprint="")
            metadata["info"] = info.to_dict()
        else:
            try:
                if spec.locate is None:
                    raise LookupError("the catalogue entry has no way to locate weights")
                spec.locate()
                info = model_info(name)
                fingerprint = weights_fingerprint(name)
            except Exception as exc:  # a missing package, missing files or an unreadable config: partial support
                log.warning("%s is not available here (%s); registered as partial", name, exc)
                defaults["support_level"] = Architecture.Support.PARTIAL
                metadata["unavailable"] = str(exc)[:500]
            else:
                defaults.update(_info_fields(info), support_level=Architecture.Support.FULL,
                                weight_fingerprint=fingerprint[:80])
                metadata["info"] = info.to_dict()
        defaults["metadata"] = _finite(metadata)
        row, _ = Architecture.objects.update_or_create(name=name, defaults=defaults)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------------- matrices
def active_matrix(source: Architecture, target: Architecture) -> WMatrix | None:
    """The active (latest, not drifted or superseded) matrix from `source` to `target`, or None."""
    return (
        WMatrix.objects.filter(source=source, target=target, status=WMatrix.Status.ACTIVE)
        .order_by("-version")
        .first()
    )


def store_matrix(path: str | Path) -> WMatrix:
    """Store a .wmatrix file as the new active version of its (source, target) pair; return the row.

    The file is loaded with the engine (validating shapes, dtypes, finiteness, version and integrity), both
    models must be registered with matching hidden sizes, the file is copied into media storage, the version is
    the pair's last + 1, earlier active/drifted versions become SUPERSEDED, ``validated_at`` is now and a signed
    certificate is issued. After commit, estimates computed from older versions are recomputed
    (``events.matrix_version_created``). Storing a file whose sha256 is already stored for the pair returns that
    row unchanged (rerunnable).
    """
    from alignment_plugins.wmatrix import WMatrix as EngineWMatrix
    from alignment_plugins.wmatrix import WMatrixFormatError

    path = Path(path)
    try:
        engine = EngineWMatrix.load(path)
    except (WMatrixFormatError, FileNotFoundError, KeyError, ValueError) as exc:
        raise ValidationFailed(f"cannot store {path}: {exc}") from None
    digest = _file_sha256(path)
    source, target = _architecture(engine.source["name"]), _architecture(engine.target["name"])
    for side, row in (("source", source), ("target", target)):
        size = int(getattr(engine, side)["hidden_size"])
        if row.hidden_size and row.hidden_size != size:
            raise ValidationFailed(
                f"{path}: the matrix's {side} hidden size is {size} but {row.name} has hidden size {row.hidden_size}"
            )
    with transaction.atomic():
        Architecture.objects.select_for_update().filter(pk=source.pk).first()  # serialize versions of the pair
        existing = list(WMatrix.objects.filter(source=source, target=target).order_by("version"))
        for matrix in existing:
            if matrix.file_sha256 == digest:
                return matrix
        version = existing[-1].version + 1 if existing else 1
        WMatrix.objects.filter(
            source=source, target=target, status__in=[WMatrix.Status.ACTIVE, WMatrix.Status.DRIFTED]
        ).update(status=WMatrix.Status.SUPERSEDED)
        matrix = WMatrix(
            source=source, target=target, version=version, method=engine.method,
            layer_map=[[int(i), int(j)] for i, j in engine.layer_map],
            best_source_layer=int(engine.best_pair[0]), best_target_layer=int(engine.best_pair[1]),
            file_sha256=digest, metrics=_finite(engine.pair_metrics),
            anchor_set_hash=str(engine.anchors.get("hash", ""))[:80],
            source_fingerprint=str(engine.source.get("fingerprint") or "")[:80],
            target_fingerprint=str(engine.target.get("fingerprint") or "")[:80],
            status=WMatrix.Status.ACTIVE, validated_at=timezone.now(),
        )
        with open(path, "rb") as handle:
            matrix.file.save(f"{source.name}-to-{target.name}-v{version}.wmatrix", File(handle), save=False)
        matrix.save()
        issue_certificate(matrix)
        events.matrix_version_created(matrix.id)
    log.info("stored %s -> %s v%d (%s)", source.name, target.name, version, matrix.public_id)
    return matrix


# ------------------------------------------------------------------------------------------------ certificates
def tier_for(reconstruction_error: float) -> int:
    """Quality tier 1 (best) .. 4 from ``settings.QUALITY_TIER_BANDS`` (upper bounds of tiers 1-3; NaN → 4)."""
    return engine_certificate.tier_for(reconstruction_error, settings.QUALITY_TIER_BANDS)


def _signing_key() -> bytes:
    key = settings.CERTIFICATE_SIGNING_KEY
    return key.encode() if isinstance(key, str) else bytes(key)


def key_id() -> str:
    """Identifies the signing key without revealing it: "hmac-sha256:" + first 12 hex of sha256(key)."""
    return engine_certificate.key_id(_signing_key())


def sign_payload(payload: dict[str, Any]) -> str:
    """HMAC-SHA256 (hex) of the payload's canonical JSON under ``settings.CERTIFICATE_SIGNING_KEY``."""
    return engine_certificate.signature_hex(payload, _signing_key())


def issue_certificate(matrix: WMatrix) -> QualityCertificate:
    """Issue a signed quality certificate for `matrix` from its best layer pair's held-out metrics.

    The payload is ``alignment_plugins.certificate.build_payload``'s: certificate and matrix public ids,
    source/target names and weight fingerprints, version, method, best pair, tier (and the bands it was read
    from), best-pair metrics and each metric's 95% interval, anchor-set hash, library version, issue time; plus
    ``retention`` (the pair's latest measured-retention run, every capability with its interval) when the pair
    was measured, and ``stitching`` when ``matrix.extra_metrics["stitching"]`` is recorded. Signature:
    HMAC-SHA256 of the payload's canonical JSON under ``settings.CERTIFICATE_SIGNING_KEY``, hex.
    """
    import alignment_plugins

    try:
        header = matrix_header(matrix)
    except Exception:  # the header is informational here; the file was validated when stored
        header = {}
    library_version = header.get("library_version") or alignment_plugins.__version__
    n_test = (header.get("anchors") or {}).get("counts", {}).get("test")
    best = _finite(matrix.best_metrics)
    issued_at = timezone.now().replace(microsecond=0)
    stitching = (matrix.extra_metrics or {}).get("stitching")
    cert = QualityCertificate(matrix=matrix, metrics=best, anchor_set_hash=matrix.anchor_set_hash)
    payload = engine_certificate.build_payload(
        certificate_id=cert.public_id,
        matrix={"id": matrix.public_id, "version": matrix.version, "method": matrix.method,
                "file_sha256": matrix.file_sha256},
        source={"name": matrix.source.name, "fingerprint": matrix.source_fingerprint},
        target={"name": matrix.target.name, "fingerprint": matrix.target_fingerprint},
        best_pair=[matrix.best_source_layer, matrix.best_target_layer],
        metrics=best,
        n_test=n_test if isinstance(n_test, int) and n_test > 0 else None,
        tier_bands=settings.QUALITY_TIER_BANDS,
        anchor_set_hash=matrix.anchor_set_hash,
        library_version=str(library_version),
        issued_at=issued_at,
        retention=measured.retention_section(matrix.source, matrix.target),
        stitching=stitching if isinstance(stitching, dict) and stitching else None,
    )
    signed = engine_certificate.sign(payload, _signing_key())
    cert.tier = payload["tier"]
    cert.payload = payload
    cert.signature = signed["signature"]
    cert.key_id = signed["key_id"]
    cert.save()
    QualityCertificate.objects.filter(pk=cert.pk).update(issued_at=issued_at)
    cert.issued_at = issued_at
    return cert


def record_extra_metrics(matrix: WMatrix, name: str, metrics: dict[str, Any], *, reissue: bool = True,
                         ) -> QualityCertificate | None:
    """Record metrics measured outside the .wmatrix file under ``matrix.extra_metrics[name]`` (e.g. "stitching")
    and, by default, issue a new certificate that includes them (returned)."""
    if not isinstance(metrics, dict):
        raise ValidationFailed(f"{name} metrics must be a JSON object")
    extra = dict(matrix.extra_metrics or {})
    extra[str(name)] = _finite(metrics)
    WMatrix.objects.filter(pk=matrix.pk).update(extra_metrics=extra)
    matrix.extra_metrics = extra
    return issue_certificate(matrix) if reissue else None


def certificate_document(cert: QualityCertificate) -> dict[str, Any]:
    """The signed document of a certificate: {"payload", "algorithm", "key_id", "signature"} (what
    ``python -m alignment_plugins verify-certificate`` checks)."""
    return {"payload": cert.payload, "algorithm": engine_certificate.ALGORITHM, "key_id": cert.key_id,
            "signature": cert.signature}


def verify_certificate(cert: QualityCertificate) -> bool:
    """Whether the signature matches the payload (constant-time) and the row's columns match the payload."""
    if not engine_certificate.verify(certificate_document(cert), _signing_key()):
        return False
    payload = cert.payload
    return (
        payload.get("tier") == cert.tier
        and payload.get("certificate_id") == cert.public_id
        and payload.get("matrix", {}).get("id") == cert.matrix.public_id
    )


def matrix_cka(matrix: WMatrix) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The CKA layer-similarity matrix stored in a matrix's .wmatrix file (numpy, no torch) and its layer lists;
    (None, {}) when the file has none or cannot be read."""
    from safetensors import safe_open

    if not matrix.file:
        return None, {}
    try:
        with local_path(matrix.file) as path, safe_open(str(path), framework="numpy") as handle:
            cka = handle.get_tensor("cka") if "cka" in handle.keys() else None  # noqa: SIM118 (not a dict)
        layers = matrix_header(matrix).get("cka_layers") or {}
    except Exception as exc:  # a missing or unreadable file must not hide the certificate page
        log.warning("no CKA matrix for %s: %s", matrix, exc)
        return None, {}
    return cka, layers


def certificate_html(cert: QualityCertificate) -> str:
    """The certificate as a self-contained HTML page (engine ``render_html``): tier, metrics with intervals,
    measured retention, fingerprints, signature and its verification, the CKA heatmap and any dose-response
    curves of the pair's latest measured run. Uses numpy/safetensors/matplotlib only (no torch)."""
    matrix = cert.matrix
    cka, layers = matrix_cka(matrix)
    return engine_certificate.render_html(
        certificate_document(cert), cka=cka, cka_layers=layers,
        dose_response=measured.dose_response(matrix.source, matrix.target) or None,
        verified=verify_certificate(cert),
    )


def latest_certificate(matrix: WMatrix) -> QualityCertificate | None:
    """The most recently issued certificate of a matrix."""
    return matrix.certificates.order_by("-issued_at", "-id").first()


def matrix_tier(matrix: WMatrix) -> int:
    """The matrix's certified tier (latest certificate), else the tier of its best pair's reconstruction error."""
    cert = latest_certificate(matrix)
    if cert is not None:
        return cert.tier
    return _best_tier(matrix.best_metrics)


def _best_tier(metrics: dict[str, Any]) -> int:
    error = metrics.get("reconstruction_error")
    return tier_for(math.nan if error is None else error)


# --------------------------------------------------------------------------------------------------- estimates
def normalize_config(quantization: str | None = None, custom_fine_tune: bool = False) -> dict[str, Any]:
    """The canonical target configuration: quantization (lower-case name or None) and custom_fine_tune."""
    quant = (quantization or "").strip().lower()
    if quant in _UNQUANTIZED:
        quant = ""
    elif len(quant) > 20 or not all(c.isalnum() or c in "_.-" for c in quant):
        raise ValidationFailed(f"quantization must be a short name such as int8, int4 or q4_k_m, got {quantization!r}")
    return {"quantization": quant or None, "custom_fine_tune": bool(custom_fine_tune)}


def config_key(config: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of a normalized target configuration."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def structural_mismatch(source: Architecture, target: Architecture) -> float:
    """Fraction of (family, normalization, positional_encoding, activation) that differ (case-insensitive)."""
    differ = sum(
        (getattr(source, f) or "").strip().lower() != (getattr(target, f) or "").strip().lower()
        for f in STRUCTURAL_FIELDS
    )
    return differ / len(STRUCTURAL_FIELDS)


def _recommendation(
    *, retention: float, low: float, high: float, target_layer: int, tier: int, risk: str,
    config: dict[str, Any], dimensional_loss: float, target_name: str,
    measurement: MeasuredRetention | None = None,
) -> str:
    if measurement is None:
        text = (
            f"Expected to keep about {round(retention * 100)}% (95% CI {round(low * 100)}–{round(high * 100)}%) "
            f"of the vector's representational content at {target_name} layer {target_layer}; quality tier {tier}."
        )
    else:
        what = ("the median over measured capabilities" if measurement.capability == MeasuredRetention.PAIR_MEDIAN
                else f"measured for the {measurement.capability!r} capability")
        text = (
            f"Expected to keep about {round(retention * 100)}% (95% CI {round(low * 100)}–{round(high * 100)}%) "
            f"of the vector's steering effect on {target_name} ({what}, source layer {measurement.source_layer} → "
            f"target layer {measurement.target_layer}, {measurement.measured_at:%Y-%m-%d}); delivered at "
            f"{target_name} layer {target_layer}; quality tier {tier}."
        )
    notes = []
    if config["quantization"]:
        notes.append(f"a {config['quantization']}-quantized target")
    if config["custom_fine_tune"]:
        notes.append("a custom fine-tune")
    if notes:
        text += (f" The interval is widened for {' and '.join(notes)}, which the matrix was not measured on.")
    if dimensional_loss > 0:
        text += f" The target has {round(dimensional_loss * 100)}% fewer dimensions than the source."
    text += {
        "low": " Low risk.",
        "medium": " Medium risk: check the effect on your own prompts after delivery.",
        "high": " High risk: much of the vector may not transfer; evaluate it before relying on it.",
    }[risk]
    return text


def estimate_for(
    listing: VectorListing,
    target: Architecture,
    *,
    quantization: str | None = None,
    custom_fine_tune: bool = False,
    compute: bool = True,
) -> CompatibilityEstimate:
    """The compatibility estimate of `listing` on `target` (stored; recomputed when the active matrix or the
    measured retention it uses changed).

    Measured retention (``basis="measured_retention"``), when the pair has an imported measurement (see
    ``marketplace.alignment.retention``): the latest run's retention of the listing's capability when its
    ``capability_domain`` (else its name) matches a measured capability name, else the run's median over
    capabilities; retention = that value clipped to [0, 1], 95% interval = the measured interval (when the
    measurement has none, the alignment-quality interval's half-widths around the measured value); widening,
    risk, dimensional loss and structural mismatch as below; ``alignment_quality`` is still p below.

    Otherwise a proxy (``basis="alignment_quality"``):

    * alignment_quality p = held-out semantic preservation (mean cosine of mapped vs true target states, in
      standardized space) of the matrix's layer pair whose source layer is ``listing.layer`` (metrics key
      ``"{i}->{j}"``);
    * 95% interval: the pair's ``semantic_preservation_ci_low``/``_high`` (or ``semantic_preservation_ci``
      [low, high]) when the file records them, else p ± 2·sqrt(p(1−p)/n_test) with n_test the test-split size
      (30 when unrecorded); each side's half-width is multiplied by 1.5 for a quantized target and by 1.5 for a
      custom fine-tune (neither moves the point estimate), then clipped to [0, 1];
    * retention = p clipped to [0, 1];
    * dimensional_loss = max(0, 1 − d_target/d_source);
    * structural_mismatch = fraction of (family, normalization, positional_encoding, activation) that differ;
    * risk: low if ci_low ≥ 0.8, medium if ≥ 0.5, else high; then one step higher (up to high) when the target
      is quantized or custom fine-tuned.

    Same source and target model: an unsaved identity estimate (retention 1, basis "identity", no matrix).
    No active matrix, or no map for the listing's layer: NotFound. ``compute=False`` returns only a stored
    estimate from the current matrix and raises NotFound otherwise (for callers that must not load files).
    """
    config = normalize_config(quantization, custom_fine_tune)
    key = config_key(config)
    if target.pk == listing.source_model_id:
        return CompatibilityEstimate(
            listing=listing, target=target, config_key=key, target_config=config, retention=1.0, ci_low=1.0,
            ci_high=1.0, alignment_quality=1.0, risk_level=CompatibilityEstimate.Risk.LOW, dimensional_loss=0.0,
            structural_mismatch=0.0, basis="identity",
            recommendation="Same model as the listing's source: the vector is delivered unchanged.",
        )
    source = listing.source_model
    matrix = active_matrix(source, target)
    if matrix is None:
        raise NotFound(f"no active W-Matrix from {source.name} to {target.name}; request an alignment job")
    measurement = measured.measurement_for(listing, target)
    stored = CompatibilityEstimate.objects.filter(listing=listing, target=target, config_key=key).first()
    if (stored is not None and stored.matrix_id == matrix.id
            and stored.measurement_id == (measurement.pk if measurement else None)
            and (measurement is not None or stored.basis != "measured_retention")):
        return stored
    if not compute:
        raise NotFound(f"no estimate of {listing.public_id} on {target.name} from the current matrix and "
                       "measurement yet")

    pair = next(((int(i), int(j)) for i, j in matrix.layer_map if int(i) == listing.layer), None)
    metrics = matrix.metrics.get(f"{pair[0]}->{pair[1]}") if pair else None
    if pair is None or not metrics or metrics.get("semantic_preservation") is None:
        raise NotFound(
            f"W-Matrix {matrix.public_id} ({source.name}→{target.name} v{matrix.version}) has no measured map for "
            f"source layer {listing.layer}"
        )
    p = float(metrics["semantic_preservation"])
    low, high = _interval(metrics, p, matrix)
    widen = (QUANTIZATION_WIDENING if config["quantization"] else 1.0) * (
        FINE_TUNE_WIDENING if config["custom_fine_tune"] else 1.0)
    if measurement is not None:
        point = float(measurement.retention)
        if measurement.ci_low is not None and measurement.ci_high is not None:
            low, high = min(float(measurement.ci_low), point), max(float(measurement.ci_high), point)
        else:
            low, high = point - (p - low), point + (high - p)
        basis = "measured_retention"
    else:
        point, basis = p, "alignment_quality"
    retention = _clip01(point)
    ci_low = _clip01(retention - (point - low) * widen)
    ci_high = _clip01(retention + (high - point) * widen)
    risk_index = 0 if ci_low >= 0.8 else 1 if ci_low >= 0.5 else 2
    if config["quantization"] or config["custom_fine_tune"]:
        risk_index = min(2, risk_index + 1)
    risk = ("low", "medium", "high")[risk_index]
    d_source, d_target = source.hidden_size, target.hidden_size
    dimensional_loss = max(0.0, 1.0 - d_target / d_source) if d_source else 0.0
    recommendation = _recommendation(
        retention=retention, low=ci_low, high=ci_high, target_layer=pair[1], tier=matrix_tier(matrix), risk=risk,
        config=config, dimensional_loss=dimensional_loss, target_name=target.name, measurement=measurement,
    )
    estimate, _ = CompatibilityEstimate.objects.update_or_create(
        listing=listing, target=target, config_key=key,
        defaults={
            "target_config": config, "retention": retention, "ci_low": ci_low, "ci_high": ci_high,
            "alignment_quality": p, "risk_level": risk, "dimensional_loss": dimensional_loss,
            "structural_mismatch": structural_mismatch(source, target), "recommendation": recommendation,
            "basis": basis, "matrix": matrix, "measurement": measurement,
        },
    )
    return estimate


def _interval(metrics: dict[str, Any], p: float, matrix: WMatrix) -> tuple[float, float]:
    """95% interval of a pair's semantic preservation: recorded bounds, else the binomial-style ±2σ proxy."""
    low, high = metrics.get("semantic_preservation_ci_low"), metrics.get("semantic_preservation_ci_high")
    if low is None or high is None:
        ci = metrics.get("semantic_preservation_ci")
        if isinstance(ci, (list, tuple)) and len(ci) == 2:
            low, high = ci
    if low is not None and high is not None:
        return min(float(low), p), max(float(high), p)
    try:
        n_test = int(matrix_header(matrix).get("anchors", {}).get("counts", {}).get("test") or 0)
    except Exception:  # unreadable header: fall back to the conservative size
        n_test = 0
    n_test = n_test or FALLBACK_TEST_ANCHORS
    q = _clip01(p)
    half = 2.0 * math.sqrt(q * (1.0 - q) / n_test)
    return p - half, p + half


def precompute_estimates(listing: VectorListing) -> list[CompatibilityEstimate]:
    """Default-config estimates of `listing` on every target with an active matrix from its source model."""
    out = []
    matrices = WMatrix.objects.filter(source_id=listing.source_model_id, status=WMatrix.Status.ACTIVE)
    for matrix in matrices.select_related("target"):
        try:
            out.append(estimate_for(listing, matrix.target))
        except NotFound as exc:
            log.info("no estimate for %s on %s: %s", listing.public_id, matrix.target.name, exc)
    return out


def recompute_estimates(matrix: WMatrix) -> list[CompatibilityEstimate]:
    """Bring every estimate of the matrix's pair up to date with it (each stored config, plus the default)."""
    if matrix.status != WMatrix.Status.ACTIVE:
        log.info("%s is %s: its estimates are recomputed by the newer version's event", matrix, matrix.status)
        return []
    out = []
    listings = VectorListing.objects.filter(source_model_id=matrix.source_id, status=VectorListing.Status.ACTIVE)
    for listing in listings.select_related("source_model"):
        configs = {config_key(normalize_config()): normalize_config()}
        for stored in CompatibilityEstimate.objects.filter(listing=listing, target_id=matrix.target_id):
            config = normalize_config(stored.target_config.get("quantization"),
                                      stored.target_config.get("custom_fine_tune", False))
            configs[config_key(config)] = config
        for config in configs.values():
            try:
                out.append(estimate_for(listing, matrix.target, **config))
            except NotFound as exc:
                log.info("no estimate for %s on %s: %s", listing.public_id, matrix.target.name, exc)
    return out


def support_matrix() -> list[dict[str, Any]]:
    """One row per active matrix: pair, version, tier, best pair, held-out metrics and typical retention.

    typical_retention is, in order: the pair's measured median retention from its latest imported run (basis
    "measured_retention", interval in typical_retention_ci_low/high, every capability under
    ``measured_retention``); else the median retention of the pair's stored default-config listing estimates
    from this matrix (basis "median of N listing estimates"); else the best pair's alignment quality (basis
    "alignment_quality (best pair)"). The interval is null unless measured.
    """
    default_key = config_key(normalize_config())
    rows = []
    for matrix in WMatrix.objects.filter(status=WMatrix.Status.ACTIVE).select_related("source", "target"):
        best = matrix.best_metrics
        run = measured.latest_run(matrix.source_id, matrix.target_id)
        median = measured.select_measurement(run, None)
        retentions = list(
            CompatibilityEstimate.objects.filter(matrix=matrix, config_key=default_key).values_list(
                "retention", flat=True)
        )
        ci: list[float | None] = [None, None]
        if median is not None:
            typical = float(median.retention)
            ci = [median.ci_low, median.ci_high]
            basis = "measured_retention"
        elif retentions:
            typical = float(statistics.median(retentions))
            basis = f"median of {len(retentions)} listing estimate{'s' if len(retentions) != 1 else ''}"
        else:
            sp = best.get("semantic_preservation")
            typical = _clip01(sp) if sp is not None else None
            basis = "alignment_quality (best pair)"
        rows.append({
            "source": matrix.source.name,
            "target": matrix.target.name,
            "matrix_id": matrix.public_id,
            "version": matrix.version,
            "method": matrix.method,
            "tier": matrix_tier(matrix),
            "best_pair": [matrix.best_source_layer, matrix.best_target_layer],
            "semantic_preservation": best.get("semantic_preservation"),
            "accuracy": best.get("accuracy"),
            "reconstruction_error": best.get("reconstruction_error"),
            "typical_retention": typical,
            "typical_retention_ci_low": ci[0],
            "typical_retention_ci_high": ci[1],
            "basis": basis,
            "measured_retention": _measured_summary(run) if run else None,
            "validated_at": matrix.validated_at.isoformat() if matrix.validated_at else None,
        })
    return rows


def _measured_summary(run: list[MeasuredRetention]) -> dict[str, Any]:
    """A pair's latest measured run for the support matrix: the median row and every capability, with intervals."""
    def fields(row: MeasuredRetention) -> dict[str, Any]:
        return {"retention": row.retention, "ci_low": row.ci_low, "ci_high": row.ci_high,
                "random_control": row.random_control, "shuffled_control": row.shuffled_control,
                "cosine": row.cosine}

    median = next((r for r in run if r.capability == MeasuredRetention.PAIR_MEDIAN), None)
    first = run[0]
    return {
        "measured_at": first.measured_at.isoformat(),
        "source_layer": first.source_layer,
        "target_layer": first.target_layer,
        "method": first.method,
        "anchor_set_hash": first.anchor_set_hash,
        "median": fields(median) if median is not None else None,
        "capabilities": [
            {"capability": r.capability, **fields(r), "anti_steerable_fraction": r.anti_steerable_fraction,
             "n_prompts": r.n_prompts}
            for r in run if r.capability != MeasuredRetention.PAIR_MEDIAN
        ],
    }


# ------------------------------------------------------------------------------------------------------ jobs
def request_alignment(
    *, user: Any, source: Architecture, target: Architecture, num_anchors: int = 2000
) -> AlignmentJob:
    """Queue training of a matrix for a pair without one; the job runs on the gpu queue after commit.

    Refused: the same model twice, a metadata-only model, a num_anchors outside 100..10000 (the trainer's 80/10/10
    split needs ≥ 10 held-out anchors per side; the built-in corpus has ~10.5k) (ValidationFailed); an active
    matrix for the pair, or a queued/running job for it (Conflict, with ``extra["job_id"]`` /
    ``extra["matrix_id"]`` naming the existing one).
    """
    if source.pk == target.pk:
        raise ValidationFailed("source and target are the same model; no matrix is needed")
    for side, model in (("source", source), ("target", target)):
        if not model.runnable:
            raise ValidationFailed(f"{side} {model.name} is metadata-only (not runnable); it cannot be aligned")
    if isinstance(num_anchors, bool) or not isinstance(num_anchors, int) or not (
            MIN_ALIGNMENT_ANCHORS <= num_anchors <= MAX_ALIGNMENT_ANCHORS):
        raise ValidationFailed(f"num_anchors must be an integer from {MIN_ALIGNMENT_ANCHORS} to "
                               f"{MAX_ALIGNMENT_ANCHORS}, got {num_anchors!r}")
    with transaction.atomic():
        Architecture.objects.select_for_update().filter(pk=source.pk).first()  # serialize requests for the pair
        matrix = active_matrix(source, target)
        if matrix is not None:
            raise Conflict(
                f"an active W-Matrix already exists for {source.name}→{target.name} "
                f"(v{matrix.version}, {matrix.public_id})", matrix_id=matrix.public_id,
            )
        running = AlignmentJob.objects.filter(
            source=source, target=target, status__in=[AlignmentJob.Status.QUEUED, AlignmentJob.Status.RUNNING]
        ).first()
        if running is not None:
            raise Conflict(
                f"alignment job {running.public_id} for {source.name}→{target.name} is already {running.status}",
                job_id=running.public_id,
            )
        job = AlignmentJob.objects.create(requested_by=user, source=source, target=target, num_anchors=num_anchors,
                                          message="queued")
        events.alignment_requested(job.id)
    return job


def run_alignment_job(job: AlignmentJob, progress_cb: Callable[[float, str], None] | None = None) -> WMatrix:
    """Train the job's matrix (GPU worker): WMatrixTrainer, all source layers, ridge; store it; job SUCCEEDED.

    Progress (0..1), an ETA (elapsed/progress − elapsed) and a message per phase are written to the job row as
    they happen (outside any transaction, so clients see them): loading models, sampling anchors, extracting each
    model's hidden states (cached on disk, so the trainer's own pass reads them back), layer correspondence and
    fit, storing. Any failure marks the job FAILED with the error and re-raises.
    """
    from alignment_plugins.extraction import extract, resolve_layers
    from alignment_plugins.models import load_model
    from alignment_plugins.trainer import WMatrixTrainer

    started = time.monotonic()

    def report(fraction: float, message: str) -> None:
        elapsed = time.monotonic() - started
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0 else None
        AlignmentJob.objects.filter(pk=job.pk).update(progress=fraction, eta_seconds=eta, message=message[:200])
        job.progress, job.eta_seconds, job.message = fraction, eta, message[:200]
        log.info("job %s: %.0f%% %s", job.public_id, fraction * 100, message)
        if progress_cb is not None:
            progress_cb(fraction, message)

    AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.RUNNING, started_at=timezone.now(),
                                                  error="")
    job.status = AlignmentJob.Status.RUNNING
    try:
        device = _best_device()
        report(0.0, f"loading {job.source.name} and {job.target.name} on {device}")
        source = load_model(job.source.name, device=device)
        target = load_model(job.target.name, device=device)
        trainer = WMatrixTrainer(source, target, device=device)
        trainer.configure(num_anchors=job.num_anchors, layers="all", optimization="ridge")
        report(0.05, f"sampling {job.num_anchors} anchors")
        anchors = trainer.prepare_anchors(0.2)[0]
        for fraction, model in ((0.10, source), (0.45, target)):
            layers = resolve_layers("all", model.num_layers)
            report(fraction, f"extracting {model.name} hidden states ({len(anchors)} anchors, {len(layers)} layers)")
            extract(model, anchors, layers, pooling=trainer.pooling, cache=True)
        report(0.80, "layer correspondence (CKA) and ridge fit")
        engine = trainer.train(epochs=0, validation_split=0.2)
        report(0.95, "storing the matrix and issuing its certificate")
        out_dir = Path(settings.ALIGNMENT_MATRIX_DIR)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = engine.save(out_dir / f"{job.source.name}-to-{job.target.name}-{job.public_id}.wmatrix")
        matrix = store_matrix(path)
        report(1.0, f"done: v{matrix.version}, tier {matrix_tier(matrix)}")
    except Exception as exc:
        AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.FAILED, finished_at=timezone.now(),
                                                      error=f"{type(exc).__name__}: {exc}"[:5000])
        job.status = AlignmentJob.Status.FAILED
        raise
    AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.SUCCEEDED, matrix=matrix,
                                                  finished_at=timezone.now(), eta_seconds=0.0)
    job.status, job.matrix = AlignmentJob.Status.SUCCEEDED, matrix
    return matrix


def _best_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# ------------------------------------------------------------------------------------------------ translation
def translate_for_purchase(purchase: Purchase) -> None:
    """Translate the purchased vector into the target model's space and store it; purchase DELIVERED.

    v_target = W.transform(v, layer=listing.layer, direction=True) (no mean shift: a capability vector is a
    direction), with the matrix recorded on the purchase (the version the buyer was quoted). Ridge maps shrink
    outputs toward the mean, so the raw mapped vector under-states the magnitude; it is rescaled to the norm the
    map's own per-dimension scales imply: ‖v_target / s_y‖ = ‖v / s_x‖ (the same size in target standard
    deviations as the source vector has in source standard deviations). Source, mapped and delivered norms, the
    factor, layers, matrix version, norm mode ("map": the norm the map implies; "native" for an identity delivery),
    the listing's package provenance (``package_provenance``, null for a plain upload) and the vector's sha256 go
    into the file's JSON metadata header (the vpkg and GGUF downloads are built from it).
    Same source and target: the vector is copied. Already delivered: nothing happens.
    """
    from marketplace.catalog.services import package_provenance

    purchase = Purchase.objects.select_related("listing__source_model", "target_model", "matrix").get(pk=purchase.pk)
    if purchase.status == Purchase.Status.DELIVERED and purchase.translated_vector:
        return
    listing = purchase.listing
    Purchase.objects.filter(pk=purchase.pk).update(status=Purchase.Status.PROCESSING)
    vector, _ = read_vector_file(listing.vector_file)
    source_norm = float(np.linalg.norm(vector.astype(np.float64)))
    meta: dict[str, Any] = {
        "purchase": purchase.public_id, "listing": listing.public_id,
        "source_model": listing.source_model.name, "target_model": purchase.target_model.name,
        "source_layer": listing.layer, "source_norm": source_norm, "source_sha256": listing.vector_sha256,
        "package": package_provenance(listing.package),
    }
    if purchase.target_model_id == listing.source_model_id:
        delivered = vector.astype(np.float32)
        meta.update(target_layer=listing.layer, matrix=None, matrix_version=None, method="identity",
                    norm_mode="native", mapped_norm=source_norm, delivered_norm=source_norm, rescale_factor=1.0)
    else:
        matrix = purchase.matrix or active_matrix(listing.source_model, purchase.target_model)
        if matrix is None:
            raise NotFound(f"no W-Matrix for {listing.source_model.name}→{purchase.target_model.name}")
        from alignment_plugins.vectors import standardized_rescale  # numpy only at import

        engine = load_engine_matrix(matrix)
        (_, target_layer), linear = engine.map_for(listing.layer)
        v64 = vector.astype(np.float64)
        mapped = engine.transform(v64, layer=listing.layer, direction=True)
        try:
            factor = standardized_rescale(linear, v64, mapped)
        except ValueError:
            raise ValueError(
                f"the map of layer {listing.layer} sends this vector to zero; nothing to deliver") from None
        source_std = float(np.linalg.norm(v64 / linear.scale_x))  # recorded in the file's metadata
        delivered = (mapped * factor).astype(np.float32)
        meta.update(
            target_layer=int(target_layer), matrix=matrix.public_id, matrix_version=matrix.version,
            method=matrix.method, mapped_norm=float(np.linalg.norm(mapped)),
            delivered_norm=float(np.linalg.norm(delivered.astype(np.float64))), rescale_factor=factor,
            rescale="norm in target standard deviations = norm of the source vector in source standard deviations",
            norm_mode="map", source_standardized_norm=source_std,
        )
        purchase.matrix = matrix
    if not np.isfinite(delivered).all():
        raise ValueError("the translated vector has non-finite values")
    meta.update(dim=int(delivered.shape[0]), sha256=vector_sha256(delivered),
                delivered_at=timezone.now().isoformat(timespec="seconds"))
    content = vector_file_bytes(delivered, _finite(meta))
    purchase.translated_vector.save(f"{purchase.public_id}.safetensors", ContentFile(content), save=False)
    purchase.target_layer = meta["target_layer"]
    purchase.status = Purchase.Status.DELIVERED
    purchase.delivered_at = timezone.now()
    purchase.error = ""
    purchase.save(update_fields=["translated_vector", "target_layer", "status", "delivered_at", "error", "matrix"])


# ------------------------------------------------------------------------------------------------------ drift
def due_for_drift_check(now: datetime | None = None) -> Any:
    """Active matrices whose last validation is older than ``DRIFT_REVALIDATE_AFTER_HOURS`` (or never made)."""
    from django.db.models import Q

    now = now or timezone.now()
    cutoff = now - timedelta(hours=float(settings.DRIFT_REVALIDATE_AFTER_HOURS))
    return WMatrix.objects.filter(status=WMatrix.Status.ACTIVE).filter(
        Q(validated_at__isnull=True) | Q(validated_at__lt=cutoff)
    )


def drift_anchors(matrix: WMatrix, num_anchors: int = 200, today: date | None = None) -> Any:
    """A fresh sample of the built-in anchors for revalidating `matrix`, seeded by the date.

    The matrix's training sample is reconstructed from its file (count and seed) and excluded when its content
    hash matches the one recorded; the returned set never equals the training set.
    """
    from alignment_plugins.anchors import AnchorSet, load_builtin

    corpus = load_builtin()
    anchors_meta = matrix_header(matrix).get("anchors", {}) if matrix.file else {}
    total = sum(int(v) for v in (anchors_meta.get("counts") or {}).values())
    excluded: set[str] = set()
    if 0 < total <= len(corpus):
        sample = corpus.sample(total, seed=int(anchors_meta.get("seed", 0)))
        if sample.content_hash == matrix.anchor_set_hash:
            excluded = set(sample.texts)
    pool = AnchorSet([a for a in corpus if a.text not in excluded], name=f"{corpus.name}|not-training")
    seed = int((today or timezone.now().date()).strftime("%Y%m%d"))
    fresh = pool.sample(min(num_anchors, len(pool)), seed=seed)
    if fresh.content_hash == matrix.anchor_set_hash:  # only possible when nothing could be excluded
        fresh = pool.sample(min(num_anchors, len(pool)), seed=seed + 1)
    return fresh


def run_drift_check(matrix: WMatrix, *, anchors: Any = None, num_anchors: int = 200) -> DriftCheck:
    """Re-measure `matrix` on fresh anchors (GPU path) and record a DriftCheck.

    Evaluates with ``alignment_plugins.evaluation.evaluate`` on `anchors` (default: ``drift_anchors``, a date-seeded
    sample disjoint from the training set) and compares the best pair's semantic preservation with the stored
    held-out value: drift = baseline − observed. DRIFTED (and the matrix marked DRIFTED, so it stops being offered)
    when drift > ``DRIFT_TOLERANCE`` or either model's weights changed since training (engine warning, or the
    registered fingerprint differs); else OK and ``matrix.validated_at`` = now. An error records a FAILED check and
    re-raises.
    """
    from alignment_plugins import evaluation

    key = f"{matrix.best_source_layer}->{matrix.best_target_layer}"
    baseline = _finite(matrix.best_metrics)
    try:
        anchor_set = anchors if anchors is not None else drift_anchors(matrix, num_anchors)
        engine = load_engine_matrix(matrix)
        result = evaluation.evaluate(engine, anchor_set)
    except Exception as exc:
        DriftCheck.objects.create(matrix=matrix, status=DriftCheck.Status.FAILED, baseline=baseline,
                                  detail=f"{type(exc).__name__}: {exc}"[:5000])
        raise
    observed = _finite(result["pairs"].get(key, {}))
    base_sp, obs_sp = baseline.get("semantic_preservation"), observed.get("semantic_preservation")
    drift = float(base_sp) - float(obs_sp) if base_sp is not None and obs_sp is not None else math.inf
    warnings = list(result.get("warnings") or [])
    changed = any("weights differ" in w for w in warnings)
    for arch, recorded in ((matrix.source, matrix.source_fingerprint), (matrix.target, matrix.target_fingerprint)):
        if recorded and arch.weight_fingerprint and arch.weight_fingerprint != recorded:
            changed = True
            warnings.append(f"{arch.name}: registered fingerprint {arch.weight_fingerprint} ≠ trained {recorded}")
    drifted = changed or drift > float(settings.DRIFT_TOLERANCE)
    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{float(value):.4f}"

    detail = (
        f"semantic preservation {fmt(base_sp)} → {fmt(obs_sp)} on {result.get('anchors', {}).get('count', '?')} "
        "fresh anchors "
        f"(drift {drift:+.4f}, tolerance {settings.DRIFT_TOLERANCE})"
    )
    if warnings:
        detail += "; " + "; ".join(warnings)
    check = DriftCheck.objects.create(
        matrix=matrix, status=DriftCheck.Status.DRIFTED if drifted else DriftCheck.Status.OK, baseline=baseline,
        observed=_finite({**observed, "anchors": result.get("anchors", {})}),
        drift=drift if math.isfinite(drift) else 1.0, fingerprint_changed=changed, detail=detail[:5000],
    )
    if drifted:
        WMatrix.objects.filter(pk=matrix.pk).update(status=WMatrix.Status.DRIFTED)
        matrix.status = WMatrix.Status.DRIFTED
        log.warning("matrix %s drifted: %s", matrix, detail)
    else:
        now = timezone.now()
        WMatrix.objects.filter(pk=matrix.pk).update(validated_at=now)
        matrix.validated_at = now
    return check
