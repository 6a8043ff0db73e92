"""Every REST operation the SDK calls, in one table: method, path template, parameters, body fields, result type.

The client builds each request from this table only, and ``tests/unit/sdk/test_schema_drift.py`` checks the table
against the OpenAPI schema the server generates (paths, methods, path/query/header parameters, body fields and the
result dataclass's fields), so the SDK and the API cannot drift apart silently. An operation the API does not offer
yet names the issue that adds it in ``pending``; the test checks it once the schema has it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """One REST operation: ``path`` is a template such as ``/api/v1/vectors/{public_id}/``."""

    method: str
    path: str
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    body: tuple[str, ...] = ()  # JSON or multipart fields
    multipart: bool = False
    result: str = ""  # schema component of the 200/201/202 body ("" for files and html)
    paginated: bool = False
    pending: str = ""  # the issue that adds this operation to the API, while the API lacks it

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the path template's ``{placeholders}``."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name)

    def url(self, **params: str) -> str:
        """The path with its placeholders filled (each value percent-encoded as one path segment)."""
        from urllib.parse import quote

        missing = set(self.path_params) - set(params)
        if missing:
            raise TypeError(f"{self.method} {self.path}: missing path parameter(s) {sorted(missing)}")
        return self.path.format(**{k: quote(str(v), safe="") for k, v in params.items()})


LIST_QUERY = ("page", "page_size")

ENDPOINTS: dict[str, Endpoint] = {
    # models
    "models.list": Endpoint("GET", "/api/v1/models/", ("family", "kind", "support_level", *LIST_QUERY),
                            result="Architecture", paginated=True),
    "models.get": Endpoint("GET", "/api/v1/models/{name}/", result="ArchitectureDetail"),
    # vectors
    "vectors.list": Endpoint("GET", "/api/v1/vectors/",
                             ("source_model", "capability_domain", "grade", "min_price", "max_price", "status",
                              "search", *LIST_QUERY), result="VectorListingSummary", paginated=True),
    "vectors.get": Endpoint("GET", "/api/v1/vectors/{public_id}/", result="VectorListing"),
    "vectors.create": Endpoint("POST", "/api/v1/vectors/", body=("name", "description", "source_model", "layer",
                                                                 "capability_domain", "grade", "price", "vector"),
                               multipart=True, result="VectorListing"),
    "vectors.estimate": Endpoint("GET", "/api/v1/vectors/{public_id}/compatibility/",
                                 ("target_model", "quantization", "context_length", "custom_fine_tune"),
                                 result="CompatibilityEstimate"),
    # purchases
    "purchases.list": Endpoint("GET", "/api/v1/purchases/", LIST_QUERY, result="Purchase", paginated=True),
    "purchases.create": Endpoint("POST", "/api/v1/purchases/", headers=("Idempotency-Key",),
                                 body=("listing", "target_model", "idempotency_key"), result="Purchase"),
    "purchases.get": Endpoint("GET", "/api/v1/purchases/{public_id}/", result="Purchase"),
    "purchases.download": Endpoint("GET", "/api/v1/purchases/{public_id}/download/"),
    "purchases.vector": Endpoint("GET", "/api/v1/purchases/{public_id}/vector/", ("format",)),
    # matrices and certificates
    "wmatrices.list": Endpoint("GET", "/api/v1/wmatrices/", ("source", "target", "status", *LIST_QUERY),
                               result="WMatrix", paginated=True),
    "wmatrices.get": Endpoint("GET", "/api/v1/wmatrices/{public_id}/", result="WMatrix"),
    "wmatrices.download": Endpoint("GET", "/api/v1/wmatrices/{public_id}/download/"),
    "wmatrices.certificate": Endpoint("GET", "/api/v1/wmatrices/{public_id}/certificate/", result="Certificate"),
    "wmatrices.register": Endpoint("POST", "/api/v1/wmatrices/", body=("name", "file"), multipart=True,
                                   result="WMatrix"),
    "certificates.list": Endpoint("GET", "/api/v1/certificates/", ("matrix", "source", "target", *LIST_QUERY),
                                  result="Certificate", paginated=True),
    "certificates.get": Endpoint("GET", "/api/v1/certificates/{public_id}/", result="Certificate"),
    "certificates.html": Endpoint("GET", "/api/v1/certificates/{public_id}/html/"),
    "support_matrix": Endpoint("GET", "/api/v1/support-matrix/", result="SupportMatrix"),
    "multihop.path": Endpoint("GET", "/api/v1/multihop/", ("source", "target", "layer", "quantization",
                                                            "context_length"), result="MultiHopResult"),
    "multihop.graph": Endpoint("GET", "/api/v1/multihop/graph/", result="MultiHopGraph"),
    # alignment jobs
    "alignment_jobs.list": Endpoint("GET", "/api/v1/alignment-jobs/", LIST_QUERY, result="AlignmentJob",
                                    paginated=True),
    "alignment_jobs.create": Endpoint("POST", "/api/v1/alignment-jobs/", body=("source", "target", "num_anchors"),
                                      result="AlignmentJob"),
    "alignment_jobs.get": Endpoint("GET", "/api/v1/alignment-jobs/{public_id}/", result="AlignmentJob"),
    # drift checks
    "drift_checks.list": Endpoint("GET", "/api/v1/drift-checks/", ("matrix", *LIST_QUERY), result="DriftCheck",
                                  paginated=True),
    "drift_checks.get": Endpoint("GET", "/api/v1/drift-checks/{id}/", result="DriftCheck"),
    "drift_checks.request": Endpoint("POST", "/api/v1/drift-checks/", body=("matrix",), result="DriftCheckQueued"),
    "drift_checks.act": Endpoint("POST", "/api/v1/drift-checks/{id}/act/", result="DriftCheck"),
    # plugins and account
    "plugins": Endpoint("GET", "/api/v1/plugins/", result="Plugin"),
    "account": Endpoint("GET", "/api/v1/accounts/me/", result="Account"),
}
