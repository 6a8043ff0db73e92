"""Quality certificates: issue (signed), verify, render, and the tier a matrix is certified at.

Payload and signature are the engine's (``alignment_plugins.certificate``): HMAC-SHA256 of the payload's canonical
JSON under ``settings.CERTIFICATE_SIGNING_KEY``, so ``python -m alignment_plugins verify-certificate`` checks a
downloaded certificate offline.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.utils import timezone

import alignment_plugins
from alignment_plugins import certificate as engine_certificate
from alignment_plugins.certificate import json_safe
from marketplace.alignment import retention as measured
from marketplace.alignment.matrix_files import matrix_cka, matrix_header
from marketplace.alignment.models import QualityCertificate, WMatrix
from marketplace.errors import ValidationFailed

CERTIFICATE_FORMAT = engine_certificate.FORMAT


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
    """Issue a signed quality certificate for `matrix` from its recommended layer pair's held-out metrics.

    The payload is ``alignment_plugins.certificate.build_payload``'s: certificate and matrix public ids,
    source/target names and weight fingerprints, version, method, recommended and best pairs, tier (and the bands
    it was read from), the recommended pair's metrics and each metric's 95% interval, the embedding-migration
    pair's when the .wmatrix has one, anchor-set hash, library version, issue time; plus
    ``retention`` (the pair's latest measured-retention run, every capability with its interval) when the pair
    was measured, and ``stitching`` when ``matrix.extra_metrics["stitching"]`` is recorded. Signature:
    HMAC-SHA256 of the payload's canonical JSON under ``settings.CERTIFICATE_SIGNING_KEY``, hex.
    """
    try:
        header = matrix_header(matrix)
    except Exception:  # the header is informational here; the file was validated when stored
        header = {}
    library_version = header.get("library_version") or alignment_plugins.__version__
    n_test = (header.get("anchors") or {}).get("counts", {}).get("test")
    best = json_safe(matrix.headline_metrics)
    embedding_pair = header.get("embedding_pair")
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
        recommended_pair=list(matrix.recommended_pair),
        embedding=({"pair": embedding_pair, "metrics": matrix.metrics.get(f"{embedding_pair[0]}->{embedding_pair[1]}",
                                                                           {})} if embedding_pair else None),
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
    extra[str(name)] = json_safe(metrics)
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
    """The matrix's certified tier (latest certificate), else the tier of its recommended pair's reconstruction
    error."""
    cert = latest_certificate(matrix)
    if cert is not None:
        return cert.tier
    error = matrix.headline_metrics.get("reconstruction_error")
    return tier_for(math.nan if error is None else error)
