"""The `_tzurot_fingerprints` side table: a semantic fingerprint per applied migration.

Prisma's own columns are never touched. Next to each history row the runner
records `(migration_name, checksum, fingerprint, recorded_at)`, where
`fingerprint` is `pytest_tzurot.sql.fingerprint.fingerprint(sql)` of the file
as applied, or NULL when the SQL could not be fingerprinted. The drift check
compares it with the file's current fingerprint to tell cosmetic edits from
real ones. The table lives in the history table's schema.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from pytest_tzurot.sql.split import Statement

TABLE = "_tzurot_fingerprints"

_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    " migration_name VARCHAR(255) NOT NULL,"
    " checksum VARCHAR(64) NOT NULL,"
    " fingerprint TEXT,"
    " recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " PRIMARY KEY (migration_name, checksum))"
)


@dataclass(frozen=True)
class FingerprintRow:
    """One recorded fingerprint (None when the SQL could not be fingerprinted)."""

    migration_name: str
    checksum: str
    fingerprint: str | None
    recorded_at: datetime


def table_name(history_table: str) -> str:
    """`_tzurot_fingerprints`, qualified with the history table's schema if it has one."""
    schema, dot, _ = history_table.rpartition(".")
    return f"{schema}{dot}{TABLE}"


def identifier(history_table: str) -> sql.Composable:
    """The side table as a quoted SQL identifier."""
    return sql.Identifier(*table_name(history_table).split(".", 1))


def create_sql(history_table: str = "_prisma_migrations") -> sql.Composed:
    """`CREATE TABLE IF NOT EXISTS` for the side table (idempotent)."""
    return sql.SQL(_DDL).format(table=identifier(history_table))


def ensure_table(conn: psycopg.Connection, history_table: str = "_prisma_migrations") -> None:
    """Create the side table if it does not exist (idempotent)."""
    conn.execute(create_sql(history_table))


def compute(sql_text: str, statements: Sequence[Statement] | None = None) -> str | None:
    """The migration's fingerprint, or None when fingerprinting fails (never raises);
    `statements` is `split(sql_text)` when the caller already has it."""
    from pytest_tzurot.sql.fingerprint import fingerprint

    try:
        return fingerprint(sql_text) if statements is None else fingerprint(sql_text, statements)
    except Exception:  # unparseable SQL must not fail a deploy: record NULL instead
        return None


def record(conn: psycopg.Connection, migration_name: str, checksum: str, fingerprint: str | None,
           history_table: str = "_prisma_migrations") -> None:
    """Insert (or refresh) the fingerprint of `migration_name` at `checksum`."""
    conn.execute(
        sql.SQL(
            "INSERT INTO {table} (migration_name, checksum, fingerprint, recorded_at)"
            " VALUES (%s, %s, %s, now())"
            " ON CONFLICT (migration_name, checksum)"
            " DO UPDATE SET fingerprint = EXCLUDED.fingerprint, recorded_at = EXCLUDED.recorded_at"
        ).format(table=identifier(history_table)),
        (migration_name, checksum, fingerprint),
    )


def record_many(
    conn: psycopg.Connection,
    rows: Sequence[tuple[str, str, str | None]],
    existing: Collection[tuple[str, str]],
    history_table: str = "_prisma_migrations",
) -> None:
    """Insert (or refresh) many `(migration_name, checksum, fingerprint)` rows, in one transaction.

    `existing` holds the `(migration_name, checksum)` pairs that already have a row (read under
    the migration lock, so still true). New rows go in with one COPY, much cheaper than a
    multi-row INSERT; existing ones (a migration applied again, a value of an older algorithm)
    are updated.
    """
    if not rows:
        return
    new = [row for row in rows if (row[0], row[1]) not in existing]
    old = [row for row in rows if (row[0], row[1]) in existing]
    table = identifier(history_table)
    with conn.transaction():
        if new:
            copy = sql.SQL("COPY {table} (migration_name, checksum, fingerprint) FROM STDIN")
            with conn.cursor().copy(copy.format(table=table)) as target:
                for row in new:
                    target.write_row(row)
        if old:
            names, checksums, prints = (list(column) for column in zip(*old, strict=True))
            conn.execute(
                sql.SQL(
                    "UPDATE {table} AS t SET fingerprint = r.fingerprint, recorded_at = now() FROM"
                    " unnest(%s::text[], %s::text[], %s::text[]) AS r(migration_name, checksum, fingerprint)"
                    " WHERE t.migration_name = r.migration_name AND t.checksum = r.checksum"
                ).format(table=table),
                (names, checksums, prints),
            )


def read(conn: psycopg.Connection, history_table: str = "_prisma_migrations") -> list[FingerprintRow]:
    """Every recorded fingerprint ordered by recorded_at; `[]` when the table does not exist."""
    quoted = ".".join('"' + p.replace('"', '""') + '"' for p in table_name(history_table).split(".", 1))
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (quoted,)).fetchone()
    if not (found and found[0]):
        return []
    rows = conn.execute(
        sql.SQL(
            "SELECT migration_name, checksum, fingerprint, recorded_at FROM {table}"
            " ORDER BY recorded_at, migration_name"
        ).format(table=identifier(history_table))
    ).fetchall()
    return [FingerprintRow(*row) for row in rows]
