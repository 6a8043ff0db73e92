"""On-demand alignment of a model given by path or endpoint: where it is, what it is, and an ETA at request time.

A job may name a model the marketplace does not know by a path on the gpu worker's filesystem (under one of
``ALIGNMENT_MODEL_ROOTS``) or by a model endpoint (a URL starting with one of ``ALIGNMENT_ENDPOINT_ALLOW``; the
token, if any, is the processes' ``ALIGNMENT_ENDPOINT_TOKEN``). The model is registered (PARTIAL) from its own
description: config.json for a path (read as JSON, no torch), ``GET /v1/model`` for an endpoint. The ETA is the
texts a training run reads on each model (``alignment_plugins.throughput``) over each model's extraction
throughput: measured by a short probe for an endpoint, the last throughput a job measured on the gpu worker for a
registered or path model; the typical retention is the median measured retention of the model's family.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q

from alignment_plugins.certificate import json_safe
from alignment_plugins.throughput import PROBE_TEXTS, eta_seconds, probe_throughput, training_workload
from marketplace.alignment import jobs
from marketplace.alignment.architectures import get_architecture
from marketplace.alignment.models import AlignmentJob, MeasuredRetention
from marketplace.alignment.quota import check_alignment_quota
from marketplace.catalog.models import Architecture
from marketplace.errors import ValidationFailed

log = logging.getLogger(__name__)

SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,120}$")


def locate_model(*, name: str, path: str | None = None, endpoint: str | None = None
                 ) -> tuple[Architecture, dict[str, Any]]:
    """The Architecture for `name` and where the job finds it ({} = by name; {"kind", "location"} otherwise)."""
    if path and endpoint:
        raise ValidationFailed(f"{name}: give a path or an endpoint, not both")
    if not path and not endpoint:
        return get_architecture(name), {}
    if not SLUG.match(name or ""):
        raise ValidationFailed(f"model name {name!r} must be 1-120 letters, digits, '-' or '_'")
    info, location = _endpoint_info(endpoint) if endpoint else _path_info(path or "")
    row = Architecture.objects.filter(name=name).first()
    if row is not None and row.hidden_size and row.hidden_size != info["hidden_size"]:
        raise ValidationFailed(f"{name} is registered with hidden size {row.hidden_size}; the model at "
                               f"{location['location']} has {info['hidden_size']}")
    fields = {"family": str(info.get("family") or "unknown")[:40], "kind": str(info.get("kind") or "")[:20],
              "hidden_size": int(info["hidden_size"]), "num_layers": int(info["num_layers"]),
              "weight_fingerprint": str(info.get("fingerprint") or "")[:80]}
    if row is None:
        row = Architecture.objects.create(name=name, support_level=Architecture.Support.PARTIAL,
                                          description=f"given by {location['kind']} for an alignment job",
                                          metadata=json_safe({"origin": location}), **fields)
    return row, location


def _path_info(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    roots = [Path(r).resolve() for r in settings.ALIGNMENT_MODEL_ROOTS]
    folder = Path(path).resolve()
    if not any(folder == root or root in folder.parents for root in roots):
        raise ValidationFailed(f"{path} is not under a directory alignment jobs may read (ALIGNMENT_MODEL_ROOTS)")
    config = folder / "config.json"
    if not config.is_file():
        raise ValidationFailed(f"{path} is not a model directory (no config.json)")
    try:
        body = json.loads(config.read_text())
        text = body.get("text_config") or body
        info = {"hidden_size": int(text.get("hidden_size") or text["n_embd"]),
                "num_layers": int(text.get("num_hidden_layers") or text["n_layer"]),
                "family": str(text.get("model_type") or body.get("model_type") or "unknown"),
                "kind": "encoder" if not any(a.endswith("ForCausalLM") for a in body.get("architectures") or [])
                else "causal", "parameters": _parameter_count(folder)}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(f"{path}/config.json has no hidden size and layer count: {exc}") from None
    return info, {"kind": "path", "location": str(folder)}


def _parameter_count(folder: Path) -> int:
    """Parameters of a model directory from its safetensors headers (JSON; no tensor is read)."""
    from alignment_plugins.formats import safetensors_header

    total = 0
    for file in sorted(folder.glob("*.safetensors")):
        with open(file, "rb") as handle:
            head = handle.read(8)
            length = int.from_bytes(head, "little")
            header = safetensors_header(head + handle.read(length), label="weights file", origin=str(file))
        for key, entry in header.items():
            if key != "__metadata__":
                count = 1
                for dim in entry.get("shape", []):
                    count *= int(dim)
                total += count
    return total


def _endpoint_info(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from alignment_plugins.endpoint import EndpointError
    from alignment_plugins.endpoint.client import EndpointClient, EndpointConfig

    if not any(url.startswith(prefix) for prefix in settings.ALIGNMENT_ENDPOINT_ALLOW):
        raise ValidationFailed(f"{url} is not an endpoint alignment jobs may use (ALIGNMENT_ENDPOINT_ALLOW)")
    try:
        description = EndpointClient(EndpointConfig(url, timeout=10.0, retries=1, backoff=0.2)).description()
    except (EndpointError, ValueError) as exc:
        raise ValidationFailed(f"the model endpoint cannot be used: {exc}") from None
    return {**description["info"], "fingerprint": description["fingerprint"]}, {"kind": "endpoint", "location": url}


def measured_throughput(arch: Architecture) -> float | None:
    """The last extraction throughput (texts/s) a finished job measured for `arch` on the gpu worker, or None."""
    for estimate in AlignmentJob.objects.filter(status=AlignmentJob.Status.SUCCEEDED).filter(
            Q(source=arch) | Q(target=arch)).order_by("-finished_at").values_list("estimate", flat=True)[:20]:
        value = (estimate or {}).get("measured", {}).get(arch.name)
        if value:
            return float(value)
    return None


def family_retention(family: str) -> dict[str, Any]:
    """Median measured retention (pair medians) of pairs with a model of `family` on either side, with their count."""
    rows = MeasuredRetention.objects.filter(capability=MeasuredRetention.PAIR_MEDIAN, retention__isnull=False).filter(
        Q(source__family=family) | Q(target__family=family))
    values = [float(v) for v in rows.values_list("retention", flat=True)]
    return {"family": family, "pairs": len(values),
            "typical_retention": statistics.median(values) if values else None,
            "basis": "median measured retention of the family's pairs" if values else "no measurement for this family"}


def request_estimate(sides: dict[str, tuple[Architecture, dict[str, Any]]], num_anchors: int) -> dict[str, Any]:
    """The ETA at request time (see the module docstring) for {"source"/"target": (architecture, location)}."""
    from alignment_plugins.anchors import load_builtin

    workload = training_workload(num_anchors)
    throughput: dict[str, dict[str, Any]] = {}
    for role, (arch, location) in sides.items():
        if location.get("kind") == "endpoint":
            probe = _endpoint_probe(location["location"], arch, load_builtin().sample(PROBE_TEXTS, seed=0).texts)
            throughput[role] = {"model": arch.name, "basis": "probe", **probe}
        else:
            rate = measured_throughput(arch)
            throughput[role] = {"model": arch.name, "texts_per_second": rate,
                                "basis": "measured by an earlier job" if rate else "unknown until the job starts"}
    rates = [t["texts_per_second"] for t in throughput.values()]
    eta = eta_seconds(workload, rates) if all(rates) else None
    new = [arch for arch, location in sides.values() if location] or [arch for arch, _ in sides.values()]
    return json_safe({"eta_seconds": eta, "num_anchors": num_anchors, "workload_texts_per_model": workload,
                      "throughput": throughput, "retention": family_retention(new[0].family),
                      "formula": "eta = Σ over both models of workload texts / measured texts per second"})


def _endpoint_probe(url: str, arch: Architecture, texts: list[str]) -> dict[str, float]:
    from alignment_plugins.endpoint import EndpointError
    from alignment_plugins.endpoint.client import EndpointClient, EndpointConfig

    client = EndpointClient(EndpointConfig(url, timeout=30.0, retries=1, backoff=0.2))
    layers = list(range(arch.num_layers + 1))
    try:
        return probe_throughput(lambda batch: client.hidden_states(batch, layers, "mean"), texts)
    except (EndpointError, ValueError) as exc:
        raise ValidationFailed(f"the throughput probe of {url} failed: {exc}") from None


def request_on_demand(*, user: Any, num_anchors: int, source: str, target: str, source_path: str | None = None,
                      source_endpoint: str | None = None, target_path: str | None = None,
                      target_endpoint: str | None = None) -> AlignmentJob:
    """Locate both models (registering one given by path or endpoint), estimate the ETA, queue the job
    (``jobs.request_alignment``: the same refusals, and the user's daily quota: ``quota.check_alignment_quota``)."""
    check_alignment_quota(user)  # before probing anything; checked again under a lock when the job is queued
    sides = {"source": locate_model(name=source, path=source_path, endpoint=source_endpoint),
             "target": locate_model(name=target, path=target_path, endpoint=target_endpoint)}
    estimate = request_estimate(sides, num_anchors) if jobs.valid_anchor_count(num_anchors) else {}
    return jobs.request_alignment(user=user, source=sides["source"][0], target=sides["target"][0],
                                  num_anchors=num_anchors, locations={k: v[1] for k, v in sides.items()},
                                  estimate=estimate, enforce_quota=True)
