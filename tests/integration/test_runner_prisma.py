"""Interop with Prisma Migrate: its table, its rows, its checksums, both ways."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from pytest_tzurot.migrations import deploy, fingerprints, status
from pytest_tzurot.sql.fingerprint import fingerprint

pytestmark = pytest.mark.integration

# Prisma Migrate's DDL for its history table, copied here independently of the runner.
PRISMA_DDL = """
CREATE TABLE "{table}" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)"""

INIT = b"-- CreateTable\nCREATE TABLE \"User\" (\n    \"id\" SERIAL NOT NULL,\n" \
       b"    \"email\" TEXT NOT NULL,\n\n" \
       b"    CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- CreateIndex\n" \
       b"CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");\n"
POSTS = b"-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \"authorId\" INTEGER,\n" \
        b"    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n"
EMPTY = b"-- This is an empty migration."
COMMENTS = b"-- CreateTable\nCREATE TABLE \"Comment\" (\"id\" SERIAL PRIMARY KEY, \"postId\" INTEGER);\n"


def prisma_applies(conn: psycopg.Connection, name: str, content: bytes, *,
                   failed_first: bool = False) -> None:
    """Record `name` the way Prisma's migration engine does: row first, script, then finish it."""
    checksum = hashlib.sha256(content).hexdigest()
    if failed_first:  # an earlier attempt that failed and was `prisma migrate resolve --rolled-back`
        conn.execute(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at,'
            " rolled_back_at, applied_steps_count)"
            " VALUES (%s, %s, %s, 'Database error: boom', now(), now(), 0)",
            (str(uuid.uuid4()), checksum, name),
        )
    row_id = str(uuid.uuid4())
    conn.execute(
        'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)'
        " VALUES (%s, %s, %s, now(), 0)",
        (row_id, checksum, name),
    )
    if content.strip() != EMPTY:
        conn.execute(content.decode())
    conn.execute(
        'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = applied_steps_count + 1'
        " WHERE id = %s",
        (row_id,),
    )


def write(root: Path, name: str, content: bytes) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "migration.sql").write_bytes(content)


def test_database_migrated_by_prisma_is_continued(tzurot_empty_db: str, tmp_path: Path):
    root = tmp_path / "prisma" / "migrations"
    write(root, "20240101120000_init", INIT)
    # the checkout has CRLF line endings while Prisma recorded the LF file: still applied
    write(root, "20240102120000_posts", POSTS.replace(b"\n", b"\r\n"))
    write(root, "20240103120000_comments", COMMENTS)
    # Prisma applies empty migrations; one it recorded never blocks the runner
    write(root, "20240101130000_empty", EMPTY)
    (root / "migration_lock.toml").write_text('provider = "postgresql"\n')
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute(PRISMA_DDL.format(table="_prisma_migrations"))
        prisma_applies(conn, "20240101120000_init", INIT)
        prisma_applies(conn, "20240101130000_empty", EMPTY)
        prisma_applies(conn, "20240102120000_posts", POSTS, failed_first=True)
        before = conn.execute("SELECT * FROM _prisma_migrations ORDER BY started_at").fetchall()

    assert [s.state for s in status(tzurot_empty_db, root)] == ["applied", "applied", "applied", "pending"]
    result = deploy(tzurot_empty_db, root)
    assert result.applied_names == ["20240103120000_comments"]

    with psycopg.connect(tzurot_empty_db) as conn:
        after = conn.execute("SELECT * FROM _prisma_migrations ORDER BY started_at").fetchall()
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert after[: len(before)] == before  # Prisma's rows are left exactly as they were
    new = after[-1]
    assert new[1] == hashlib.sha256(COMMENTS).hexdigest() and new[3] == "20240103120000_comments"
    assert new[2] is not None and new[5] is None  # finished, not rolled back: Prisma reads it as applied
    assert {"User", "Post", "Comment"} <= tables
    assert all(s.ok for s in status(tzurot_empty_db, root))
    # Prisma's migrations get fingerprints from files that are byte for byte what Prisma applied
    # (the CRLF checkout of posts is not, so it gets none); the new one gets its own.
    with psycopg.connect(tzurot_empty_db) as conn:
        printed = {(r.migration_name, r.checksum): r.fingerprint for r in fingerprints.read(conn)}
    exact = {"20240101120000_init": INIT, "20240101130000_empty": EMPTY, "20240103120000_comments": COMMENTS}
    assert printed == {(name, hashlib.sha256(body).hexdigest()): fingerprint(body.decode())
                       for name, body in exact.items()}


def columns(conn: psycopg.Connection, table: str) -> list[tuple]:
    return conn.execute(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()


def test_history_table_created_by_the_runner_is_prismas(tzurot_empty_db: str, tmp_path: Path):
    write(tmp_path, "20240101120000_init", INIT)
    deploy(tzurot_empty_db, tmp_path)
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute(PRISMA_DDL.format(table="reference_prisma_migrations"))
        assert columns(conn, "_prisma_migrations") == columns(conn, "reference_prisma_migrations")
        key = conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = '_prisma_migrations'::regclass AND i.indisprimary"
        ).fetchall()
    assert key == [("id",)]


def test_prisma_database_url_with_schema_argument(tzurot_empty_db: str, tmp_path: Path):
    """The DATABASE_URL a Prisma project already has: `?schema=` picks where everything goes."""
    params = psycopg.conninfo.conninfo_to_dict(tzurot_empty_db)
    url = (f"postgresql://{params['user']}@/{params['dbname']}?host={quote(params['host'], safe='')}"
           f"&port={params.get('port', '5432')}&schema=tenant&connection_limit=5&pool_timeout=10")
    write(tmp_path, "20240101120000_init", INIT)
    assert deploy(url, tmp_path).applied_names == ["20240101120000_init"]
    assert [s.state for s in status(url, tmp_path)] == ["applied"]
    with psycopg.connect(tzurot_empty_db) as conn:
        placed = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_name IN ('User', '_prisma_migrations') ORDER BY table_name"
        ).fetchall()
    assert placed == [("tenant", "User"), ("tenant", "_prisma_migrations")]
