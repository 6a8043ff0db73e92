"""manage.py check_drift: revalidate matrices that are due (enqueue, or run the monitor here with --now)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace import events
from marketplace.alignment.drift import due_for_drift_check, run_drift_check
from marketplace.alignment.models import WMatrix


class Command(BaseCommand):
    help = ("Revalidate W-matrices whose last validation is older than DRIFT_REVALIDATE_AFTER_HOURS: enqueue the "
            "checks on the gpu queue, or run WMatrixMonitor in this process with --now (loads both models) and print "
            "each recommendation (keep / recalibrate / retrain) and why.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="run the due checks synchronously here")
        parser.add_argument("--all", action="store_true", help="check every active matrix, due or not")
        parser.add_argument("--matrix", default=None, help="check this matrix only (public id), due or not")
        parser.add_argument("--num-anchors", type=int, default=200, help="fresh anchors per check (with --now)")
        for side in ("source", "target"):
            parser.add_argument(f"--{side}-model", default=None,
                                help=f"with --now --matrix: where the {side} model is now (name, path, hub id or "
                                     "endpoint URL), when not where the matrix recorded it")

    def handle(self, *args: Any, **options: Any) -> None:
        overrides = {"source_model": options["source_model"], "target_model": options["target_model"]}
        if any(overrides.values()) and not (options["now"] and options["matrix"]):
            raise CommandError("--source-model / --target-model need --now and --matrix (one matrix's models)")
        if options["matrix"]:
            matrices = WMatrix.objects.filter(public_id=options["matrix"])
            if not matrices.exists():
                raise CommandError(f"no matrix {options['matrix']!r}")
        elif options["all"]:
            matrices = WMatrix.objects.filter(status=WMatrix.Status.ACTIVE)
        else:
            matrices = due_for_drift_check()
        matrices = list(matrices.select_related("source", "target"))
        if not matrices:
            self.stdout.write("no matrix is due for a drift check")
            return
        for matrix in matrices:
            label = f"{matrix.source.name} -> {matrix.target.name} v{matrix.version}"
            if options["now"]:
                check = run_drift_check(matrix, num_anchors=options["num_anchors"], **overrides)
                style = self.style.SUCCESS if check.status == "ok" else self.style.WARNING
                action = f" [{check.action}]" if check.action else ""
                self.stdout.write(style(f"{label}: {check.status}, drift detected {check.drift_detected}, "
                                        f"recommendation {check.recommendation}{action} ({check.detail})"))
            else:
                events.drift_check_due(matrix.id)
                self.stdout.write(f"{label}: drift check enqueued")
