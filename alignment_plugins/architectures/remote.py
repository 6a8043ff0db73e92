"""Built-in adapter for models served by an endpoint (``alignment_plugins.endpoint``): a plugin like any other.

It answers ``alignment_load_model`` when given an ``EndpointConfig`` (``load_model(name, endpoint=URL)``) and the
extraction hooks for the models it loaded; the states arrive over HTTP, checked, in the same layout local adapters
return, so the trainer, the monitor and evaluation run unchanged. Steering, residual edits and forward passes with
logits need the model in-process and are not offered (those hooks answer None).
"""

from __future__ import annotations

from typing import Any

from alignment_plugins import hookimpl
from alignment_plugins.types import ArchitectureInfo, LoadedModel

ADAPTER = "remote"


class RemoteAdapter:
    """Drives a served model through an EndpointClient (no torch in this process)."""

    @hookimpl
    def alignment_load_model(self, name: str, path: str, config: Any, dtype: str, device: str) -> LoadedModel | None:
        """Connect to the endpoint of an EndpointConfig and describe its model, else None."""
        from alignment_plugins.endpoint.client import EndpointClient, EndpointConfig, RemoteTokenizer

        if not isinstance(config, EndpointConfig):
            return None
        client = EndpointClient(config)
        description = client.description()
        fields = {k: v for k, v in description["info"].items() if k in ArchitectureInfo.__dataclass_fields__}
        served = str(description.get("name") or fields.get("name") or "")
        info = ArchitectureInfo(**{**fields, "name": name, "adapter": ADAPTER, "source": config.url})
        return LoadedModel(
            name=name, info=info, model=client, tokenizer=RemoteTokenizer(client), adapter=ADAPTER,
            fingerprint=str(description["fingerprint"]), dtype=str(description.get("dtype") or dtype),
            device="remote", path=config.url,
            origin={"kind": "endpoint", "location": config.url, "served_name": served,
                    "served_origin": description.get("origin") or {}},
        )

    @hookimpl
    def alignment_extract_hidden_states(
        self, model: LoadedModel, texts: list[str], layers: list[int], pooling: str, max_length: int
    ) -> dict[int, Any] | None:
        """States of `texts` at `layers` from the endpoint, else None."""
        if model.adapter != ADAPTER:
            return None
        return model.model.hidden_states(texts, layers, pooling, max_length=max_length)

    @hookimpl
    def alignment_token_offsets(self, model: LoadedModel, texts: list[str]) -> list[list[tuple[int, int]]] | None:
        """Character offsets of each token from the endpoint's tokenizer, else None."""
        if model.adapter != ADAPTER:
            return None
        return model.model.tokenize(texts, max_length=int(model.model.description()["limits"]["max_length"]))[
            "offsets"]


plugin = RemoteAdapter()
