#!/usr/bin/env python
"""Django's command-line utility for the marketplace backend."""

import os
import sys


def main() -> None:
    """Run a Django management command (settings default to marketplace.settings.local)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
