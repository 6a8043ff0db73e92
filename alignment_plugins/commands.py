"""Command-line verbs of model endpoints and drift monitoring: serve-model, check, recalibrate.

Registered into ``python -m alignment_plugins`` by ``add_commands``; the verbs import their engine modules when run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def cmd_serve_model(args: argparse.Namespace) -> int:
    """Serve a local model under the endpoint protocol until interrupted."""
    from alignment_plugins.endpoint import server

    token = os.environ.get(args.token_env) if args.token_env else None
    if args.token_env and not token:
        raise ValueError(f"--token-env {args.token_env}: that environment variable is not set")
    server.serve_model(args.model, host=args.host, port=args.port, auth_token=token, dtype=args.dtype,
                       device=args.device, max_texts=args.max_texts)
    return 0


def _monitor_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"source_model": args.source_model, "target_model": args.target_model, "dtype": args.dtype,
            "device": args.device}


def cmd_check(args: argparse.Namespace) -> int:
    """Check a .wmatrix against today's models; exit 0 to keep it, 1 when it needs a recalibration or retraining."""
    from alignment_plugins.monitor import KEEP, WMatrixMonitor

    monitor = WMatrixMonitor(anchors=args.anchors_file, num_anchors=args.num_anchors, alpha=args.alpha,
                             tolerance=args.tolerance, retrain_drop=args.retrain_drop, seed=args.seed,
                             **_monitor_options(args))
    status = monitor.check(args.wmatrix)
    if args.json:
        _print(status.to_dict())
    else:
        print(f"{status.source} -> {status.target} v{status.version} (last validated {status.last_validated}), "
              f"pair {status.pair[0]}->{status.pair[1]}: accuracy {status.accuracy:.3f}, drift detected "
              f"{status.drift_detected}, recommendation {status.recommendation}\n  {status.reason}")
    return 0 if status.recommendation == KEEP else 1


def cmd_recalibrate(args: argparse.Namespace) -> int:
    """Recalibrate a .wmatrix on fresh anchors against today's models and write version + 1."""
    from alignment_plugins.recalibration import recalibrate
    from alignment_plugins.wmatrix import WMatrix

    new = recalibrate(WMatrix.load(args.wmatrix), num_anchors=args.num_anchors, epochs=args.epochs, seed=args.seed,
                      **_monitor_options(args))
    path = new.save(args.out)
    print(f"wrote {path}: version {new.version}, recommended pair metrics {json.dumps(new.metrics, default=str)}")
    return 0


def add_model_overrides(parser: argparse.ArgumentParser) -> None:
    """--source-model / --target-model (where the matrix's models are now) and --allow-changed-weights."""
    for side in ("source", "target"):
        parser.add_argument(f"--{side}-model", default=None,
                            help=f"the {side} model (name, directory, .gguf, hub id or http(s) endpoint) when it is "
                                 "not where the matrix recorded it; must have the recorded weight fingerprint")
    parser.add_argument("--allow-changed-weights", action="store_true",
                        help="accept an override whose weight fingerprint differs from the recorded one")


def add_commands(sub: Any) -> None:
    """Add this module's verbs to the CLI's subparsers."""
    p = sub.add_parser("serve-model", help="serve a local model's hidden states over HTTP (endpoint protocol)")
    p.add_argument("--model", required=True, help="model name, local HF directory, .gguf file or hub id")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--token-env", default=None,
                   help="environment variable holding the bearer token clients must send (default: no token)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-texts", type=int, default=64, help="texts per request (default 64)")
    p.set_defaults(func=cmd_serve_model)

    p = sub.add_parser("check", help="check a .wmatrix for drift against today's models (exit 1: act on it)")
    p.add_argument("wmatrix")
    p.add_argument("--anchors-file", default=None, help="fresh anchors (default: built-in ones never trained on)")
    p.add_argument("--num-anchors", type=int, default=None, help="default: as many as the matrix's test split")
    p.add_argument("--alpha", type=float, default=0.01, help="false-alarm rate of the tests together (0.01)")
    p.add_argument("--tolerance", type=float, default=0.02, help="drop in semantic preservation kept (0.02)")
    p.add_argument("--retrain-drop", type=float, default=0.10, help="drop beyond which to retrain (0.10)")
    p.add_argument("--seed", type=int, default=None, help="fresh-anchor seed (default: today, YYYYMMDD)")
    p.add_argument("--json", action="store_true", help="print the whole structured result")
    _engine_options(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("recalibrate", help="recalibrate a .wmatrix on fresh anchors; write version + 1")
    p.add_argument("wmatrix")
    p.add_argument("--out", required=True)
    p.add_argument("--num-anchors", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    _engine_options(p)
    p.set_defaults(func=cmd_recalibrate)


def _engine_options(parser: argparse.ArgumentParser) -> None:
    add_model_overrides(parser)
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16"], help="default: the training dtype")
    parser.add_argument("--device", default="cpu")


def _print(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    print()
