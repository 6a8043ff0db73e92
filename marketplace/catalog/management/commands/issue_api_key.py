"""manage.py issue_api_key USER: issue an API key (printed once, alone on stdout) and optionally fund the account."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from marketplace.catalog.ledger import deposit
from marketplace.catalog.models import ApiKey
from marketplace.errors import ValidationFailed


class Command(BaseCommand):
    help = "Issue an API key for USER (the clear key is printed once, alone on stdout; only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--create", action="store_true", help="create the user when it does not exist")
        parser.add_argument("--deposit", default=None, help="credit this many AMEM to the user's account")
        parser.add_argument("--name", default="default", help="a label for the key (default 'default')")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        name = options["username"]
        amount = None
        if options["deposit"] is not None:
            try:
                amount = Decimal(options["deposit"])
            except InvalidOperation:
                raise CommandError(f"--deposit must be a number of AMEM, got {options['deposit']!r}") from None
        with transaction.atomic():
            user = users.objects.filter(username=name).first()
            if user is None:
                if not options["create"]:
                    raise CommandError(f"no user {name!r}; pass --create to create it")
                user = users.objects.create_user(username=name)
            if amount is not None:
                try:
                    deposit(user, amount, memo="issue_api_key --deposit")
                except ValidationFailed as exc:
                    raise CommandError(str(exc)) from None
            _, raw = ApiKey.issue(user, name=options["name"][:80])
        self.stdout.write(raw)
