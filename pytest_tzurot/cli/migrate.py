"""`tzurot migrate deploy|status|create|resolve`: the migration runner on the command line.

The DSN comes from `--dsn`, else `DATABASE_URL`. The migrations directory and
history table come from `--dir` / `--history-table`, else the manifest
(`--config`, default `ci.yml` when it exists), else `migrations` and
`_prisma_migrations`. Exit codes: 0 ok; 1 `status` found something not
applied and clean; 2 usage, input, configuration, connection or SQL errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pytest_tzurot.cli import settings

STATE_LABELS = {
    "applied": "applied",
    "pending": "pending",
    "failed": "FAILED",
    "rolled_back": "rolled back",
    "drifted": "checksum drifted",
    "missing": "applied, missing on disk",
}



def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate", help="apply and inspect migrations (Prisma-compatible)",
        description="Prisma-compatible migrations: deploy, status, create, resolve.",
        epilog="Exit codes: 0 ok, 1 status found pending/failed/drifted migrations, 2 errors.",
    )
    commands = parser.add_subparsers(dest="migrate_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: settings.print_usage(parser))

    deploy = commands.add_parser("deploy", help="apply pending migrations in order")
    settings.add_arguments(deploy)
    deploy.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    deploy.add_argument("--target", metavar="NAME", help="apply up to and including this migration")
    deploy.add_argument("--lock-timeout", type=float, metavar="SECONDS",
                        help="how long to wait for the migration lock (default: manifest, else 10)")
    deploy.set_defaults(func=_deploy)

    status = commands.add_parser("status", help="every migration's state; exit 1 unless all applied")
    settings.add_arguments(status)
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(func=_status)

    create = commands.add_parser("create", help="new <UTC timestamp>_<name>/migration.sql")
    create.add_argument("name", metavar="NAME")
    settings.add_config_arguments(create)
    create.set_defaults(func=_create)

    resolve = commands.add_parser("resolve", help="mark a failed migration rolled back, or one applied")
    settings.add_arguments(resolve)
    which = resolve.add_mutually_exclusive_group(required=True)
    which.add_argument("--applied", metavar="NAME", help="record NAME as applied (current file's checksum)")
    which.add_argument("--rolled-back", metavar="NAME", help="mark the failed NAME as rolled back")
    resolve.add_argument("--lock-timeout", type=float, metavar="SECONDS")
    resolve.set_defaults(func=_resolve)


def _deploy(args: argparse.Namespace) -> int:
    from pytest_tzurot.migrations import deploy

    target = settings.target(args)

    def report(done: Any) -> None:
        mode = "" if done.transactional else ", outside a transaction"
        print(f"applied {done.name} ({done.duration * 1000:.0f} ms, {done.statements} statement(s){mode})",
              flush=True)

    result = deploy(target.dsn, target.directory, history_table=target.history_table,
                    lock_timeout=target.lock_timeout, target=args.target, dry_run=args.dry_run,
                    progress=report)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.dry_run:
        if not result.planned:
            print("dry run: nothing to apply; the database is up to date")
        for step in result.planned:
            mode = "in one transaction" if step.transactional else f"outside a transaction ({step.reason})"
            print(f"would apply {step.name} ({step.statements} statement(s), {mode})")
        return 0
    if result.applied:
        print(f"{len(result.applied)} migration(s) applied; {result.already_applied} were already applied")
    else:
        print(f"nothing to apply; {result.already_applied} migration(s) already applied")
    if result.remaining:
        print(f"{len(result.remaining)} migration(s) after {args.target} left pending")
    return 0


def _status(args: argparse.Namespace) -> int:
    from pytest_tzurot.migrations import status

    target = settings.target(args)
    states = status(target.dsn, target.directory, history_table=target.history_table)
    clean = all(s.ok for s in states)
    if args.format == "json":
        import json

        print(json.dumps({"ok": clean, "migrations": [s.to_json() for s in states]}, indent=2))
        return 0 if clean else 1
    if not states:
        print(f"no migrations in {target.directory}")
        return 0
    width = max(len(s.name) for s in states)
    print(f"{'MIGRATION':<{width}}  {'STATE':<24}  FINISHED")
    for s in states:
        finished = s.finished_at.strftime("%Y-%m-%d %H:%M:%S") if s.finished_at else "-"
        print(f"{s.name:<{width}}  {STATE_LABELS[s.state]:<24}  {finished}")
        if s.state == "failed":
            logs = " ".join((s.logs or "no logs recorded").split())
            print(f"  {s.applied_steps_count} statement(s) applied; {logs}")
            print(f"  resolve: tzurot migrate resolve --rolled-back {s.name}  (or --applied {s.name})")
        elif s.state == "drifted":
            print(f"  file {(s.checksum or '')[:12]}... != recorded {(s.recorded_checksum or '')[:12]}...; "
                  "see `tzurot drift check`")
    bad = [s for s in states if not s.ok]
    summary = ", ".join(
        f"{sum(1 for s in bad if s.state == state)} {STATE_LABELS[state]}"
        for state in STATE_LABELS if any(s.state == state for s in bad)
    )
    print(f"{len(states)} migration(s): " + ("all applied" if clean else summary))
    return 0 if clean else 1


def _create(args: argparse.Namespace) -> int:
    from pytest_tzurot.migrations import create

    directory = args.dir
    if directory is None:
        directory, _, _ = settings.migrations_settings(args)
    path = create(directory, args.name)
    print(f"created {path}")
    return 0


def _resolve(args: argparse.Namespace) -> int:
    from pytest_tzurot.migrations import resolve

    target = settings.target(args)
    print(resolve(target.dsn, target.directory, applied=args.applied, rolled_back=args.rolled_back,
                  history_table=target.history_table, lock_timeout=target.lock_timeout))
    return 0
