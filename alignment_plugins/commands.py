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


def _print(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    print()
