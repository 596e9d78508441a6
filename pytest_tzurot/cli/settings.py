"""Options shared by the sub-commands that work on a database's migrations.

`tzurot migrate ...` and `tzurot drift ...` take the same `--dsn`, `--config`,
`--dir` and `--history-table`, resolved the same way: the flag, else the
manifest (`--config`, default `ci.yml` when present), else the defaults. The
DSN comes from `--dsn`, else `DATABASE_URL`; a Prisma `DATABASE_URL` is accepted.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pytest_tzurot.errors import ConfigError

DEFAULT_MANIFEST = "ci.yml"
DEFAULT_DIR = "migrations"
DEFAULT_HISTORY_TABLE = "_prisma_migrations"
DEFAULT_LOCK_TIMEOUT = 10.0


@dataclass(frozen=True)
class Target:
    """Where to work: the DSN (as given), the migrations directory, the history table, the lock timeout."""

    dsn: str
    directory: Path
    history_table: str
    lock_timeout: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --dsn, --config, --dir and --history-table to a sub-command."""
    parser.add_argument("--dsn", help="database URL (default: $DATABASE_URL)")
    add_config_arguments(parser)
    parser.add_argument("--history-table", help="history table (default: manifest, else _prisma_migrations)")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --config and --dir (for sub-commands that need no database)."""
    parser.add_argument("--config", type=Path, help=f"guard manifest (default {DEFAULT_MANIFEST} if present)")
    parser.add_argument("--dir", type=Path, help="migrations directory (default: manifest, else migrations)")


def print_usage(parser: argparse.ArgumentParser) -> int:
    """A group command given no action: its help on stderr, exit 2."""
    parser.print_help(sys.stderr)
    return 2


def migrations_settings(args: argparse.Namespace) -> tuple[Path, str, float]:
    """Directory, history table and lock timeout: flags, else the manifest, else defaults.

    Raises ConfigError for a bad manifest or a negative --lock-timeout."""
    directory, table, timeout = Path(DEFAULT_DIR), DEFAULT_HISTORY_TABLE, DEFAULT_LOCK_TIMEOUT
    config_path: Path | None = args.config
    if config_path is None and Path(DEFAULT_MANIFEST).is_file():
        config_path = Path(DEFAULT_MANIFEST)
    if config_path is not None:
        from pytest_tzurot import config as config_mod

        manifest = config_mod.load(config_path)
        directory = manifest.migrations.dir
        table = manifest.migrations.history_table
        timeout = manifest.migrations.lock_timeout
    if args.dir is not None:
        directory = args.dir
    if getattr(args, "history_table", None):
        table = args.history_table
    if getattr(args, "lock_timeout", None) is not None:
        if args.lock_timeout < 0:
            raise ConfigError("--lock-timeout must be >= 0 seconds (0 waits forever)")
        timeout = args.lock_timeout
    return directory, table, timeout


def target(args: argparse.Namespace) -> Target:
    """The DSN (validated; ConfigError when missing or malformed) and the migrations settings."""
    dsn = args.dsn or os.environ.get("DATABASE_URL")
    if not dsn:
        raise ConfigError("no database: pass --dsn postgresql://user@host:port/db or set DATABASE_URL")
    from pytest_tzurot import dsn as dsn_mod
    from pytest_tzurot.migrations.prisma_url import to_libpq

    dsn_mod.parse(to_libpq(dsn).dsn)
    directory, table, timeout = migrations_settings(args)
    return Target(dsn, directory, table, timeout)
