"""The `tzurot` command.

Exit codes: 0 all good; 1 findings (drift, pending, lint errors, failed
guard); 2 usage, configuration or connection errors. Errors are one line on
stderr, never a traceback. Sub-commands live in sibling modules, each with
`register(subparsers)`; heavy imports happen inside the commands, so
`tzurot lint` starts fast enough for a pre-commit hook.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pytest_tzurot import __version__
from pytest_tzurot.errors import TzurotError

# Modules with `register(subparsers)`; each adds one sub-command.
COMMAND_MODULES: tuple[str, ...] = (
    "pytest_tzurot.cli.migrate",
    "pytest_tzurot.cli.drift",
    "pytest_tzurot.cli.lint",
    "pytest_tzurot.cli.hooks",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tzurot",
        description="Guard a PostgreSQL + pgvector schema: migrations, drift, lint.",
        epilog="Exit codes: 0 ok, 1 findings, 2 usage/configuration/connection errors.",
    )
    parser.add_argument("--version", action="version", version=f"tzurot {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit code (errors print one line on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TzurotError as exc:
        print(f"tzurot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tzurot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
