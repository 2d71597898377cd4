"""The `fideliza` command.

`fideliza analyze …` runs the pure analytics core on a file and needs no database;
every other sub-command is a Django management command (`run`, `demo`, `import`,
`recompute`, `migrate`, `createsuperuser`, …).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "analyze":
        from fideliza.analytics.cli import main as analyze_main

        return analyze_main(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fideliza", *args])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
