"""manage.py precompute_support_matrix: train (or load) and store a certified W-Matrix for each model pair."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.alignment.architectures import register_architectures
from marketplace.alignment.certificates import latest_certificate, verify_certificate
from marketplace.alignment.matrices import active_matrix, store_matrix
from marketplace.alignment.matrix_files import read_header
from marketplace.alignment.training import best_device, train_and_store
from marketplace.catalog.models import Architecture
from marketplace.errors import ServiceError

DEFAULT_MODELS = ("smollm2-135m-instruct", "gemma3-270m", "qwen2.5-coder-0.5b-instruct")


class Command(BaseCommand):
    help = ("Store a certified W-Matrix for every requested pair (default: every ordered pair of the three packaged "
            "decoders): train it here, or load existing .wmatrix files with --from-dir. Pairs that already have an "
            "active matrix are skipped unless --retrain.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pairs", nargs="+", metavar="SOURCE:TARGET", help="model pairs (default: all ordered "
                            f"pairs of {', '.join(DEFAULT_MODELS)})")
        parser.add_argument("--num-anchors", type=int, default=2000, help="anchors per trained pair (default 2000)")
        parser.add_argument("--from-dir", type=Path, help="load .wmatrix files from this folder instead of training")
        parser.add_argument("--out-dir", type=Path, help="where trained files are written (ALIGNMENT_MATRIX_DIR)")
        parser.add_argument("--retrain", action="store_true", help="train even when the pair has an active matrix")
        parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")

    def handle(self, *args: Any, **options: Any) -> None:
        pairs = self._pairs(options["pairs"])
        names = sorted({name for pair in pairs for name in pair})
        missing = [n for n in names if not Architecture.objects.filter(name=n).exists()]
        if missing:
            self.stdout.write(f"registering {', '.join(missing)}")
            register_architectures(missing)
        rows = {a.name: a for a in Architecture.objects.filter(name__in=names)}
        if options["from_dir"]:
            self._from_dir(options["from_dir"], pairs)
            return
        out_dir = options["out_dir"] or Path(settings.ALIGNMENT_MATRIX_DIR)
        out_dir.mkdir(parents=True, exist_ok=True)
        device = options["device"] or best_device()
        for source, target in pairs:
            if not (rows[source].runnable and rows[target].runnable):
                self.stdout.write(self.style.WARNING(f"{source} -> {target}: not runnable here, skipped"))
                continue
            current = active_matrix(rows[source], rows[target])
            if current is not None and not options["retrain"]:
                self.stdout.write(f"{source} -> {target}: active v{current.version} ({current.public_id}), skipped")
                continue
            started = time.monotonic()
            self.stdout.write(f"{source} -> {target}: training on {options['num_anchors']} anchors ({device})")
            try:
                matrix = train_and_store(source, target, num_anchors=options["num_anchors"],
                                         path=out_dir / f"{source}-to-{target}.wmatrix", device=device)
            except ServiceError as exc:
                raise CommandError(str(exc)) from None
            self._report(matrix, time.monotonic() - started)

    def _pairs(self, given: list[str] | None) -> list[tuple[str, str]]:
        if not given:
            return list(itertools.permutations(DEFAULT_MODELS, 2))
        pairs = []
        for item in given:
            source, sep, target = item.partition(":")
            if not sep or not source or not target or source == target:
                raise CommandError(f"bad pair {item!r}: use SOURCE:TARGET with two different model names")
            pairs.append((source, target))
        return pairs

    def _from_dir(self, folder: Path, pairs: list[tuple[str, str]]) -> None:
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        found: dict[tuple[str, str], Path] = {}
        for path in sorted(folder.glob("*.wmatrix")):
            try:
                meta = read_header(path)
            except Exception as exc:  # not a readable file: say so and go on
                self.stdout.write(self.style.WARNING(f"{path.name}: unreadable ({exc})"))
                continue
            pair = (meta.get("source", {}).get("name"), meta.get("target", {}).get("name"))
            if pair in pairs:
                found[pair] = path  # the last file (by name) wins
        for pair in pairs:
            if pair not in found:
                self.stdout.write(self.style.WARNING(f"{pair[0]} -> {pair[1]}: no .wmatrix file in {folder}"))
                continue
            started = time.monotonic()
            try:
                matrix = store_matrix(found[pair])
            except ServiceError as exc:
                raise CommandError(str(exc)) from None
            self._report(matrix, time.monotonic() - started)

    def _report(self, matrix: Any, seconds: float) -> None:
        cert = latest_certificate(matrix)
        best = matrix.headline_metrics
        self.stdout.write(self.style.SUCCESS(
            f"{matrix.source.name} -> {matrix.target.name}: v{matrix.version} {matrix.public_id}, recommended pair "
            "{}->{}, ".format(*matrix.recommended_pair) +
            f"accuracy {best.get('accuracy', float('nan')):.3f}, "
            f"semantic preservation {best.get('semantic_preservation', float('nan')):.3f}, reconstruction error "
            f"{best.get('reconstruction_error', float('nan')):.3f}, tier {cert.tier if cert else '?'} "
            f"(signature {'valid' if cert and verify_certificate(cert) else 'INVALID'}) [{seconds:.1f} s]"
        ))
