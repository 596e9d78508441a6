"""The one-query path of transactional migrations: exact fingerprints, errors located without a
position from PostgreSQL, failures at commit, files without a final terminator."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pytest_tzurot.errors import MigrationError
from pytest_tzurot.migrations import deploy, status
from pytest_tzurot.migrations import fingerprints as fp_mod
from pytest_tzurot.migrations.history import read
from pytest_tzurot.sql.fingerprint import fingerprint

pytestmark = pytest.mark.integration


def write(root: Path, name: str, body: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "migration.sql"
    path.write_text(body)
    return path


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_each_row_gets_its_own_files_fingerprint_and_a_missing_terminator_is_fine(
    tzurot_empty_db: str, tmp_path: Path
):
    bodies = {
        "001_a": "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1), (2);\n",
        "002_b": "CREATE TABLE b (note text DEFAULT '50% off; {braces}')\n-- no terminator, no newline",
        "003_c": "CREATE OR REPLACE FUNCTION c() RETURNS int LANGUAGE sql AS $$ SELECT 3 $$;\n",
    }
    for name, body in bodies.items():
        write(tmp_path, name, body)
    result = deploy(tzurot_empty_db, tmp_path)
    assert result.applied_names == list(bodies)
    with psycopg.connect(tzurot_empty_db) as conn:
        recorded = {r.migration_name: r.fingerprint for r in fp_mod.read(conn)}
        steps = {r.migration_name: r.applied_steps_count for r in read(conn, "_prisma_migrations")}
        default = conn.execute("SELECT column_default FROM information_schema.columns WHERE table_name = 'b'")
        assert default.fetchone() == ("'50% off; {braces}'::text",)
    assert recorded == {name: fingerprint(body) for name, body in bodies.items()}
    assert steps == {"001_a": 2, "002_b": 1, "003_c": 1}


def test_an_error_without_a_position_still_names_its_statement_and_line(tzurot_empty_db: str, tmp_path: Path):
    write(tmp_path, "001_dup", "CREATE TABLE dup (id int);\n\n-- again\nCREATE TABLE dup (id int);\n")
    with pytest.raises(MigrationError) as raised:
        deploy(tzurot_empty_db, tmp_path)
    message = str(raised.value)
    assert "001_dup/migration.sql:4: CREATE TABLE dup (id int): PostgreSQL:" in message
    assert 'relation "dup" already exists (42P07)' in message and "nothing of 001_dup was applied" in message
    assert tables(tzurot_empty_db) == {"_prisma_migrations", "_tzurot_fingerprints"}
    assert [s.state for s in status(tzurot_empty_db, tmp_path)] == ["pending"]


def test_a_failure_at_commit_applies_nothing_and_says_so(tzurot_empty_db: str, tmp_path: Path):
    write(tmp_path, "001_deferred",
          "CREATE TABLE parent (id int PRIMARY KEY);\n"
          "CREATE TABLE child (pid int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n"
          "INSERT INTO child VALUES (1);\n")
    with pytest.raises(MigrationError, match=r"001_deferred .* failed when recording its history row or "
                                             r"committing: .*\(23503\); nothing of it was applied"):
        deploy(tzurot_empty_db, tmp_path)
    assert "parent" not in tables(tzurot_empty_db)
    with psycopg.connect(tzurot_empty_db) as conn:
        assert read(conn, "_prisma_migrations") == []


def test_history_rows_are_bound_values_whatever_the_names(tzurot_empty_db: str, tmp_path: Path):
    """No value is written into the SQL text: names with quotes, backslashes, dollar signs,
    placeholders and non-ASCII letters are recorded exactly, each row with its own file."""
    import hashlib

    root = tmp_path / "migrations"
    names = ["20250101000000_it's", '20250102000000_say_"hi"', "20250103000000_back\\slash_$$_%s",
             "20250104000000_ärger_日本", "20250105000000_semi;colon -- not a comment"]
    bodies = {name: f"CREATE TABLE t{i} (id int);\n" for i, name in enumerate(names)}
    for name, body in bodies.items():
        write(root, name, body)
    assert deploy(tzurot_empty_db, root).applied_names == names
    with psycopg.connect(tzurot_empty_db) as conn:
        rows = read(conn, "_prisma_migrations")
    assert [(r.migration_name, r.checksum, r.applied_steps_count) for r in rows] == [
        (name, hashlib.sha256(body.encode()).hexdigest(), 1) for name, body in bodies.items()
    ]
    assert len({r.id for r in rows}) == len(names) and all(r.is_applied for r in rows)


def test_migrations_that_reset_the_session_do_not_lose_the_rows_of_the_next_ones(
    tzurot_empty_db: str, tmp_path: Path
):
    """The planned history rows live in session settings and a prepared statement: a file with
    RESET ALL runs statement by statement, and after it (or a DISCARD ALL outside a transaction)
    the plan is bound again for the rest."""
    root = tmp_path / "migrations"
    bodies = {
        "001_a": "CREATE TABLE a (id int);\n",
        "002_reset": "RESET ALL;\nCREATE TABLE b (id int);\n",
        "003_c": "CREATE TABLE c (id int);\n",
        "004_discard": "-- tzurot: no-transaction\nDISCARD ALL;\n",
        "005_e": "CREATE TABLE e (id int);\n",
        "006_f": "CREATE TABLE f (id int);\n",
    }
    for name, body in bodies.items():
        write(root, name, body)
    result = deploy(tzurot_empty_db, root)
    assert result.applied_names == list(bodies)
    with psycopg.connect(tzurot_empty_db) as conn:
        rows = read(conn, "_prisma_migrations")
    assert [r.migration_name for r in rows] == list(bodies) and all(r.is_applied for r in rows)
    assert {"a", "b", "c", "e", "f"} <= tables(tzurot_empty_db)


def test_a_migration_emptying_the_search_path_does_not_hide_the_history_table(
    tzurot_empty_db: str, tmp_path: Path
):
    """pg_dump's output starts with set_config('search_path', '', false): the runner names its
    tables with their schema, so the row of that migration and of the next ones, and the
    fingerprints at the end, are still recorded."""
    root = tmp_path / "migrations"
    write(root, "001_schema", "CREATE SCHEMA app;\n")
    dump = "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE app.b (id int);\n"
    write(root, "002_from_pg_dump", dump)
    for n in range(3, 11):  # enough migrations for the background fingerprints too
        write(root, f"{n:03d}_t", f"CREATE TABLE public.t{n} (id int);\n")
    names = sorted(p.name for p in root.iterdir())
    assert deploy(tzurot_empty_db, root).applied_names == names
    with psycopg.connect(tzurot_empty_db) as conn:
        assert [r.migration_name for r in read(conn, "_prisma_migrations")] == names
        printed = {r.migration_name: r.fingerprint for r in fp_mod.read(conn)}
    assert printed == {name: fingerprint((root / name / "migration.sql").read_text()) for name in names}
