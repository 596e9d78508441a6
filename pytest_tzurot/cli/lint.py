"""`tzurot lint [PATH...] [--config FILE] [--format text|json|github]`: the static migration lint.

Exit codes: 0 no errors (warnings allowed), 1 at least one error finding,
2 usage or configuration errors (a path that does not exist, a bad manifest).
Imports stay light (no sqlglot, no psycopg) so a pre-commit run starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_MANIFEST = "ci.yml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="lint migrations: protected vector indexes, idempotency, transactions",
        description="Static checks of migration SQL, no database needed. Rules: TZ000 unparseable SQL; "
        "TZ001-TZ004 a protected index dropped, lost, renamed or redefined; TZ005 opaque statements and "
        "retypes; TZ008/TZ009 bad or unused suppressions; TZ010 non-idempotent DDL; TZ011 CONCURRENTLY "
        "inside a transaction block; TZ012 CONCURRENTLY mixed with other statements.",
        epilog="Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage or configuration error. "
        "Suppress one finding with `-- tzurot: ignore TZ001 <reason>` on the line before the statement.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="migration files or migrations directories (default: the manifest's migrations dir)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"the guard manifest with the protected indexes (default: {DEFAULT_MANIFEST} if present)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        help="output format (default: text; github when GITHUB_ACTIONS=true)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lint the given paths; print the report; 1 if any error finding, else 0."""
    from pytest_tzurot import config
    from pytest_tzurot.errors import ConfigError
    from pytest_tzurot.sql.lint import expand, lint_files
    from pytest_tzurot.sql.lint.report import render

    manifest = None
    if args.config:
        if not Path(args.config).is_file():
            raise ConfigError(f"{args.config}: manifest not found (--config)")
        manifest = config.load(args.config)
    elif Path(DEFAULT_MANIFEST).is_file():
        manifest = config.load(DEFAULT_MANIFEST)
    if args.paths:
        paths = [Path(p) for p in args.paths]
    elif manifest is not None:
        paths = [manifest.migrations.dir]
    else:
        raise ConfigError(
            f"no PATH given and no manifest found ({DEFAULT_MANIFEST} in the current directory); "
            "give migration files or directories, or --config FILE"
        )
    fmt = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    files = expand(paths)
    if manifest is None:
        findings = lint_files(files)
    else:
        findings = lint_files(files, manifest.protected_indexes, manifest.migrations.dir)
    sys.stdout.write(render(fmt, findings, len(files)))
    return 1 if any(f.is_error for f in findings) else 0
