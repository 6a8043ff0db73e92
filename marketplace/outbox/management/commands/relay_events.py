"""``manage.py relay_events [--now] [--every SECONDS]``: publish outbox rows the broker has not taken yet."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketplace.outbox.relay import relay_due, unsent_count


class Command(BaseCommand):
    help = ("Publish the outbox rows the broker has not taken yet (the beat task outbox.relay_events does the same "
            "every 30 s). --now also sends rows tried less than OUTBOX_RETRY_SECONDS ago; --every loops.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="ignore OUTBOX_RETRY_SECONDS: send every unsent row")
        parser.add_argument("--every", type=float, default=0.0, metavar="SECONDS",
                            help="repeat every SECONDS until interrupted (default: one pass)")

    def handle(self, *args: Any, **options: Any) -> None:
        retry_after = 0.0 if options["now"] else None
        while True:
            result = relay_due(retry_after=retry_after)
            self.stdout.write(f"sent {result.sent}, failed {result.failed}, pruned {result.pruned}, "
                              f"unsent {unsent_count()}")
            if options["every"] <= 0:
                return
            time.sleep(options["every"])
