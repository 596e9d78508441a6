"""`tzurot drift check|fix`: find edited applied migrations; re-checksum only cosmetic edits.

The DSN comes from `--dsn`, else `DATABASE_URL`; the migrations directory and
history table from `--dir` / `--history-table`, else the manifest (`--config`,
default `ci.yml` when present), else `migrations` and `_prisma_migrations`.
Exit codes: 0 ok; 1 drift found (check) or a fix refused; 2 usage,
configuration, connection or git errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_tzurot.cli import settings
from pytest_tzurot.errors import ConfigError, ServerError

_LABELS = {"ok": "OK", "drift": "DRIFT", "missing": "MISSING", "renamed": "RENAMED",
           "pending": "PENDING", "failed": "FAILED"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drift", help="detect edited applied migrations; fix checksums of cosmetic edits",
        description="Compare applied migrations with their files; re-record the checksum of an "
                    "applied migration only when its edit is provably cosmetic.",
        epilog="Exit codes: 0 ok, 1 drift found or fix refused, 2 usage/configuration/connection errors.",
    )
    commands = parser.add_subparsers(dest="drift_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: settings.print_usage(parser))

    check = commands.add_parser("check", help="every applied migration against its file; exit 1 on drift")
    settings.add_arguments(check)
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(func=_check)

    fix = commands.add_parser("fix", help="re-record the checksum of cosmetically edited migrations")
    fix.add_argument("names", nargs="+", metavar="NAME", help="migration name(s), as in the history table")
    fix.add_argument("--force", action="store_true",
                     help="accept the file when the applied version cannot be found "
                          "(never overrides a semantic edit)")
    settings.add_arguments(fix)
    fix.set_defaults(func=_fix)


def _settings(args: argparse.Namespace) -> tuple[str, Path, str]:
    """libpq DSN, directory and history table (ConfigError when no DSN, or a bad manifest)."""
    from pytest_tzurot.migrations.prisma_url import to_libpq

    target = settings.target(args)
    return to_libpq(target.dsn).dsn, target.directory, target.history_table


def _check(args: argparse.Namespace) -> int:
    from pytest_tzurot.drift.check import check, read_only, read_state, relative
    from pytest_tzurot.migrations.discovery import discover

    dsn, directory, table = _settings(args)
    migrations = discover(directory)
    with read_only(dsn) as conn:
        state = read_state(conn, table)
    report = check(state, migrations, table)
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2))
        return 1 if report.problems else 0
    if not report.table_found:
        print(f"no history table {table}: nothing is applied to this database")
    cwd = Path.cwd()
    for entry in report.entries:
        print(f"{_LABELS[entry.status]:<8} {entry.name}")
        if entry.status == "drift":
            print(f"         recorded {entry.recorded}")
            print(f"         file     {entry.current}  {relative(entry.path, cwd)}")
        if entry.detail and entry.status != "pending":
            print(f"         {entry.detail}")
    counts = report.as_dict()["counts"]
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    verdict = f"drift found in {len(report.problems)} migration(s)" if report.problems else "no drift"
    print(f"{verdict} ({summary or 'no migrations'})")
    return 1 if report.problems else 0


def _fix(args: argparse.Namespace) -> int:
    import psycopg

    from pytest_tzurot.connect import connect
    from pytest_tzurot.drift import fix
    from pytest_tzurot.drift.check import read_state
    from pytest_tzurot.migrations.discovery import discover

    dsn, directory, table = _settings(args)
    migrations = discover(directory)
    try:
        with connect(dsn, application_name="tzurot drift fix") as conn, conn.transaction():
            fix.lock(conn)
            state = read_state(conn, table)
            if not state.table_found:
                raise ConfigError(f"no history table {table} in this database: nothing to fix")
            outcomes = fix.plan(state, migrations, args.names, force=args.force)
            refused = [o for o in outcomes if o.action == fix.REFUSED]
            if not refused:
                fix.apply(conn, table, outcomes)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ServerError(f"drift fix failed, nothing was changed: {reason}") from None
    if refused:
        for outcome in outcomes:
            if outcome.action == fix.REFUSED:
                print(outcome.line(), file=sys.stderr)
            elif outcome.writes:
                print(f"not fixed {outcome.name}: would be fixable ({outcome.reason}), but nothing is "
                      "written while another migration is refused", file=sys.stderr)
        print(f"nothing was changed: {len(refused)} of {len(outcomes)} refused", file=sys.stderr)
        return 1
    for outcome in outcomes:
        print(outcome.line())
    written = sum(o.writes for o in outcomes)
    print(f"{written} checksum(s) updated in {table}" if written else "nothing to change")
    return 0
