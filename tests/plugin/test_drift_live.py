"""`drift[...]` guard items against a live database given with --tzurot-drift-dsn (read-only)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pytest_tzurot.drift.check import read_only
from pytest_tzurot.migrations import deploy

pytestmark = pytest.mark.integration


def write(root: Path, name: str, sql: str) -> None:
    path = root / "migrations" / name / "migration.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)


def test_drift_items_report_the_live_database(pytester: pytest.Pytester, tzurot_empty_db: str) -> None:
    root = pytester.path
    (root / "ci.yml").write_text("migrations:\n  dir: migrations\n")
    write(root, "20250101000000_a", "CREATE TABLE a (id int);\n")
    write(root, "20250102000000_b", "CREATE TABLE b (id int);\n")
    write(root, "20250103000000_c", "CREATE TABLE c (id int);\n")
    deploy(tzurot_empty_db, root / "migrations")
    write(root, "20250101000000_a", "-- cosmetic\ncreate table A (id INT);\n")
    write(root, "20250102000000_b", "CREATE TABLE b (id bigint);\n")
    write(root, "20250104000000_d", "CREATE TABLE d (id int);\n")
    with psycopg.connect(tzurot_empty_db) as conn:
        before = conn.execute("SELECT migration_name, checksum FROM _prisma_migrations ORDER BY 1").fetchall()

    result = pytester.runpytest("-p", "pytest_tzurot", "ci.yml", "-p", "no:cacheprovider", "-v",
                                "--tzurot-drift-dsn", tzurot_empty_db, "-k", "drift")
    result.stdout.fnmatch_lines_random([
        "*drift[[]20250101000000_a[]] FAILED*",
        "*drift[[]20250102000000_b[]] FAILED*",
        "*drift[[]20250103000000_c[]] PASSED*",
        "*drift[[]20250104000000_d[]] PASSED*",
        "*drift[[]history[]] PASSED*",
        "*20250101000000_a: applied with checksum * file now *: cosmetic edit, proved by the "
        "_tzurot_fingerprints side table; fix the checksum with `tzurot drift fix 20250101000000_a`*",
        "*20250102000000_b: applied with checksum*the edit changes meaning*add a new migration instead*",
        "*20250104000000_d: pending on the drift database*",
    ])
    assert result.ret == 1
    assert "password" not in result.stdout.str()
    with psycopg.connect(tzurot_empty_db) as conn:
        after = conn.execute("SELECT migration_name, checksum FROM _prisma_migrations ORDER BY 1").fetchall()
    assert after == before

    unreachable = pytester.runpytest("-p", "pytest_tzurot", "ci.yml", "-p", "no:cacheprovider", "-k", "drift",
                                     "--tzurot-drift-dsn", "postgresql://u:hunter2@127.0.0.1:1/x")
    assert unreachable.ret == 1
    unreachable.stdout.fnmatch_lines(["*drift check against --tzurot-drift-dsn: cannot connect to*"])
    assert "hunter2" not in unreachable.stdout.str()


def test_the_drift_connection_cannot_write(tzurot_empty_db: str) -> None:
    with read_only(tzurot_empty_db) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("CREATE TABLE sneaky (id int)")
