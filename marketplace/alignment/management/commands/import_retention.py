"""manage.py import_retention PATH: store a bench's measured retention (docs/support-matrix.json) in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alignment_plugins.certificate import CertificateError, read_json_file
from marketplace.alignment import retention
from marketplace.alignment.certificates import issue_certificate
from marketplace.alignment.estimates import recompute_estimates
from marketplace.alignment.matrices import active_matrix
from marketplace.catalog.models import Architecture
from marketplace.errors import ServiceError


class Command(BaseCommand):
    help = ("Import measured steering-effect retention from a support-matrix JSON file (format 'support-matrix', "
            "version 1): one MeasuredRetention row per pair and capability plus the pair's median, all or nothing. "
            "Models missing from the database are registered (register_architectures); estimates of every "
            "imported pair with an active matrix are recomputed and its certificate re-issued afterwards.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="support-matrix JSON file (e.g. docs/support-matrix.json)")
        parser.add_argument("--no-register", action="store_true",
                            help="refuse models that are not registered instead of registering them")
        parser.add_argument("--no-recompute", action="store_true",
                            help="do not recompute the estimates (nor re-issue the certificates) of the imported pairs")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            data = read_json_file(path)  # schema errors are reported by the import, which stores nothing then
        except CertificateError as exc:
            raise CommandError(str(exc)) from None
        try:
            result = retention.import_support_matrix(data, register=not options["no_register"])
        except ServiceError as exc:
            raise CommandError(f"{path}: {exc}; nothing was imported") from None
        if result.registered:
            self.stdout.write(f"registered {', '.join(result.registered)}")
        self.stdout.write(self.style.SUCCESS(
            f"imported {result.rows} measured-retention row(s) ({result.created} new, {result.updated} updated) for "
            f"{len(result.pairs)} pair(s), run of {result.measured_at.isoformat()}"))
        if options["no_recompute"]:
            return
        for source_name, target_name in result.pairs:
            source = Architecture.objects.get(name=source_name)
            target = Architecture.objects.get(name=target_name)
            matrix = active_matrix(source, target)
            if matrix is None:
                self.stdout.write(f"{source_name} -> {target_name}: no active matrix, no estimates to recompute")
                continue
            estimates = recompute_estimates(matrix)
            cert = issue_certificate(matrix)  # the certificate now states the measured retention
            self.stdout.write(f"{source_name} -> {target_name}: {len(estimates)} estimate(s) recomputed; "
                              f"certificate {cert.public_id} re-issued with the measured retention")
