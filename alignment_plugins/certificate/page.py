"""The certificate as a self-contained HTML page: inline CSS, SVG plots (``charts``, numpy only) as data URIs."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alignment_plugins import charts
from alignment_plugins.certificate.payload import finite_number, metric_intervals
from alignment_plugins.certificate.signing import ALGORITHM, verify

TIER_COLORS = {1: "#1b7f3b", 2: "#7cb342", 3: "#f9a825", 4: "#e53935"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:62em;color:#1d1d1f;
padding:0 1em;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.tier{display:inline-block;color:#fff;font-weight:700;padding:.3em .8em;border-radius:.4em;font-size:1.2em}
.ok{color:#1b7f3b;font-weight:700}.bad{color:#c62828;font-weight:700}.unk{color:#8d6e00;font-weight:700}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.88em;word-break:break-all}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}.muted{color:#666;font-size:.88em}
pre{background:#f5f5f7;padding:.8em;overflow:auto;font-size:.8em}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    number = finite_number(value)
    if number is None:
        return "—" if value is None else _e(value)
    return f"{number:.{digits}f}"


def _interval_text(low: Any, high: Any) -> str:
    if finite_number(low) is None or finite_number(high) is None:
        return "—"
    return f"[{_fmt(low)}, {_fmt(high)}]"


def _cka_plot(cka: Any, cka_layers: Mapping[str, Any] | None, title: str, best_pair: Any) -> str:
    """A data URI of the CKA heatmap (SVG, ``alignment_plugins.charts``) with the certified pair as a red dot."""
    sim = np.asarray(cka, dtype=np.float64)
    if sim.ndim != 2 or not sim.size:
        raise ValueError(f"the CKA matrix must be 2-D, got shape {sim.shape}")
    layers = cka_layers or {}
    source_layers = [int(v) for v in layers.get("source") or range(sim.shape[0])]
    target_layers = [int(v) for v in layers.get("target") or range(sim.shape[1])]
    marks: list[tuple[int, int]] = []
    if best_pair and int(best_pair[0]) in source_layers and int(best_pair[1]) in target_layers:
        marks = [(source_layers.index(int(best_pair[0])), target_layers.index(int(best_pair[1])))]
    svg = charts.heatmap_svg(sim, source_layers, target_layers, title=title, x_label="target layer",
                             y_label="source layer", marks=marks, mark_label="certified (recommended) pair")
    return charts.svg_data_uri(svg)


def _dose_plot(capability: str, arms: Mapping[str, Any]) -> str:
    """A data URI of one capability's dose-response curves (SVG): effect vs coefficient per arm, 95% band shaded."""
    series: dict[str, dict[str, list[float | None]]] = {}
    for arm, curve in sorted(arms.items()):
        if not isinstance(curve, Mapping):
            continue
        low, high = curve.get("ci_low"), curve.get("ci_high")
        bands = isinstance(low, Sequence) and isinstance(high, Sequence)
        series[str(arm)] = {
            "x": [finite_number(v) for v in curve.get("coefficients") or []],
            "y": [finite_number(v) for v in curve.get("effect") or []],
            **({"low": [finite_number(v) for v in low], "high": [finite_number(v) for v in high]} if bands else {}),
        }
    try:
        svg = charts.line_chart_svg(series, title=f"dose response: {capability}", x_label="steering coefficient",
                                    y_label="effect")
    except ValueError:
        raise ValueError("no arm has matching coefficients and effect lists") from None
    return charts.svg_data_uri(svg)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        out: list[tuple[str, Any]] = []
        for k in sorted(value, key=str):
            out.extend(_flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, value)]


def render_html(
    doc: Mapping[str, Any],
    cka: Any = None,
    cka_layers: Mapping[str, Any] | None = None,
    dose_response: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    key: str | bytes | None = None,
    verified: bool | None = None,
) -> str:
    """A self-contained HTML page of a certificate document (inline CSS, SVG plots as base64 data URIs).

    Shows the tier, every metric with its interval, the measured retention and stitching sections when present,
    fingerprints, anchor hash, the signature block and whether it verified (`verified` when given, else checked
    with `key` when given, else "not checked"). `cka` (+ `cka_layers` {"source": [...], "target": [...]}) adds
    the CKA heatmap; `dose_response` {capability: {arm: {"coefficients", "effect", "ci_low", "ci_high"}}} adds
    one dose-response plot per capability. Every string from the document is HTML-escaped; a plot that cannot
    be drawn is replaced by a note.
    """
    payload = doc.get("payload") if isinstance(doc.get("payload"), Mapping) else {}
    if verified is None and key is not None:
        verified = verify(doc, key)
    if verified is True:
        status = '<span class="ok">signature verified</span>'
    elif verified is False:
        status = '<span class="bad">signature INVALID</span>'
    else:
        status = '<span class="unk">signature not checked (no key given)</span>'
    tier = payload.get("tier")
    color = TIER_COLORS.get(tier, "#757575") if isinstance(tier, int) else "#757575"
    source, target = payload.get("source") or {}, payload.get("target") or {}
    matrix = payload.get("matrix") or {}
    title = f"W-Matrix certificate {payload.get('certificate_id', '')}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(source.get('name'))} &rarr; {_e(target.get('name'))}</h1>",
        f'<p><span class="tier" style="background:{color}">Tier {_e(tier)}</span> &nbsp; {status}</p>',
        f'<p class="muted">Certificate <code>{_e(payload.get("certificate_id"))}</code> · format '
        f'{_e(payload.get("format"))} · issued {_e(payload.get("issued_at"))} · alignment_plugins '
        f'{_e(payload.get("library_version"))}</p>',
    ]
    bands = (payload.get("tier_bands") or {}).get("reconstruction_error_upper_bounds") or []
    if bands:
        text = ", ".join(f"tier {i} ≤ {_fmt(b, 3)}" for i, b in enumerate(bands, start=1))
        parts.append(f'<p class="muted">Tier from the held-out reconstruction error: {_e(text)}; above: '
                     f"tier {len(bands) + 1}.</p>")

    info = [("source model", source.get("name")), ("source weight fingerprint", source.get("fingerprint")),
            ("target model", target.get("name")), ("target weight fingerprint", target.get("fingerprint")),
            ("recommended layer pair for vectors (source → target; the metrics and tier below)",
             " → ".join(str(i) for i in payload.get("recommended_pair") or payload.get("best_pair") or [])),
            ("best retrieval layer pair (source → target)",
             " → ".join(str(i) for i in payload.get("best_pair") or [])),
            ("anchor-set hash", payload.get("anchor_set_hash"))]
    info += [(f"matrix {k}", v) for k, v in sorted(matrix.items())]
    parts.append("<h2>Identity</h2>")
    parts.append(_table(["field", "value"], [[_e(k), f'<span class="mono">{_e(v)}</span>'] for k, v in info],
                        numeric_from=99))

    metrics = payload.get("metrics") or {}
    intervals = payload.get("intervals") or metric_intervals(metrics)
    rows = []
    for name in sorted(intervals):
        iv = intervals[name] or {}
        rows.append([_e(name), _fmt(metrics.get(name)), _interval_text(iv.get("ci_low"), iv.get("ci_high")),
                     _e(iv.get("method"))])
    parts.append("<h2>Held-out metrics (recommended layer pair, test split)</h2>")
    parts.append(_table(["metric", "value", "95% interval", "interval"], rows) if rows else
                 "<p>No metrics recorded.</p>")
    embedding = payload.get("embedding")
    if isinstance(embedding, Mapping):
        emb, emb_iv = embedding.get("metrics") or {}, embedding.get("intervals") or {}
        emb_rows = [[_e(name), _fmt(emb.get(name)), _interval_text((emb_iv.get(name) or {}).get("ci_low"),
                                                                   (emb_iv.get(name) or {}).get("ci_high"))]
                    for name in sorted(emb_iv)]
        pair = " → ".join(str(i) for i in embedding.get("pair") or [])
        parts.append(f"<h2>Embedding migration (last layers {_e(pair)}, test split)</h2>")
        parts.append(_table(["metric", "value", "95% interval"], emb_rows) if emb_rows else "<p>—</p>")
    if finite_number(metrics.get("n")) is not None:
        parts.append(f'<p class="muted">n = {_e(int(metrics["n"]))} test anchors.</p>')

    retention = payload.get("retention")
    if isinstance(retention, Mapping):
        median = retention.get("median") or {}
        ci = median.get("ci") or [None, None]
        parts.append("<h2>Measured steering-effect retention</h2>")
        parts.append(
            f"<p>Median retention <strong>{_fmt(median.get('retention'), 3)}</strong> "
            f"(95% CI {_interval_text(*ci[:2])}); random-direction control {_fmt(median.get('random_control'), 3)}, "
            f"shuffled-map control {_fmt(median.get('shuffled_control'), 3)}, cosine(native, transferred) "
            f"{_fmt(median.get('cosine'), 3)}. Measured {_e(retention.get('measured_at'))} at source layer "
            f"{_e(retention.get('source_layer'))} → target layer {_e(retention.get('target_layer'))} "
            f"({_e(retention.get('method'))}), anchors <code>{_e(retention.get('anchor_set_hash'))}</code>.</p>")
        cap_rows = []
        for name, row in sorted((retention.get("capabilities") or {}).items()):
            row = row if isinstance(row, Mapping) else {}
            rci = row.get("ci") if isinstance(row.get("ci"), list) and len(row.get("ci")) == 2 else [None, None]
            cap_rows.append([
                _e(name), _fmt(row.get("retention"), 3), _interval_text(*rci),
                _fmt(row.get("retention_matched_norm"), 3),
                _fmt(row.get("random_control"), 3), _fmt(row.get("shuffled_control"), 3),
                _fmt(row.get("anti_steerable_fraction"), 3), _fmt(row.get("cosine"), 3),
                _fmt(row.get("best_coefficient"), 2), _e(row.get("n_prompts", "—")),
            ])
        if cap_rows:
            parts.append(_table(["capability", "retention", "95% CI", "matched norm", "random ctrl",
                                 "shuffled ctrl", "anti-steerable", "cosine", "best coef.", "prompts"], cap_rows))

    stitching = payload.get("stitching")
    if isinstance(stitching, Mapping):
        parts.append("<h2>Stitching metrics</h2>")
        flat = _flatten(stitching)
        parts.append(_table(["metric", "value"], [[_e(k), _fmt(v)] for k, v in flat]) if flat else "<p>—</p>")

    plots: list[str] = []
    if cka is not None:
        try:
            uri = _cka_plot(cka, cka_layers, f"linear CKA: {source.get('name')} vs {target.get('name')}",
                            payload.get("recommended_pair") or payload.get("best_pair"))
            plots.append(f'<figure><img alt="CKA heatmap" src="{uri}"><figcaption class="muted">Layer '
                         "similarity (linear CKA, standardized); red dot: the certified (recommended) pair."
                         "</figcaption></figure>")
        except Exception as exc:  # a bad matrix must not hide the certificate
            plots.append(f'<p class="muted">CKA heatmap unavailable: {_e(exc)}</p>')
    for capability, arms in sorted((dose_response or {}).items()):
        try:
            if not isinstance(arms, Mapping):
                raise ValueError("expected {arm: curve}")
            uri = _dose_plot(str(capability), arms)
            plots.append(f'<figure><img alt="dose response {_e(capability)}" src="{uri}"></figure>')
        except Exception as exc:
            plots.append(f'<p class="muted">Dose-response plot of {_e(capability)} unavailable: {_e(exc)}</p>')
    if plots:
        parts.append("<h2>Plots</h2>")
        parts.extend(plots)

    parts.append("<h2>Signature</h2>")
    parts.append(_table(["field", "value"], [
        ["algorithm", _e(doc.get("algorithm", ALGORITHM))],
        ["key id", f'<span class="mono">{_e(doc.get("key_id"))}</span>'],
        ["signature", f'<span class="mono">{_e(doc.get("signature"))}</span>'],
        ["status", status],
    ], numeric_from=99))
    parts.append('<p class="muted">Check it yourself: save the document below as cert.json and run '
                 "<code>python -m alignment_plugins verify-certificate cert.json --key-file KEY</code>.</p>")
    signed = {k: doc.get(k) for k in ("payload", "algorithm", "key_id", "signature") if k in doc}
    text = json.dumps(signed, indent=2, default=str)
    parts.append(f"<details><summary>Signed document (JSON)</summary><pre>{_e(text)}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
