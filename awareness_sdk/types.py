"""Typed results of the REST API: one dataclass per response schema (``SCHEMA`` names its OpenAPI component).

Every field is a property of that component in the API's OpenAPI schema (a test fails when they drift apart);
timestamps become ``datetime``, AMEM amounts ``Decimal``, nested objects their dataclass. The response body as
received is kept in ``raw`` (fields a newer server adds are there too).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


def _convert(value: Any, hint: Any) -> Any:
    """`value` (decoded JSON) as the annotated type `hint`: datetime, Decimal, a dataclass or a list of them."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(value, options[0]) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return [_convert(v, item) for v in value]
    if hint is datetime:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if hint is Decimal:
        return Decimal(str(value))
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_json(hint, value)
    return value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass `cls` from a JSON object: known fields converted, the whole object kept as ``raw``."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data and f.name != "raw" and not f.metadata.get("local"):
            values[f.name] = _convert(data[f.name], hints[f.name])
    return cls(**values, raw=data)  # type: ignore[call-arg]


def response_fields(cls: type) -> list[str]:
    """The fields of a result dataclass that come from the response body (all but ``raw`` and local ones)."""
    return [f.name for f in dataclasses.fields(cls) if f.name != "raw" and not f.metadata.get("local")]


@dataclass
class Model:
    """A model architecture the marketplace knows (GET /api/v1/models/…)."""

    SCHEMA: ClassVar[str] = "ArchitectureDetail"

    name: str
    family: str = ""
    kind: str = ""
    support_level: str = ""
    runnable: bool = False
    hidden_size: int | None = None
    num_layers: int | None = None
    num_heads: int | None = None
    num_kv_heads: int | None = None
    activation: str = ""
    positional_encoding: str = ""
    normalization: str = ""
    vocab_size: int | None = None
    adapter: str = ""
    weight_fingerprint: str = ""
    description: str = ""
    url: str = ""
    registered_at: datetime | None = None
    updated_at: datetime | None = None
    metadata: dict[str, Any] | None = None  # detail only
    matrices: dict[str, list[str]] | None = None  # detail only: active matrices as_source / as_target
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class VectorListing:
    """A capability vector for sale: its source model and layer, grade, price and package metadata."""

    SCHEMA: ClassVar[str] = "VectorListing"

    id: str
    name: str = ""
    description: str = ""
    seller: str = ""
    source_model: str = ""
    layer: int | None = None
    capability_domain: str = ""
    grade: str = ""
    price: Decimal | None = None
    vector_dim: int | None = None
    vector_norm: float | None = None
    vector_sha256: str = ""
    package: dict[str, Any] | None = None
    status: str = ""
    url: str = ""
    compatibility_url: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def capability(self) -> str:
        """The capability the vector carries: its package's ``capability``, else the listing's domain."""
        return str((self.package or {}).get("capability") or self.capability_domain)


@dataclass
class VectorListingSummary:
    """A listing as list pages show it (GET /api/v1/vectors/): no description or package metadata; ``detail()`` via
    ``market.vectors.get(summary)`` gives the full :class:`VectorListing`."""

    SCHEMA: ClassVar[str] = "VectorListingSummary"

    id: str
    name: str = ""
    seller: str = ""
    source_model: str = ""
    layer: int | None = None
    capability_domain: str = ""
    capability: str | None = None  # the package's capability (None: a plain upload)
    method: str | None = None  # the package's extraction method (None: a plain upload)
    grade: str = ""
    price: Decimal | None = None
    vector_dim: int | None = None
    vector_norm: float | None = None
    vector_sha256: str = ""
    status: str = ""
    url: str = ""
    compatibility_url: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class MatrixRef:
    """A short reference to a W-Matrix version."""

    SCHEMA: ClassVar[str] = "MatrixRef"

    id: str
    version: int | None = None
    method: str = ""
    status: str = ""
    url: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Estimate:
    """A free pre-purchase estimate of how much of a listing's effect survives on a target model.

    ``retention`` is the expected fraction of the source vector's steering effect (0..1) with its 95% interval
    ``ci_low``..``ci_high``; ``basis`` says what it rests on (measured retention or the matrix's held-out metrics).
    """

    SCHEMA: ClassVar[str] = "CompatibilityEstimate"

    listing: str
    source_model: str = ""
    target_model: str = ""
    target_config: dict[str, Any] = field(default_factory=dict)
    retention: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    alignment_quality: float | None = None
    risk_level: str = ""
    dimensional_loss: float | None = None
    structural_mismatch: float | None = None
    recommendation: str = ""
    basis: str = ""
    matrix_version: int | None = None
    matrix: MatrixRef | None = None
    computed_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class WMatrixVersion:
    """One stored W-Matrix version with its held-out metrics (the file itself: ``Marketplace.wmatrices.download``)."""

    SCHEMA: ClassVar[str] = "WMatrix"

    id: str
    source: str = ""
    target: str = ""
    version: int | None = None
    method: str = ""
    status: str = ""
    layer_map: list[list[int]] = field(default_factory=list)
    recommended_pair: list[int] | None = None
    recommended_metrics: dict[str, Any] = field(default_factory=dict)
    best_source_layer: int | None = None
    best_target_layer: int | None = None
    best_metrics: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    anchor_set_hash: str = ""
    source_fingerprint: str = ""
    target_fingerprint: str = ""
    file_sha256: str = ""
    validated_at: datetime | None = None
    created_at: datetime | None = None
    url: str = ""
    download_url: str = ""
    certificate_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Certificate:
    """A signed quality certificate: ``payload`` signed with HMAC-SHA256 (``algorithm``, ``key_id``, ``signature``).

    ``signature_valid`` is the server's own check; :meth:`verify` checks it offline with the signing key.
    """

    SCHEMA: ClassVar[str] = "Certificate"

    id: str
    matrix: str = ""
    tier: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    anchor_set_hash: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    algorithm: str = ""
    signature: str = ""
    key_id: str = ""
    issued_at: datetime | None = None
    signature_valid: bool | None = None
    url: str = ""
    html_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def document(self) -> dict[str, Any]:
        """The signed document (payload, algorithm, key_id, signature): what ``verify-certificate`` reads."""
        return {"payload": self.payload, "algorithm": self.algorithm, "key_id": self.key_id,
                "signature": self.signature}

    def save(self, path: Any) -> Any:
        """Write the signed document as JSON (``cert.json``); return the path."""
        import json
        from pathlib import Path

        target = Path(path)
        target.write_text(json.dumps(self.document(), indent=2, sort_keys=True) + "\n")
        return target

    def verify(self, key: str | bytes) -> bool:
        """Whether the signature matches the payload under `key` (offline, the engine's certificate module)."""
        from alignment_plugins.certificate import verify

        return verify(self.document(), key)

    def verify_detail(self, key: str | bytes) -> tuple[bool, str]:
        """(valid, reason) of the offline check under `key`."""
        from alignment_plugins.certificate import verify_detail

        return verify_detail(self.document(), key)


@dataclass
class SupportRow:
    """One supported (source, target) pair of the support matrix: tier and typical retention."""

    SCHEMA: ClassVar[str] = "SupportMatrixRow"

    source: str
    target: str
    matrix_id: str = ""
    method: str = ""
    version: int | None = None
    tier: int | None = None
    best_pair: list[int] | None = None
    recommended_pair: list[int] | None = None
    semantic_preservation: float | None = None
    accuracy: float | None = None
    reconstruction_error: float | None = None
    typical_retention: float | None = None
    typical_retention_ci_low: float | None = None
    typical_retention_ci_high: float | None = None
    basis: str | None = None
    measured_retention: dict[str, Any] | None = None
    validated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Purchase:
    """A purchase and its delivery state (``pending`` → ``processing`` → ``delivered``, or ``failed``/``refunded``)."""

    SCHEMA: ClassVar[str] = "Purchase"
    #: statuses after which the state no longer changes by itself (checked against the schema's enum)
    FINAL: ClassVar[tuple[str, ...]] = ("delivered", "failed", "refunded")

    id: str
    status: str = ""
    listing: str = ""
    listing_name: str = ""
    source_model: str = ""
    target_model: str = ""
    price: Decimal | None = None
    idempotency_key: str = ""
    matrix: str | None = None
    target_layer: int | None = None
    error: str = ""
    created_at: datetime | None = None
    delivered_at: datetime | None = None
    #: when the price went back to the buyer's account (a failed delivery, or an operator's refund)
    refunded_at: datetime | None = None
    refund_reason: str = ""
    status_url: str = ""
    download_url: str | None = None
    vector_urls: dict[str, str] | None = None
    #: the server answered an idempotent replay (same key: no second debit); from the Idempotent-Replayed header
    replayed: bool = field(default=False, metadata={"local": True})
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def delivered(self) -> bool:
        """Whether the translated vector can be downloaded."""
        return self.status == "delivered"

    @property
    def finished(self) -> bool:
        """Whether the purchase reached a final state (delivered, failed or refunded)."""
        return self.status in self.FINAL

    @property
    def refunded(self) -> bool:
        """Whether the price was refunded (buy again with a new idempotency key to retry)."""
        return self.status == "refunded"


@dataclass
class AlignmentJob:
    """An on-demand alignment job: status, progress (0..1), ETA in seconds and the resulting matrix's id."""

    SCHEMA: ClassVar[str] = "AlignmentJob"
    FINAL: ClassVar[tuple[str, ...]] = ("succeeded", "failed")

    id: str
    source: str = ""
    target: str = ""
    num_anchors: int | None = None
    status: str = ""
    progress: float | None = None
    eta_seconds: float | None = None
    message: str = ""
    matrix: str | None = None
    error: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """Whether the job reached a final state (succeeded or failed)."""
        return self.status in self.FINAL


@dataclass
class Plugin:
    """An alignment plugin loaded by the server (built-in or from an entry point)."""

    SCHEMA: ClassVar[str] = "Plugin"

    name: str
    origin: str = ""
    version: str = ""
    distribution: str = ""
    hooks: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class LedgerEntry:
    """One ledger row of your account (AMEM)."""

    SCHEMA: ClassVar[str] = "LedgerEntry"

    transaction_id: str
    kind: str = ""
    amount: Decimal | None = None
    memo: str = ""
    purchase: str | None = None
    created_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Account:
    """Your AMEM balance and recent ledger entries."""

    SCHEMA: ClassVar[str] = "Account"

    username: str
    balance: Decimal | None = None
    currency: str = "AMEM"
    updated_at: datetime | None = None
    recent_entries: list[LedgerEntry] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Page(Generic[T]):
    """One page of a list endpoint: ``count`` over all pages, ``results`` of this one, ``next`` page URL or None."""

    count: int
    results: list[T]
    next: str | None = None
    previous: str | None = None

    def __iter__(self) -> typing.Iterator[T]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


@dataclass
class MultiHopHop:
    """One matrix of a multi-hop path, at the layers it is used."""

    SCHEMA: ClassVar[str] = "MultiHopHop"

    source: str
    target: str
    source_layer: int | None = None
    target_layer: int | None = None
    estimated_retention: float | None = None
    matrix: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class MultiHopPath:
    """The best path of stored matrices (``path``: model names) with its estimated retention beside the direct's."""

    SCHEMA: ClassVar[str] = "MultiHopResult"

    source: str
    target: str
    layer: int | None = None
    path: list[str] = field(default_factory=list)
    hops: list[MultiHopHop] = field(default_factory=list)
    estimated_retention: float | None = None
    direct_retention: float | None = None
    direct_layers: list[int] | None = None
    improvement: float | None = None
    target_config: dict[str, Any] = field(default_factory=dict)
    estimator: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class MultiHopEdge:
    """One active matrix as a graph edge (its recommended pair and −log estimated retention as weight)."""

    SCHEMA: ClassVar[str] = "MultiHopEdge"

    source: str
    target: str
    matrix_id: str = ""
    version: int | None = None
    pair: list[int] | None = None
    layer_pairs: int | None = None
    estimated_retention: float | None = None
    weight: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class MultiHopGraph:
    """The graph the multi-hop path search runs on."""

    SCHEMA: ClassVar[str] = "MultiHopGraph"

    nodes: list[str] = field(default_factory=list)
    edges: list[MultiHopEdge] = field(default_factory=list)
    estimator: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class DriftCheck:
    """One drift check of a stored matrix: status, the monitor's recommendation and why, and its full result."""

    SCHEMA: ClassVar[str] = "DriftCheck"

    id: int
    url: str = ""
    matrix: str = ""
    matrix_version: int | None = None
    checked_at: datetime | None = None
    status: str = ""
    drift_detected: bool | None = None
    recommendation: str = ""
    drift: float | None = None
    fingerprint_changed: bool | None = None
    detail: str = ""
    action: str = ""
    baseline: dict[str, Any] | None = None
    observed: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class DriftCheckQueued:
    """A queued drift check: the matrix and where its checks are listed."""

    SCHEMA: ClassVar[str] = "DriftCheckQueued"

    matrix: str
    status: str = ""
    checks_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


#: Every result dataclass (the schema-drift test checks each against its component).
RESULT_TYPES: tuple[type, ...] = (Model, VectorListing, VectorListingSummary, MatrixRef, Estimate, WMatrixVersion,
                                  Certificate, SupportRow,
                                  Purchase, AlignmentJob, Plugin, LedgerEntry, Account,
                                  MultiHopHop, MultiHopPath, MultiHopEdge, MultiHopGraph, DriftCheck, DriftCheckQueued)
