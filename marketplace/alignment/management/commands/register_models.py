"""manage.py register_models: create/update Architecture rows from the alignment engine's model catalogue."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketplace.alignment.architectures import register_architectures


class Command(BaseCommand):
    help = "Register every model the alignment engine knows (packaged GGUF models are converted once, cached)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", help="only these model names (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = register_architectures(options["names"] or None)
        width = max((len(r.name) for r in rows), default=4)
        for row in rows:
            self.stdout.write(
                f"{row.name:<{width}}  {row.support_level:<8}  {row.family:<8} d={row.hidden_size:<5} "
                f"layers={row.num_layers:<3} {row.weight_fingerprint[:23]}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(rows)} architectures registered"))
