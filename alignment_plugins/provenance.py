"""Loading back the models a .wmatrix was fit on: by the origin it records, or by an override checked against the
recorded weight fingerprint.

A matrix records, per side, the model's name, weight fingerprint and origin (``{"kind": "catalogue" | "path" |
"gguf" | "hub" | "endpoint", "location": ...}``). Evaluation, the drift monitor and the marketplace find the model
there; when it moved (another directory, another endpoint), an override (``--source-model`` / ``--target-model``:
a name, a path, a hub id or an ``http(s)://`` endpoint) is used instead and must have the recorded fingerprint
unless changed weights are allowed explicitly (the monitor allows them: measuring the change is its job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alignment_plugins.types import LoadedModel

__all__ = ["FingerprintMismatch", "HiddenSizeChanged", "ModelCheck", "load_recorded_model"]


class FingerprintMismatch(ValueError):
    """An override names a model whose weights are not the ones the matrix was fit on."""


class HiddenSizeChanged(ValueError):
    """The model found has another hidden size than the matrix maps: the matrix cannot be applied to it."""


@dataclass(frozen=True)
class ModelCheck:
    """One side's recorded and current weight fingerprints (empty when unknown) and whether they differ."""

    side: str
    recorded: str
    current: str
    location: str

    @property
    def changed(self) -> bool | None:
        """True when both fingerprints are known and differ, None when either is unknown."""
        if not self.recorded or not self.current:
            return None
        return self.recorded != self.current

    def to_dict(self) -> dict[str, Any]:
        """JSON form: side, recorded, current, changed, location."""
        return {"side": self.side, "recorded": self.recorded, "current": self.current, "changed": self.changed,
                "location": self.location}


def _where(side: dict[str, Any], override: str | None) -> tuple[str, str | None, str]:
    """(name or path to load, endpoint URL or None, a description of where) for one recorded side."""
    if override:
        if override.startswith(("http://", "https://")):
            return str(side.get("name") or "model"), override, f"endpoint {override} (override)"
        return override, None, f"{override} (override)"
    origin = side.get("origin") or {}
    kind, location = origin.get("kind"), origin.get("location")
    if kind == "endpoint" and location:
        return str(side.get("name") or "model"), str(location), f"endpoint {location}"
    if kind in ("path", "gguf", "hub") and location:
        return str(location), None, f"{kind} {location}"
    return str(side.get("name", "")), None, f"name {side.get('name')!r}"


def load_recorded_model(
    side: dict[str, Any], override: str | None = None, *, role: str, dtype: str = "float32", device: str = "cpu",
    auth_token: str | None = None, allow_changed_weights: bool = False,
) -> tuple[LoadedModel, ModelCheck]:
    """Load the `role` ("source"/"target") model of a matrix's metadata `side` (or `override`); return it with the
    fingerprint comparison. Refused: a model that cannot be found (UnknownModelError saying what to pass), another
    hidden size (ValueError), an override with other weights unless `allow_changed_weights` (FingerprintMismatch)."""
    from alignment_plugins.models import UnknownModelError, load_model

    target, endpoint, where = _where(side, override)
    try:
        loaded = load_model(target, dtype=dtype, device=device, endpoint=endpoint, auth_token=auth_token)
    except UnknownModelError as exc:
        raise UnknownModelError(f"the matrix's {role} model {side.get('name')!r} (found at {where} when it was "
                                f"trained) cannot be loaded: {exc}; pass --{role}-model NAME|PATH|URL to say where "
                                "it is now") from None
    size = int(side.get("hidden_size") or 0)
    if size and loaded.info.hidden_size != size:
        raise HiddenSizeChanged(f"the {role} model at {where} has hidden size {loaded.info.hidden_size}; the matrix "
                                f"maps {size}: not the model it was fit on")
    check = ModelCheck(side=role, recorded=str(side.get("fingerprint") or ""), current=loaded.fingerprint,
                       location=where)
    if override and check.changed and not allow_changed_weights:
        raise FingerprintMismatch(f"--{role}-model {override}: its weights ({check.current}) are not the ones the "
                                  f"matrix was fit on ({check.recorded}); allow changed weights to measure it anyway")
    return loaded, check
