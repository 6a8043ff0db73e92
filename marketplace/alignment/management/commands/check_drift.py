"""manage.py check_drift: revalidate matrices that are due (enqueue, or run here with --now)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketplace import events
from marketplace.alignment.drift import due_for_drift_check, run_drift_check
from marketplace.alignment.models import WMatrix


class Command(BaseCommand):
    help = ("Revalidate W-matrices whose last validation is older than DRIFT_REVALIDATE_AFTER_HOURS: enqueue the "
            "checks on the gpu queue, or run them in this process with --now (loads both models).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="run the due checks synchronously here")
        parser.add_argument("--all", action="store_true", help="check every active matrix, due or not")
        parser.add_argument("--num-anchors", type=int, default=200, help="fresh anchors per check (with --now)")

    def handle(self, *args: Any, **options: Any) -> None:
        matrices = (WMatrix.objects.filter(status=WMatrix.Status.ACTIVE) if options["all"]
                    else due_for_drift_check())
        matrices = list(matrices.select_related("source", "target"))
        if not matrices:
            self.stdout.write("no matrix is due for a drift check")
            return
        for matrix in matrices:
            label = f"{matrix.source.name} -> {matrix.target.name} v{matrix.version}"
            if options["now"]:
                check = run_drift_check(matrix, num_anchors=options["num_anchors"])
                style = self.style.SUCCESS if check.status == "ok" else self.style.WARNING
                self.stdout.write(style(f"{label}: {check.status} ({check.detail})"))
            else:
                events.drift_check_due(matrix.id)
                self.stdout.write(f"{label}: drift check enqueued")
