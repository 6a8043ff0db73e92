"""Self-contained SVG charts (numpy only, no plotting library): a heatmap with marked cells and line charts with
shaded bands, as strings or ``data:image/svg+xml`` URIs.

The certificate page uses them, so the web process renders it without matplotlib. An SVG shown through
``<img src="data:…">`` runs no script and fetches nothing (it passes a ``img-src data:`` content security policy).
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["heatmap_svg", "line_chart_svg", "svg_data_uri"]

#: The viridis colour map at 9 evenly spaced stops (linear interpolation in between).
VIRIDIS = ((68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129),
           (92, 200, 99), (170, 220, 50), (253, 231, 37))
#: matplotlib's default colour cycle (tab10), for line series.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
FONT = 'font-family="system-ui,sans-serif" font-size="11"'


def svg_data_uri(svg: str) -> str:
    """A ``data:image/svg+xml;base64,`` URI of an SVG document."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _t(value: object) -> str:
    return html.escape(str(value), quote=True)


def _viridis(fraction: float) -> str:
    """The viridis colour of `fraction` in [0, 1] as #rrggbb."""
    position = min(max(fraction, 0.0), 1.0) * (len(VIRIDIS) - 1)
    low = min(int(position), len(VIRIDIS) - 2)
    w = position - low
    rgb = [round((1 - w) * a + w * b) for a, b in zip(VIRIDIS[low], VIRIDIS[low + 1], strict=True)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _number(value: float) -> str:
    return f"{value:.3g}"


def heatmap_svg(
    values: np.ndarray,
    row_labels: Sequence[object],
    col_labels: Sequence[object],
    *,
    title: str,
    x_label: str,
    y_label: str,
    marks: Sequence[tuple[int, int]] = (),
    mark_label: str = "",
) -> str:
    """An SVG heatmap of a 2-D array: row 0 at the bottom, viridis from its finite min to max, a colour bar, and
    a red dot on each (row index, column index) of `marks`; non-finite cells are grey.

    Raises ValueError when `values` is not a non-empty 2-D array or the labels do not match its shape.
    """
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 2 or not grid.size:
        raise ValueError(f"a heatmap needs a non-empty 2-D array, got shape {grid.shape}")
    n_rows, n_cols = grid.shape
    if len(row_labels) != n_rows or len(col_labels) != n_cols:
        raise ValueError(f"{len(row_labels)} row and {len(col_labels)} column labels for shape {grid.shape}")
    finite = grid[np.isfinite(grid)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = high - low or 1.0
    cell = max(4.0, min(22.0, 440.0 / max(n_rows, n_cols)))
    left, top = 56.0, 34.0
    width, height = n_cols * cell, n_rows * cell
    bar_x = left + width + 18
    total_w, total_h = bar_x + 60, top + height + 48

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
           f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" {FONT}>',
           '<rect width="100%" height="100%" fill="#fff"/>',
           f'<text x="{left + width / 2:.1f}" y="18" text-anchor="middle" font-size="13">{_t(title)}</text>']
    for i in range(n_rows):
        y = top + (n_rows - 1 - i) * cell
        for j in range(n_cols):
            v = grid[i, j]
            fill = _viridis((v - low) / span) if math.isfinite(v) else "#bdbdbd"
            out.append(f'<rect x="{left + j * cell:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                       f'fill="{fill}"><title>{_t(row_labels[i])} → {_t(col_labels[j])}: {_number(v)}</title></rect>')
    step_x, step_y = math.ceil(18 / cell), math.ceil(12 / cell)  # labels ~18 px apart across, 12 px up
    for j in range(0, n_cols, step_x):
        out.append(f'<text x="{left + (j + 0.5) * cell:.1f}" y="{top + height + 14:.1f}" '
                   f'text-anchor="middle">{_t(col_labels[j])}</text>')
    for i in range(0, n_rows, step_y):
        out.append(f'<text x="{left - 6:.1f}" y="{top + (n_rows - 1 - i + 0.5) * cell + 4:.1f}" '
                   f'text-anchor="end">{_t(row_labels[i])}</text>')
    out.append(f'<text x="{left + width / 2:.1f}" y="{top + height + 34:.1f}" text-anchor="middle">'
               f"{_t(x_label)}</text>")
    out.append(f'<text transform="translate(14 {top + height / 2:.1f}) rotate(-90)" text-anchor="middle">'
               f"{_t(y_label)}</text>")
    for i, j in marks:
        if not (0 <= i < n_rows and 0 <= j < n_cols):
            raise ValueError(f"mark ({i}, {j}) is outside the {n_rows}x{n_cols} grid")
        out.append(f'<circle cx="{left + (j + 0.5) * cell:.1f}" cy="{top + (n_rows - 1 - i + 0.5) * cell:.1f}" '
                   f'r="{max(2.5, cell / 3):.1f}" fill="#e00" stroke="#fff" stroke-width="1">'
                   f"<title>{_t(mark_label)}</title></circle>")
    stops = "".join(f'<stop offset="{k / (len(VIRIDIS) - 1):.3f}" stop-color="{_viridis(k / (len(VIRIDIS) - 1))}"/>'
                    for k in range(len(VIRIDIS)))
    out.append(f'<defs><linearGradient id="bar" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient></defs>')
    out.append(f'<rect x="{bar_x:.1f}" y="{top:.1f}" width="12" height="{height:.1f}" fill="url(#bar)"/>')
    out.append(f'<text x="{bar_x + 16:.1f}" y="{top + 9:.1f}">{_number(high)}</text>')
    out.append(f'<text x="{bar_x + 16:.1f}" y="{top + height:.1f}">{_number(low)}</text>')
    out.append("</svg>")
    return "".join(out)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + k * step for k in range(int((high - first) / step + 1e-9) + 1)]


def line_chart_svg(
    series: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
) -> str:
    """An SVG line chart: one line with dots per series ``{"x": [...], "y": [...], optional "low"/"high"}``, the
    band between low and high shaded in the line's colour, a grey line at y = 0, and a legend.

    Raises ValueError when no series has matching, non-empty, finite x and y.
    """
    drawn: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]] = []
    for name, curve in series.items():
        x = np.asarray(curve.get("x", ()), dtype=np.float64)
        y = np.asarray(curve.get("y", ()), dtype=np.float64)
        if x.size == 0 or x.shape != y.shape or not (np.isfinite(x).all() and np.isfinite(y).all()):
            continue
        lo, hi = curve.get("low"), curve.get("high")
        band = None
        if lo is not None and hi is not None:
            lo_a, hi_a = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
            if lo_a.shape == x.shape and hi_a.shape == x.shape and np.isfinite(lo_a).all() and np.isfinite(hi_a).all():
                band = (lo_a, hi_a)
        drawn.append((str(name), x, y, *(band or (None, None))))
    if not drawn:
        raise ValueError("no series has matching, non-empty, finite x and y")
    xs = np.concatenate([d[1] for d in drawn])
    ys = np.concatenate([np.zeros(1)] + [part for d in drawn for part in d[2:] if part is not None])
    x_lo, x_hi = float(xs.min()), float(xs.max())
    y_lo, y_hi = float(ys.min()), float(ys.max())
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    pad = 0.05 * ((y_hi - y_lo) or 1.0)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    left, top, width, height = 58.0, 30.0, 440.0, 240.0

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * width

    def py(v: float) -> float:
        return top + (y_hi - v) / (y_hi - y_lo) * height

    total_w, total_h = left + width + 16, top + height + 44
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
           f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" {FONT}>',
           '<rect width="100%" height="100%" fill="#fff"/>',
           f'<text x="{left + width / 2:.1f}" y="16" text-anchor="middle" font-size="13">{_t(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#999"/>']
    for v in _ticks(x_lo, x_hi):
        out.append(f'<text x="{px(v):.1f}" y="{top + height + 14:.1f}" text-anchor="middle">{_number(v)}</text>')
    for v in _ticks(y_lo, y_hi):
        out.append(f'<line x1="{left}" x2="{left + width}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>'
                   f'<text x="{left - 5:.1f}" y="{py(v) + 4:.1f}" text-anchor="end">{_number(v)}</text>')
    out.append(f'<line x1="{left}" x2="{left + width}" y1="{py(0.0):.1f}" y2="{py(0.0):.1f}" stroke="#999" '
               'stroke-width="0.6"/>')
    out.append(f'<text x="{left + width / 2:.1f}" y="{top + height + 34:.1f}" text-anchor="middle">'
               f"{_t(x_label)}</text>")
    out.append(f'<text transform="translate(14 {top + height / 2:.1f}) rotate(-90)" text-anchor="middle">'
               f"{_t(y_label)}</text>")
    for k, (name, x, y, lo, hi) in enumerate(drawn):
        color = PALETTE[k % len(PALETTE)]
        if lo is not None and hi is not None:
            ring = [(px(a), py(b)) for a, b in zip(x, hi, strict=True)]
            ring += [(px(a), py(b)) for a, b in zip(x[::-1], lo[::-1], strict=True)]
            points = " ".join(f"{a:.1f},{b:.1f}" for a, b in ring)
            out.append(f'<polygon points="{points}" fill="{color}" fill-opacity="0.18"/>')
        line = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, y, strict=True))
        out.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.6"/>')
        out.extend(f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="2.6" fill="{color}"/>'
                   for a, b in zip(x, y, strict=True))
        ly = top + 14 + 15 * k
        out.append(f'<line x1="{left + 10}" x2="{left + 28}" y1="{ly - 4:.1f}" y2="{ly - 4:.1f}" stroke="{color}" '
                   f'stroke-width="2"/><text x="{left + 32}" y="{ly:.1f}">{_t(name)}</text>')
    out.append("</svg>")
    return "".join(out)
