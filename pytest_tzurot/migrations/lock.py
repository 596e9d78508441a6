"""Prisma's migration lock: `pg_advisory_lock(72707369)`, waited for with a timeout.

Holding the same key as Prisma Migrate means the runner and Prisma never
migrate one database at once. Advisory locks are per database, so deploys to
different databases never wait for each other. When the wait times out, the
error names the holder's pid and application_name.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg

from pytest_tzurot.errors import MigrationError

PRISMA_LOCK_KEY = 72707369


class LockTimeout(MigrationError):
    """The migration lock was not acquired within the timeout (exit 2)."""


@contextmanager
def migration_lock(conn: psycopg.Connection, timeout: float) -> Iterator[None]:
    """Hold the migration lock on `conn` (autocommit) for the block.

    Waits at most `timeout` seconds (0 waits forever) and raises LockTimeout
    naming the holder. The wait polls `pg_try_advisory_lock` rather than blocking
    in `pg_advisory_lock`: a waiter blocked inside a statement keeps a transaction
    open, and `CREATE INDEX CONCURRENTLY` in the holder's migration would wait for
    that transaction forever (PostgreSQL reports a deadlock).
    """
    deadline = time.monotonic() + timeout if timeout > 0 else None
    pause = 0.02
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (PRISMA_LOCK_KEY,)).fetchone()[0]:  # type: ignore[index]
        if deadline is not None and time.monotonic() >= deadline:
            raise LockTimeout(_timeout_message(conn, timeout))
        time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.25)
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            # On failure the session ends right after; closing it releases the lock anyway.
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (PRISMA_LOCK_KEY,))


def holders(conn: psycopg.Connection) -> list[tuple[int, str, str]]:
    """(pid, application_name, user) of the sessions holding the lock in this database."""
    rows = conn.execute(
        "SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, '')"
        " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s"
        " AND l.objsubid = 1"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (PRISMA_LOCK_KEY,),
    ).fetchall()
    return [(int(pid), app, user) for pid, app, user in rows]


def _timeout_message(conn: psycopg.Connection, timeout: float) -> str:
    found = holders(conn)
    head = f"migration lock pg_advisory_lock({PRISMA_LOCK_KEY}) not acquired within {timeout:g}s"
    if not found:
        return f"{head}: its holder released it meanwhile; run the command again"
    pid, app, user = found[0]
    who = f"pid {pid} (application_name {app!r}, user {user!r})" if app else f"pid {pid} (user {user!r})"
    return (
        f"{head}: held by {who}, another migration is running; wait for it, or if it is stuck stop it "
        f"with SELECT pg_terminate_backend({pid}), or raise migrations.lock_timeout"
    )
