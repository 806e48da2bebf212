#!/usr/bin/env python
"""Django's command-line utility for CAIO."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caio.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # load settings now, so a bad key fails here
    except ImproperlyConfigured as exc:
        # One clear line naming the key beats a traceback for a config mistake.
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(2)

    from caio.config import missing_database

    if problem := missing_database(settings.DATABASES["default"], sys.argv):
        sys.stderr.write(problem + "\n")
        sys.exit(2)

    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
