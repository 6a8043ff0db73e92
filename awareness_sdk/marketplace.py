"""``Marketplace``: the REST client of the W-Matrix marketplace (``/api/v1/``), one attribute per resource.

```python
from awareness_sdk import Marketplace

market = Marketplace(api_key="amk_...", base_url="http://127.0.0.1:8000")
listing = market.vectors.get("vec_abc123")
estimate = market.vectors.estimate(listing, target_model="gemma3-270m")
purchase = market.purchases.wait(market.vectors.purchase(listing, target_model="gemma3-270m"))
package = market.purchases.vector(purchase)          # the delivered vector package (.vpkg)
```

``api_key`` and ``base_url`` default to the environment variables ``AWARENESS_API_KEY`` and ``AWARENESS_BASE_URL``
(else ``http://127.0.0.1:8000``). Reads of listings, matrices, certificates and the support matrix need no key.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx

from awareness_sdk import errors
from awareness_sdk.http import Transport
from awareness_sdk.types import (
    Account,
    AlignmentJob,
    Certificate,
    DriftCheck,
    DriftCheckQueued,
    Estimate,
    Model,
    MultiHopGraph,
    MultiHopPath,
    Page,
    Plugin,
    Purchase,
    SupportRow,
    VectorListing,
    VectorListingSummary,
    WMatrixVersion,
    from_json,
)

T = TypeVar("T")
#: A listing as the Vectors methods accept it: the full listing, a list summary or its id.
ListingRef = VectorListing | VectorListingSummary | str
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
API_KEY_ENV, BASE_URL_ENV = "AWARENESS_API_KEY", "AWARENESS_BASE_URL"
DELIVERY_FORMATS = ("safetensors", "vpkg", "gguf")


def _id(obj: Any) -> str:
    """The public id of a result object, or `obj` itself when it is already an id."""
    return str(getattr(obj, "id", obj))


def _vector_upload(vector: Any) -> tuple[str, bytes]:
    """(file name, bytes) of a vector to sell: a path, raw bytes, or an object with ``to_bytes()`` (VectorPackage)."""
    if isinstance(vector, bytes | bytearray | memoryview):
        return "vector.safetensors", bytes(vector)
    if hasattr(vector, "to_bytes"):
        return "vector.vpkg", vector.to_bytes()
    path = Path(vector)
    return path.name, path.read_bytes()


def _checked_content(response: httpx.Response) -> bytes:
    """The response body, checked against the server's X-Content-SHA256 when it sends one."""
    content = response.content
    announced = response.headers.get("X-Content-SHA256")
    if announced and hashlib.sha256(content).hexdigest() != announced.lower():
        raise errors.IntegrityError(f"download from {response.request.url} does not match its X-Content-SHA256")
    return content


def _write_or_return(content: bytes, path: str | os.PathLike | None) -> bytes | Path:
    if path is None:
        return content
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target


class _Resource:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _one(self, cls: type[T], name: str, **kwargs: Any) -> T:
        return from_json(cls, self._t.request(name, **kwargs).json())

    def _page(self, cls: type[T], name: str, query: dict[str, Any]) -> Page[T]:
        body = self._t.request(name, query=query).json()
        return Page(count=int(body["count"]), results=[from_json(cls, r) for r in body["results"]],
                    next=body.get("next"), previous=body.get("previous"))

    def _all(self, cls: type[T], name: str, query: dict[str, Any]) -> Iterator[T]:
        page_number = 1
        while True:
            page = self._page(cls, name, {**query, "page": page_number})
            yield from page.results
            if not page.next:
                return
            page_number += 1

    def _wait(self, get: Callable[[], T], done: Callable[[T], bool], timeout: float, poll: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        interval = poll
        while True:
            state = get()
            if done(state):
                return state
            if time.monotonic() + interval > deadline:
                raise errors.WaitTimeout(f"{what} not finished after {timeout:g} s (last status "
                                         f"{getattr(state, 'status', '?')!r})", last=state)
            time.sleep(interval)
            interval = min(interval * 1.5, 5.0)


class Models(_Resource):
    """Model architectures the marketplace knows."""

    def list(self, *, family: str | None = None, kind: str | None = None, support_level: str | None = None,
             page: int | None = None, page_size: int | None = None) -> Page[Model]:
        """One page of models, filtered by family, kind (causal/encoder/proprietary) or support level."""
        return self._page(Model, "models.list", {"family": family, "kind": kind, "support_level": support_level,
                                                 "page": page, "page_size": page_size})

    def get(self, name: str) -> Model:
        """One model by its canonical name (metadata, support level, active matrices)."""
        return self._one(Model, "models.get", path={"name": name})


class Vectors(_Resource):
    """Capability-vector listings: browse, search, estimate, sell, buy."""

    def get(self, listing_id: VectorListingSummary | str) -> VectorListing:
        """One listing by id (``vec_…``) or list summary: the full listing, description and package metadata too."""
        return self._one(VectorListing, "vectors.get", path={"public_id": _id(listing_id)})

    def list(self, *, source_model: str | None = None, capability_domain: str | None = None, grade: str | None = None,
             min_price: Decimal | float | str | None = None, max_price: Decimal | float | str | None = None,
             status: str | None = None, search: str | None = None, page: int | None = None,
             page_size: int | None = None) -> Page[VectorListingSummary]:
        """One page of listing summaries (active ones unless `status` says otherwise; ``all`` for every status);
        ``get(summary)`` for one listing's description and package metadata."""
        query = {"source_model": source_model, "capability_domain": capability_domain, "grade": grade,
                 "min_price": min_price, "max_price": max_price, "status": status, "search": search,
                 "page": page, "page_size": page_size}
        return self._page(VectorListingSummary, "vectors.list", query)

    def search(self, text: str | None = None, *, source_model: str | None = None,
               capability_domain: str | None = None, grade: str | None = None,
               min_price: Decimal | float | str | None = None, max_price: Decimal | float | str | None = None,
               status: str | None = None, page_size: int = 100) -> Iterator[VectorListingSummary]:
        """Every listing matching `text` (in name or description) and the filters, across all pages."""
        query = {"search": text, "source_model": source_model, "capability_domain": capability_domain,
                 "grade": grade, "min_price": min_price, "max_price": max_price, "status": status,
                 "page_size": page_size}
        return self._all(VectorListingSummary, "vectors.list", query)

    def estimate(self, listing: ListingRef, target_model: str, *, quantization: str | None = None,
                 context_length: int | None = None, custom_fine_tune: bool | str = False) -> Estimate:
        """The free compatibility estimate of `listing` on `target_model` (no purchase, no charge).

        `context_length`: the prompt length you run at (tokens); `custom_fine_tune`: True for an unverified fine-tune
        of the target, or its weight fingerprint ``sha256:…`` / a checkpoint name. NotFound (404) when no active
        W-Matrix connects the pair: request one with ``alignment_jobs.create``.
        """
        fine_tune = "true" if custom_fine_tune is True else (custom_fine_tune or None)
        query = {"target_model": target_model, "quantization": quantization, "context_length": context_length,
                 "custom_fine_tune": fine_tune}
        return self._one(Estimate, "vectors.estimate", path={"public_id": _id(listing)}, query=query)

    def create(self, *, name: str, source_model: str, vector: Any, capability_domain: str, grade: str,
               price: Decimal | float | str, layer: int | None = None, description: str = "") -> VectorListing:
        """Sell a vector: `vector` is a ``.vpkg``/safetensors path, its bytes, or a VectorPackage.

        A plain safetensors vector needs `layer`; a package's layer defaults to its only one.
        """
        filename, content = _vector_upload(vector)
        data = {"name": name, "description": description, "source_model": source_model,
                "capability_domain": capability_domain, "grade": grade, "price": str(price)}
        if layer is not None:
            data["layer"] = str(int(layer))
        return self._one(VectorListing, "vectors.create", data=data,
                         files={"vector": (filename, content, "application/octet-stream")})

    def purchase(self, listing: ListingRef, target_model: str, *,
                 idempotency_key: str | None = None) -> Purchase:
        """Buy `listing` for `target_model` (see :meth:`Purchases.create`)."""
        return Purchases(self._t).create(listing, target_model, idempotency_key=idempotency_key)


class Purchases(_Resource):
    """Your purchases: buy (idempotent), follow delivery, download the translated vector."""

    def create(self, listing: ListingRef, target_model: str, *,
               idempotency_key: str | None = None) -> Purchase:
        """Buy `listing` for `target_model`; delivery is asynchronous (:meth:`wait`).

        Idempotent: the same `idempotency_key` returns the same purchase without a second debit (``replayed``
        is then True). Without a key a fresh one is made, so the SDK's own retries never buy twice.
        """
        key = idempotency_key or f"sdk-{uuid.uuid4().hex}"
        response = self._t.request("purchases.create", headers={"Idempotency-Key": key},
                                   json={"listing": _id(listing), "target_model": target_model})
        purchase = from_json(Purchase, response.json())
        purchase.replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        return purchase

    def get(self, purchase: Purchase | str) -> Purchase:
        """The current state of one of your purchases."""
        return self._one(Purchase, "purchases.get", path={"public_id": _id(purchase)})

    def list(self, *, page: int | None = None, page_size: int | None = None) -> Page[Purchase]:
        """One page of your purchases."""
        return self._page(Purchase, "purchases.list", {"page": page, "page_size": page_size})

    def wait(self, purchase: Purchase | str, *, timeout: float = 600.0, poll: float = 0.5) -> Purchase:
        """Poll until the purchase is delivered (returned); DeliveryFailed if it fails, WaitTimeout after `timeout`.

        A failed delivery is refunded: DeliveryFailed's ``purchase`` is then ``refunded`` (``refunded_at``,
        ``refund_reason``); retry with a new idempotency key (the old key keeps returning the refunded purchase).
        """
        final = self._wait(lambda: self.get(purchase), lambda p: p.finished, timeout, poll,
                           f"purchase {_id(purchase)}")
        if not final.delivered:
            raise errors.DeliveryFailed(f"purchase {final.id} is {final.status}: {final.error or 'no reason given'}",
                                        purchase=final)
        return final

    def download(self, purchase: Purchase | str, format: str = "safetensors",
                 path: str | os.PathLike | None = None) -> bytes | Path:
        """The delivered vector as `format` (safetensors, vpkg or gguf): bytes, or written to `path` (returned).

        The body is checked against the server's sha256. NotDelivered before delivery; NotExportable when the
        vector cannot be written as a llama.cpp control vector (``gguf``).
        """
        if format not in DELIVERY_FORMATS:
            raise ValueError(f"format must be one of {list(DELIVERY_FORMATS)}, got {format!r}")
        response = self._t.request("purchases.vector", path={"public_id": _id(purchase)}, query={"format": format})
        return _write_or_return(_checked_content(response), path)

    def vector(self, purchase: Purchase | str) -> Any:
        """The delivered vector package (``alignment_plugins.vector_package.VectorPackage``) of the target model."""
        from alignment_plugins.vector_package import VectorPackage

        return VectorPackage.from_bytes(self.download(purchase, "vpkg"), name=f"{_id(purchase)}.vpkg")


class WMatrices(_Resource):
    """Stored W-Matrix versions, their files and certificates."""

    def list(self, *, source: str | None = None, target: str | None = None, status: str | None = None,
             page: int | None = None, page_size: int | None = None) -> Page[WMatrixVersion]:
        """One page of matrix versions, filtered by source/target model name and status."""
        return self._page(WMatrixVersion, "wmatrices.list", {"source": source, "target": target, "status": status,
                                                             "page": page, "page_size": page_size})

    def iter(self, *, source: str | None = None, target: str | None = None,
             status: str | None = None) -> Iterator[WMatrixVersion]:
        """Every matrix version matching the filters, across all pages."""
        return self._all(WMatrixVersion, "wmatrices.list", {"source": source, "target": target, "status": status})

    def get(self, matrix_id: str) -> WMatrixVersion:
        """One matrix version by id (``wm_…``)."""
        return self._one(WMatrixVersion, "wmatrices.get", path={"public_id": _id(matrix_id)})

    def download(self, matrix: WMatrixVersion | str, path: str | os.PathLike | None = None) -> bytes | Path:
        """The ``.wmatrix`` file (safetensors): bytes, or written to `path` (returned); sha256-checked."""
        response = self._t.request("wmatrices.download", path={"public_id": _id(matrix)})
        return _write_or_return(_checked_content(response), path)

    def load(self, matrix: WMatrixVersion | str) -> Any:
        """The matrix as an engine ``alignment_plugins.WMatrix`` (validated on load; numpy only)."""
        from alignment_plugins.wmatrix import WMatrix

        with tempfile.TemporaryDirectory(prefix="awareness-") as folder:
            return WMatrix.load(self.download(matrix, Path(folder) / "matrix.wmatrix"))

    def certificate(self, matrix: WMatrixVersion | str) -> Certificate:
        """The matrix's latest quality certificate (NotFound when none was issued)."""
        return self._one(Certificate, "wmatrices.certificate", path={"public_id": _id(matrix)})

    def register(self, wmatrix: Any, *, name: str) -> WMatrixVersion:
        """Upload a trained matrix (a path or an engine WMatrix) under `name`; the server validates and certifies it.

        Needs the API's upload endpoint (``POST /api/v1/wmatrices/``); a server without it answers 405.
        """
        if hasattr(wmatrix, "save"):
            with tempfile.TemporaryDirectory(prefix="awareness-") as folder:
                content = Path(wmatrix.save(Path(folder) / "matrix.wmatrix")).read_bytes()
        else:
            content = Path(wmatrix).read_bytes()
        return self._one(WMatrixVersion, "wmatrices.register", data={"name": name},
                         files={"file": (f"{name}.wmatrix", content, "application/octet-stream")})


class Certificates(_Resource):
    """Signed quality certificates: fetch, save, verify offline."""

    def list(self, *, matrix: str | None = None, source: str | None = None, target: str | None = None,
             page: int | None = None, page_size: int | None = None) -> Page[Certificate]:
        """One page of certificates (newest first), filtered by matrix id or source/target model."""
        return self._page(Certificate, "certificates.list", {"matrix": matrix, "source": source, "target": target,
                                                             "page": page, "page_size": page_size})

    def get(self, certificate_id: str) -> Certificate:
        """One certificate by id: the signed document plus links."""
        return self._one(Certificate, "certificates.get", path={"public_id": _id(certificate_id)})

    def html(self, certificate: Certificate | str) -> str:
        """The certificate as a self-contained HTML page."""
        return self._t.request("certificates.html", path={"public_id": _id(certificate)}).text

    def verify(self, certificate: Certificate | str, key: str | bytes) -> bool:
        """Fetch (when given an id) and verify a certificate offline with the signing `key`."""
        cert = certificate if isinstance(certificate, Certificate) else self.get(certificate)
        return cert.verify(key)


class AlignmentJobs(_Resource):
    """On-demand alignment: ask the service to train a W-Matrix for a pair that has none."""

    def create(self, source: str, target: str, *, num_anchors: int = 2000) -> AlignmentJob:
        """Request a matrix from `source` to `target` (a GPU job); Conflict (409) when one is already queued."""
        return self._one(AlignmentJob, "alignment_jobs.create",
                         json={"source": source, "target": target, "num_anchors": int(num_anchors)})

    def get(self, job: AlignmentJob | str) -> AlignmentJob:
        """A job's status, progress, ETA and resulting matrix."""
        return self._one(AlignmentJob, "alignment_jobs.get", path={"public_id": _id(job)})

    def list(self, *, page: int | None = None, page_size: int | None = None) -> Page[AlignmentJob]:
        """One page of the jobs you requested."""
        return self._page(AlignmentJob, "alignment_jobs.list", {"page": page, "page_size": page_size})

    def wait(self, job: AlignmentJob | str, *, timeout: float = 3600.0, poll: float = 2.0) -> AlignmentJob:
        """Poll until the job succeeded (returned); AlignmentFailed if it fails, WaitTimeout after `timeout` s."""
        final = self._wait(lambda: self.get(job), lambda j: j.finished, timeout, poll, f"alignment job {_id(job)}")
        if final.status != "succeeded":
            raise errors.AlignmentFailed(f"alignment job {final.id} failed: {final.error or 'no reason given'}",
                                         job=final)
        return final


class DriftChecks(_Resource):
    """Drift checks of stored matrices (WMatrixMonitor on the service): read, request (owner or staff), act."""

    def list(self, *, matrix: WMatrixVersion | str | None = None, page: int | None = None,
             page_size: int | None = None) -> Page[DriftCheck]:
        """One page of drift checks, newest first (of one matrix when `matrix` is given)."""
        return self._page(DriftCheck, "drift_checks.list",
                          {"matrix": _id(matrix) if matrix else None, "page": page, "page_size": page_size})

    def get(self, check: DriftCheck | int) -> DriftCheck:
        """One drift check: recommendation (keep / recalibrate / retrain), reason and the monitor's full result."""
        return self._one(DriftCheck, "drift_checks.get", path={"id": check.id if isinstance(check, DriftCheck)
                                                                   else int(check)})

    def request(self, matrix: WMatrixVersion | str) -> DriftCheckQueued:
        """Queue a drift check of `matrix` (the gpu worker runs it; poll ``list(matrix=...)``)."""
        return self._one(DriftCheckQueued, "drift_checks.request", json={"matrix": _id(matrix)})

    def act(self, check: DriftCheck | int) -> DriftCheck:
        """Do what the check recommends: recalibrate (a new version) or retrain (an alignment job)."""
        return self._one(DriftCheck, "drift_checks.act", path={"id": check.id if isinstance(check, DriftCheck)
                                                                   else int(check)})


class Marketplace:
    """Client of the marketplace's REST API (timeouts, retries with backoff, typed results, one error hierarchy)."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self._transport = Transport(self.base_url, key, timeout=timeout, max_retries=max_retries, backoff=backoff,
                                    transport=transport)
        self.models = Models(self._transport)
        self.vectors = Vectors(self._transport)
        self.purchases = Purchases(self._transport)
        self.wmatrices = WMatrices(self._transport)
        self.certificates = Certificates(self._transport)
        self.alignment_jobs = AlignmentJobs(self._transport)
        self.drift_checks = DriftChecks(self._transport)

    def support_matrix(self) -> list[SupportRow]:
        """Every supported (source, target) pair with an active matrix: tier and typical retention."""
        body = self._transport.request("support_matrix").json()
        return [from_json(SupportRow, row) for row in body["results"]]

    def multihop_path(self, source: str, target: str, *, layer: int | None = None, quantization: str | None = None,
                      context_length: int | None = None) -> MultiHopPath:
        """The best path of stored matrices from `source` to `target` and its estimated retention (vs the direct)."""
        query = {"source": source, "target": target, "layer": layer, "quantization": quantization,
                 "context_length": context_length}
        return from_json(MultiHopPath, self._transport.request("multihop.path", query=query).json())

    def multihop_graph(self) -> MultiHopGraph:
        """The graph the path search runs on: one edge per active matrix, weight −log(estimated retention)."""
        return from_json(MultiHopGraph, self._transport.request("multihop.graph").json())

    def plugins(self) -> list[Plugin]:
        """The alignment plugins the server has loaded."""
        return [from_json(Plugin, p) for p in self._transport.request("plugins").json()]

    def account(self) -> Account:
        """Your AMEM balance and recent ledger entries."""
        return from_json(Account, self._transport.request("account").json())

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._transport.close()

    def __enter__(self) -> Marketplace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Marketplace(base_url={self.base_url!r})"
