"""Signed quality certificates of W-Matrices, by concept:

* ``signing`` — keys, the HMAC-SHA256 signature over the payload's canonical JSON, verification;
* ``payload`` — what a certificate states (tier, metrics with intervals, optional retention and stitching) and
  :func:`certify_wmatrix`;
* ``support_matrix`` — the retention bench's support-matrix document (schema, strict reading, one pair's section);
* ``page`` — the certificate as a self-contained HTML page.

Django-free and torch-free (numpy only at import; matplotlib inside :func:`render_html`). The marketplace and the
CLI (``python -m alignment_plugins certify`` / ``verify-certificate``) both use this package, so a certificate
issued by either verifies with the other given the same key. The names below are importable from here.
"""

from alignment_plugins.certificate.page import TIER_COLORS, render_html
from alignment_plugins.certificate.payload import (
    DEFAULT_TIER_BANDS,
    FORMAT,
    PROPORTIONS,
    build_payload,
    certify_wmatrix,
    metric_intervals,
    new_certificate_id,
    tier_for,
)
from alignment_plugins.certificate.signing import (
    ALGORITHM,
    KEY_ENV,
    CertificateError,
    document,
    key_id,
    load_key,
    sign,
    signature_hex,
    verify,
    verify_detail,
)
from alignment_plugins.certificate.support_matrix import (
    SUPPORT_MATRIX_FORMAT,
    SUPPORT_MATRIX_VERSION,
    load_support_matrix,
    read_json_file,
    retention_section,
    support_matrix_pair,
    validate_support_matrix,
)
from alignment_plugins.formats import canonical_json, json_safe

__all__ = [
    "ALGORITHM", "DEFAULT_TIER_BANDS", "FORMAT", "KEY_ENV", "PROPORTIONS", "SUPPORT_MATRIX_FORMAT",
    "SUPPORT_MATRIX_VERSION", "TIER_COLORS", "CertificateError", "build_payload", "canonical_json", "certify_wmatrix",
    "document", "json_safe", "key_id", "load_key", "load_support_matrix", "metric_intervals", "new_certificate_id",
    "read_json_file", "render_html", "retention_section", "sign", "signature_hex", "support_matrix_pair",
    "tier_for", "validate_support_matrix", "verify", "verify_detail",
]
