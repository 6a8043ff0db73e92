"""Admin page of the multi-hop graph (``admin/multihop/``): the active matrices as a graph of models, each edge with
its estimated retention at the recommended layer pair and its search weight −log r̂, and the best path between two
models on request (staff only; numpy only)."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse

from marketplace.alignment import multihop
from marketplace.catalog.models import Architecture
from marketplace.errors import ServiceError

SIZE, RADIUS = 520, 190


def _layout(nodes: list[str]) -> dict[str, tuple[float, float]]:
    """Node positions on a circle (SVG coordinates, SIZE × SIZE)."""
    centre = SIZE / 2
    return {name: (round(centre + RADIUS * math.cos(2 * math.pi * k / max(1, len(nodes)) - math.pi / 2), 1),
                   round(centre + RADIUS * math.sin(2 * math.pi * k / max(1, len(nodes)) - math.pi / 2), 1))
            for k, name in enumerate(nodes)}


def graph_context(source: str = "", target: str = "", layer: str = "") -> dict[str, Any]:
    """Nodes with positions, edges with their line (shortened, offset for the reverse direction) and colour, and the
    best path between `source` and `target` when both are given (or the error that says why there is none)."""
    data = multihop.graph()
    where = _layout(data["nodes"])
    edges = []
    for edge in data["edges"]:
        (x1, y1), (x2, y2) = where[edge["source"]], where[edge["target"]]
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        ox, oy = -dy / length * 6, dx / length * 6  # the two directions of a pair side by side
        r = edge["estimated_retention"]
        hue = 0 if r is None else round(120 * min(max(r, 0.0), 1.0))
        edges.append({**edge, "x1": round(x1 + dx * 0.12 + ox, 1), "y1": round(y1 + dy * 0.12 + oy, 1),
                      "x2": round(x2 - dx * 0.12 + ox, 1), "y2": round(y2 - dy * 0.12 + oy, 1),
                      "color": f"hsl({hue},70%,40%)", "pct": None if r is None else f"{100 * r:.0f}%"})
    context: dict[str, Any] = {"nodes": [{"name": n, "x": where[n][0], "y": where[n][1]} for n in data["nodes"]],
                               "edges": edges, "size": SIZE, "estimator": data["estimator"],
                               "source": source, "target": target, "layer": layer,
                               "models": list(Architecture.objects.values_list("name", flat=True))}
    if source and target:
        try:
            rows = {a.name: a for a in Architecture.objects.filter(name__in=[source, target])}
            if source not in rows or target not in rows:
                raise ServiceError(f"unknown model {source if source not in rows else target!r}")
            context["path"] = multihop.find_path(rows[source], rows[target],
                                                 layer=int(layer) if layer.strip() else None)
        except (ServiceError, ValueError) as exc:
            context["path_error"] = str(exc)
    return context


def multihop_graph_view(request):
    """Admin page (staff only, wrapped by ``admin.site.admin_view`` in urls.py): the multi-hop graph."""
    query = {k: request.GET.get(k, "").strip() for k in ("source", "target", "layer")}
    context = {**admin.site.each_context(request), "title": "Multi-hop graph",
               "wmatrix_changelist": reverse("admin:alignment_wmatrix_changelist"), **graph_context(**query)}
    return TemplateResponse(request, "admin/multihop_graph.html", context)
