"""manage.py store_matrix FILE...: store trained .wmatrix files as their pairs' next active versions (certified)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.alignment.certificates import latest_certificate
from marketplace.alignment.matrices import store_matrix
from marketplace.errors import ServiceError


class Command(BaseCommand):
    help = ("Store .wmatrix files (validated; both models must be registered) as the new active version of their "
            "pair, with a signed certificate; a file already stored for its pair is reported, not stored twice.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        for path in options["files"]:
            try:
                matrix = store_matrix(path)
            except ServiceError as exc:
                raise CommandError(str(exc)) from None
            cert = latest_certificate(matrix)
            self.stdout.write(f"{matrix.public_id}  {matrix.source.name} -> {matrix.target.name}  v{matrix.version}  "
                              f"tier {cert.tier if cert else '-'}  certificate {cert.public_id if cert else '-'}")
