"""Command line: python -m alignment_plugins <models|train|evaluate|inspect|plugins> ..."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from alignment_plugins.commands import add_commands, add_model_overrides


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str))


def cmd_models(args: argparse.Namespace) -> int:
    """List known models with metadata read from their own configs."""
    from alignment_plugins.models import known_models, model_info

    rows = []
    for name, spec in sorted(known_models().items()):
        try:
            info = model_info(name).to_dict()
            info["package"] = spec.package
            info["description"] = spec.description
        except Exception as exc:  # a missing package must not hide the other models
            info = {"name": name, "family": spec.family, "kind": spec.kind, "runnable": False, "error": str(exc)}
        rows.append(info)
    if args.json:
        _print_json(rows)
        return 0
    header = f"{'name':30} {'family':8} {'kind':11} {'hidden':>6} {'layers':>6} {'heads':>5} {'kv':>3} " \
             f"{'act':16} {'pos':18} {'vocab':>7} {'norm':9} runnable"
    print(header)
    for r in rows:
        def cell(key: str, r: dict[str, Any] = r) -> str:
            value = r.get(key)
            return "-" if value in (None, 0, "") else str(value)

        print(f"{r['name']:30} {cell('family'):8} {cell('kind'):11} {cell('hidden_size'):>6} "
              f"{cell('num_layers'):>6} {cell('num_heads'):>5} {cell('num_kv_heads'):>3} {cell('activation'):16} "
              f"{cell('positional_encoding'):18} {cell('vocab_size'):>7} {cell('normalization'):9} "
              f"{'yes' if r.get('runnable') else 'no (metadata only)' if r.get('kind') == 'proprietary' else 'no'}")
    return 0


def _parse_layers(value: str) -> str | list[int]:
    if value == "all":
        return "all"
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--layers must be 'all' or comma-separated integers, got {value!r}") from exc


def _parse_regularization(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--regularization must be a number or 'auto', got {value!r}") from exc


def _parse_weight(value: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        weight = float("nan")
    if not (weight >= 0 and math.isfinite(weight)):
        raise argparse.ArgumentTypeError(f"--contrastive-weight must be a finite number >= 0, got {value!r}")
    return weight


def _number(value: Any, digits: int = 4) -> str:
    """A metric or timing for display with `digits` decimals, or "n/a" when the file records none (null, text)."""
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def _summary(report: dict[str, Any]) -> str:
    best, recommended = report["best"], report["recommended"]
    anchors = report.get("anchors") if isinstance(report.get("anchors"), dict) else {}
    counts = anchors.get("counts") if isinstance(anchors.get("counts"), dict) else {}
    anchor_hash = str(anchors.get("hash") or "unknown")
    lines = [
        f"W-Matrix {report['source']['name']} ({report['source']['hidden_size']}d) -> "
        f"{report['target']['name']} ({report['target']['hidden_size']}d), method={report['method']}",
        f"anchors: {counts.get('train', '?')} train / {counts.get('validation', '?')} validation / "
        f"{counts.get('test', '?')} test (set {anchor_hash[:19]}…)",
        f"recommended layer pair: source {recommended['pair'][0]} -> target {recommended['pair'][1]} (concept "
        f"transfer on validation concepts); best retrieval pair {best['pair'][0]} -> {best['pair'][1]}",
        "held-out test metrics at the recommended pair (standardized spaces):",
    ]
    for key in ("accuracy", "csls_accuracy", "semantic_preservation", "reconstruction_error", "r2", "cka"):
        if key in recommended:
            lines.append(f"  {key:22} {_number(recommended[key])}")
    training = report.get("training") if isinstance(report.get("training"), dict) else {}
    timings = training.get("timings_s") if isinstance(training.get("timings_s"), dict) else {}
    if timings:
        lines.append("timings: " + ", ".join(f"{k} {_number(v, 1)}s" for k, v in timings.items()))
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a W-Matrix and write it (and a JSON report with a CKA heatmap)."""
    from alignment_plugins.layers import plot_cka_heatmap
    from alignment_plugins.trainer import WMatrixTrainer, split_fractions

    with warnings.catch_warnings():  # --validation-split alone is documented below: the held-out fraction
        warnings.simplefilter("ignore", DeprecationWarning)
        validation_split, test_split = split_fractions(args.validation_split, args.test_split)

    trainer = WMatrixTrainer(args.source, args.target, anchors=args.anchors_file, dtype=args.dtype,
                             progress=not args.quiet, seed=args.seed)
    trainer.configure(num_anchors=args.num_anchors, anchor_domains=args.domains, layers=args.layers,
                      optimization=args.optimization, regularization=args.regularization,
                      **({"pairing": args.pairing} if args.pairing else {}),
                      **({"contrastive_weight": args.contrastive_weight} if args.contrastive_weight is not None
                         else {}))
    wmatrix = trainer.train(epochs=args.epochs, validation_split=validation_split, test_split=test_split,
                            early_stopping_patience=args.patience)
    out = wmatrix.save(args.out)
    report = wmatrix.report()
    report["file"] = str(out)
    if args.report:
        report_path = Path(args.report)
        heatmap = report_path.with_suffix(".cka.png")
        plot_cka_heatmap(wmatrix.cka, wmatrix.cka_layers["source"], wmatrix.cka_layers["target"], heatmap,
                         title=f"linear CKA (standardized): {wmatrix.source['name']} vs {wmatrix.target['name']}",
                         layer_map=wmatrix.layer_map)
        report["cka_heatmap"] = str(heatmap)
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2, default=str))
    print(_summary(report))
    print(f"wrote {out}" + (f" and {args.report}" if args.report else ""))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a saved W-Matrix on anchors it never saw (the outsider's check)."""
    from alignment_plugins.evaluation import evaluate_file

    report = evaluate_file(args.wmatrix, args.anchors_file, dtype=args.dtype, progress=not args.quiet,
                           source_model=args.source_model, target_model=args.target_model,
                           allow_changed_weights=args.allow_changed_weights)
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, default=str))
    best = report["pairs"][report["recommended_pair_key"]]
    print(f"{report['source']} -> {report['target']} on {report['anchors']['count']} anchors "
          f"(same set as training: {report['anchors']['same_set_as_training']}); recommended pair "
          f"{report['recommended_pair_key']} (best retrieval pair {report['best_pair_key']})")
    for key, value in best.items():
        print(f"  {key:22} {value:.4f}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """Print a .wmatrix file's metadata (validated)."""
    from alignment_plugins.wmatrix import WMatrix

    wmatrix = WMatrix.load(args.wmatrix)
    report = wmatrix.report()
    if args.json:
        _print_json(report)
    else:
        print(_summary(report))
        print(f"layer map: {', '.join(f'{i}->{j}' for i, j in wmatrix.layer_map)}")
        print(f"created {wmatrix.created_at} with alignment_plugins {wmatrix.library_version}")
        print(f"source fingerprint {wmatrix.source.get('fingerprint')}")
        print(f"target fingerprint {wmatrix.target.get('fingerprint')}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """List registered plugins (built-ins and allowed entry points) and their hooks."""
    from alignment_plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    _print_json([info.__dict__ for info in manager.plugin_infos()])
    return 0


def cmd_export_vector(args: argparse.Namespace) -> int:
    """Export a vector package as a llama.cpp control-vector GGUF (package layer L -> direction.{L-1})."""
    from alignment_plugins.vector_package import VectorPackage, export_control_vector

    package = VectorPackage.load(args.package)
    out = export_control_vector(package, args.gguf, model_hint=args.model_hint, coefficient=args.coefficient)
    print(f"wrote {out}: {len(package.layers)} direction(s) for {package.metadata['source_model']} "
          f"(package layers {package.layers} -> direction.{[layer - 1 for layer in package.layers]}), "
          f"coefficient {args.coefficient}")
    return 0


def cmd_inspect_vector(args: argparse.Namespace) -> int:
    """Print a vector package's metadata and per-layer norms as JSON (validated)."""
    from alignment_plugins.vector_package import VectorPackage

    _print_json(VectorPackage.load(args.package).to_dict())
    return 0


def _certificate_key(args: argparse.Namespace) -> bytes:
    from alignment_plugins.certificate import load_key

    try:
        return load_key(args.key_file)
    except OSError as exc:
        raise ValueError(f"cannot read the key file: {exc}") from None


def cmd_verify_certificate(args: argparse.Namespace) -> int:
    """Check a certificate document's signature: prints "valid" (exit 0) or "INVALID: reason" (exit 1)."""
    from alignment_plugins.certificate import CertificateError, verify_detail
    from alignment_plugins.formats import strict_json

    try:
        text = Path(args.certificate).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CertificateError(f"cannot read {args.certificate}: {exc}") from None
    doc = strict_json(text, error=CertificateError, what=str(args.certificate))
    ok, reason = verify_detail(doc, _certificate_key(args))  # CertificateError (exit 2) if not a document
    print("valid" if ok else f"INVALID: {reason}")
    return 0 if ok else 1


def cmd_certify(args: argparse.Namespace) -> int:
    """Issue a signed certificate from a .wmatrix file's recorded metrics (and optional retention/stitching)."""
    import hashlib

    from alignment_plugins.certificate import CertificateError, certify_wmatrix, load_support_matrix, render_html
    from alignment_plugins.wmatrix import WMatrix

    key = _certificate_key(args)
    wmatrix = WMatrix.load(args.wmatrix)
    support = load_support_matrix(args.retention) if args.retention else None
    stitching = None
    if args.stitching:
        try:
            stitching = json.loads(Path(args.stitching).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CertificateError(f"cannot read stitching metrics from {args.stitching}: {exc}") from None
        if not isinstance(stitching, dict):
            raise CertificateError(f"{args.stitching}: stitching metrics must be a JSON object")
    digest = hashlib.sha256(Path(args.wmatrix).read_bytes()).hexdigest()
    doc = certify_wmatrix(wmatrix, key, file_sha256=digest, file_name=Path(args.wmatrix).name,
                          tier_bands=args.bands, support_matrix=support, stitching=stitching)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    written = [str(out)]
    if args.html:
        page = render_html(doc, cka=wmatrix.cka, cka_layers=wmatrix.cka_layers, key=key)
        Path(args.html).parent.mkdir(parents=True, exist_ok=True)
        Path(args.html).write_text(page, encoding="utf-8")
        written.append(str(args.html))
    payload = doc["payload"]
    print(f"certificate {payload['certificate_id']}: {payload['source']['name']} -> {payload['target']['name']}, "
          f"tier {payload['tier']}{', with measured retention' if 'retention' in payload else ''}"
          f"{', with stitching metrics' if 'stitching' in payload else ''}; key {doc['key_id']}")
    print("wrote " + " and ".join(written))
    return 0


def _write_vector(vec: Any, args: argparse.Namespace, *, model: str, fingerprint: str, num_layers: int | None,
                  capability: str, domain: str, transfer: dict[str, Any] | None = None) -> int:
    from alignment_plugins.vector_package import VectorPackage, export_control_vector

    package = VectorPackage.create(
        {vec.layer: vec.vector}, source_model=model, source_fingerprint=fingerprint or "unknown",
        method=vec.method, capability=capability or "custom", contrastive_data_hash=vec.data_hash,
        domain=domain or "general", recommended_coefficient=float(args.coefficient), pooling=vec.pooling,
        token_position="last" if vec.pooling == "last" else "mean", num_layers=num_layers, transfer=transfer,
        extra={k: v for k, v in vec.extra.items() if isinstance(v, (int, float, str))},
    )
    path = package.save(args.out)
    print(f"wrote {path}: layer {vec.layer}, norm {vec.norm:.4g}, method {vec.method}")
    if args.gguf:
        print(f"wrote {export_control_vector(package, args.gguf, coefficient=float(args.coefficient))}")
    return 0


def cmd_extract_vector(args: argparse.Namespace) -> int:
    """Extract a capability vector from contrastive pairs (built-in capability or a JSONL file) into a package."""
    from alignment_plugins import vectors
    from alignment_plugins.capabilities import get_capability, load_pairs_jsonl
    from alignment_plugins.models import load_model

    if bool(args.capability) == bool(args.pairs):
        raise ValueError("give exactly one of --capability (built-in) or --pairs (JSONL of positive/negative)")
    data = get_capability(args.capability) if args.capability else load_pairs_jsonl(args.pairs)
    model = load_model(args.model, dtype=args.dtype)
    vec = vectors.extract_vector(model, data, args.layer, method=args.method, pooling=args.pooling)
    return _write_vector(vec, args, model=model.name, fingerprint=model.fingerprint, num_layers=model.num_layers,
                         capability=args.capability or args.name, domain=getattr(data, "domain", "") or args.domain)


def cmd_transfer_vector(args: argparse.Namespace) -> int:
    """Map a vector package through a .wmatrix into the target model's space (direction only) into a package."""
    from alignment_plugins import vectors
    from alignment_plugins.vector_package import VectorPackage
    from alignment_plugins.wmatrix import WMatrix

    package = VectorPackage.load(args.package)
    wm = WMatrix.load(args.wmatrix)
    meta = package.metadata
    if meta["source_model"] != wm.source.get("name"):
        raise ValueError(f"the package is from {meta['source_model']}, the W-Matrix maps from {wm.source.get('name')}")
    layer = args.layer if args.layer is not None else package.layers[0]
    norm: str | float = "map" if args.norm == "map" else float(args.norm)
    source = vectors.CapabilityVector(vector=package.vector(layer), layer=layer, model=meta["source_model"],
                                      method=meta["method"], capability=meta["capability"], pooling=meta["pooling"],
                                      data_hash=meta["contrastive_data_hash"])
    moved = vectors.transfer_vector(source, wm, norm=norm)
    transfer = {"norm_mode": "map" if norm == "map" else "native", "source_model": meta["source_model"],
                "source_layer": layer, "wmatrix_sha256": _sha256(args.wmatrix), "map_norm": moved.extra["map_norm"],
                "source_norm": moved.extra["source_norm"]}
    return _write_vector(moved, args, model=str(wm.target.get("name")), fingerprint=str(wm.target.get("fingerprint")),
                         num_layers=wm.target.get("num_layers"), capability=meta["capability"],
                         domain=meta["domain"], transfer=transfer)


def _sha256(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _parse_bands(value: str) -> list[float]:
    try:
        bands = [float(part) for part in value.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--bands must be three comma-separated numbers, got {value!r}") from exc
    if len(bands) != 3 or sorted(bands) != bands:
        raise argparse.ArgumentTypeError(f"--bands must be three increasing numbers, got {value!r}")
    return bands


def build_parser() -> argparse.ArgumentParser:
    """Return the CLI argument parser."""
    parser = argparse.ArgumentParser(prog="python -m alignment_plugins", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list known models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("train", help="train a W-Matrix")
    p.add_argument("--source", required=True, help="model name, local HF directory, .gguf file or hub id")
    p.add_argument("--target", required=True)
    p.add_argument("--num-anchors", type=int, default=None, help="default: the whole anchor set")
    p.add_argument("--anchors-file", default=None,
                   help="JSONL of {text, domain} lines, or builtin[:VERSION] (default: the built-in corpus)")
    p.add_argument("--domains", nargs="*", default=None)
    p.add_argument("--layers", type=_parse_layers, default="all", help="source layers: all or i,j,...")
    p.add_argument("--optimization", default="ridge", help="svd | ridge | cca | lowrank | a plugin's solver")
    p.add_argument("--regularization", type=_parse_regularization, default=None,
                   help="a number, or 'auto' to choose per layer pair on the validation split")
    p.add_argument("--pairing", default=None, choices=["mean", "tokens", "both"],
                   help="anchor pairs the maps are fit on: mean-pooled texts, offset-matched tokens or both "
                        "(default: the trainer's DEFAULT_PAIRING)")
    p.add_argument("--contrastive-weight", type=_parse_weight, default=None,
                   help="weight of the contrastive anchors' pooled rows relative to the anchor pairs; 0 leaves them "
                        "out (faster: no pass over their ~3,800 texts) (default: the trainer's "
                        "DEFAULT_CONTRASTIVE_WEIGHT)")
    p.add_argument("--epochs", type=int, default=0)
    p.add_argument("--validation-split", type=float, default=None,
                   help="fraction of the anchors for validation (default 0.1); without --test-split, the whole "
                        "held-out fraction, shared evenly by validation and test")
    p.add_argument("--test-split", type=float, default=None,
                   help="fraction of the anchors for the reported test metrics (default 0.1)")
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--report", default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a .wmatrix on new anchors")
    p.add_argument("wmatrix")
    p.add_argument("--anchors-file", required=True)
    p.add_argument("--report", default=None)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--quiet", action="store_true")
    add_model_overrides(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("inspect", help="show a .wmatrix file's metadata")
    p.add_argument("wmatrix")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("extract-vector", help="extract a capability vector from contrastive pairs")
    p.add_argument("--model", required=True, help="model name, local HF directory, .gguf file or hub id")
    p.add_argument("--layer", type=int, required=True, help="hidden-state layer (0 = embeddings)")
    p.add_argument("--capability", default=None, help="a built-in capability: sentiment, weddings, risk_seeking")
    p.add_argument("--pairs", default=None, help="JSONL of {positive, negative} lines (instead of --capability)")
    p.add_argument("--name", default="custom", help="capability name recorded for --pairs")
    p.add_argument("--domain", default="general", help="capability domain recorded for --pairs")
    p.add_argument("--method", default="caa", choices=["caa", "pca", "probe"])
    p.add_argument("--pooling", default=None, choices=["mean", "last"], help="default: the capability's")
    p.add_argument("--coefficient", type=float, default=1.0, help="recommended coefficient recorded in the package")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--out", required=True, help="output .vpkg path")
    p.add_argument("--gguf", default=None, help="also write a llama.cpp control-vector GGUF")
    p.set_defaults(func=cmd_extract_vector)

    p = sub.add_parser("transfer-vector", help="map a vector package into another model through a .wmatrix")
    p.add_argument("package")
    p.add_argument("--wmatrix", required=True)
    p.add_argument("--layer", type=int, default=None, help="source layer (default: the package's first)")
    p.add_argument("--norm", default="map", help="'map' (the norm the map implies) or a target norm (e.g. native)")
    p.add_argument("--coefficient", type=float, default=1.0, help="recommended coefficient recorded in the package")
    p.add_argument("--out", required=True, help="output .vpkg path")
    p.add_argument("--gguf", default=None, help="also write a llama.cpp control-vector GGUF")
    p.set_defaults(func=cmd_transfer_vector)

    p = sub.add_parser("export-vector", help="export a vector package as a llama.cpp control-vector GGUF")
    p.add_argument("package")
    p.add_argument("--gguf", required=True, help="output .gguf path")
    p.add_argument("--model-hint", default=None, help="llama.cpp architecture (default: from the source model)")
    p.add_argument("--coefficient", type=float, default=1.0, help="scale baked into the directions")
    p.set_defaults(func=cmd_export_vector)

    p = sub.add_parser("inspect-vector", help="show a vector package's metadata")
    p.add_argument("package")
    p.set_defaults(func=cmd_inspect_vector)

    p = sub.add_parser("plugins", help="list plugins and hooks")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("verify-certificate", help="check a certificate's signature (exit 0 valid, 1 invalid)")
    p.add_argument("certificate", help="certificate JSON document")
    p.add_argument("--key-file", default=None, help="file holding the key (default: $ALIGNMENT_CERTIFICATE_KEY)")
    p.set_defaults(func=cmd_verify_certificate)

    p = sub.add_parser("certify", help="issue a signed certificate for a .wmatrix file")
    p.add_argument("wmatrix")
    p.add_argument("--out", required=True, help="where to write the signed JSON document")
    p.add_argument("--html", default=None, help="also write a self-contained HTML page")
    p.add_argument("--key-file", default=None, help="file holding the key (default: $ALIGNMENT_CERTIFICATE_KEY)")
    p.add_argument("--retention", default=None, help="support-matrix.json: include this pair's measured retention")
    p.add_argument("--stitching", default=None, help="JSON object of precomputed stitching metrics")
    p.add_argument("--bands", type=_parse_bands, default=[0.05, 0.15, 0.30],
                   help="reconstruction-error upper bounds of tiers 1,2,3 (default 0.05,0.15,0.30)")
    p.set_defaults(func=cmd_certify)

    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (2 with a one-line message on bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    from alignment_plugins.manager import get_plugin_manager

    try:
        get_plugin_manager().load_entrypoint_plugins()  # allow-listed by ALIGNMENT_PLUGINS_ALLOW
        return args.func(args)
    except (ValueError, LookupError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
