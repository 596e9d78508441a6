"""Migrations that cannot run in a transaction: statement by statement, failures recorded and blocking."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from pytest_tzurot.cli import main
from pytest_tzurot.errors import MigrationError
from pytest_tzurot.migrations import deploy, resolve, status
from pytest_tzurot.migrations import fingerprints as fp_mod
from pytest_tzurot.migrations.history import read

pytestmark = pytest.mark.integration

GOOD_INDEX = "CREATE TABLE items (id int, v int);\nCREATE INDEX CONCURRENTLY items_v ON items (v);\n"
# No directive: CONCURRENTLY alone sends it outside a transaction. Fails at its 3rd statement.
FAILING = (
    "CREATE TABLE IF NOT EXISTS half (id int);\n"
    "INSERT INTO half VALUES (1);\n"
    "CREATE INDEX CONCURRENTLY half_idx\n    ON nowhere (id);\n"
)


def write(root: Path, name: str, body: str) -> None:
    (root / name).mkdir(parents=True, exist_ok=True)
    (root / name / "migration.sql").write_text(body)


def rows(dsn: str) -> list:
    with psycopg.connect(dsn) as conn:
        return read(conn, "_prisma_migrations")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["migrate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_concurrent_index_runs_outside_a_transaction(tzurot_empty_db: str, tmp_path: Path):
    write(tmp_path, "001_items", GOOD_INDEX)
    write(tmp_path, "002_vacuum", "-- tzurot: no-transaction\nANALYZE items;\n")
    plan = deploy(tzurot_empty_db, tmp_path, dry_run=True).planned
    assert [(p.transactional, p.reason) for p in plan] == [
        (False, "CREATE INDEX CONCURRENTLY at line 2"), (False, "-- tzurot: no-transaction directive")]
    assert deploy(tzurot_empty_db, tmp_path).applied_names == ["001_items", "002_vacuum"]
    recorded = rows(tzurot_empty_db)
    assert [(r.is_applied, r.applied_steps_count) for r in recorded] == [(True, 2), (True, 1)]
    with psycopg.connect(tzurot_empty_db) as conn:
        valid = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_v'::regclass")
        assert valid.fetchone() == (True,)
        # recorded after the row, once finished
        assert {r.migration_name for r in fp_mod.read(conn)} == {"001_items", "002_vacuum"}


def test_failure_is_recorded_blocks_deploys_until_resolved(tzurot_empty_db: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]):
    write(tmp_path, "001_half", FAILING)
    with pytest.raises(MigrationError) as raised:
        deploy(tzurot_empty_db, tmp_path)
    message = str(raised.value)
    assert "001_half/migration.sql:4:" in message  # `ON nowhere` is on line 4
    assert 'relation "nowhere" does not exist' in message and "2 of 3 statement(s) were applied" in message
    [row] = rows(tzurot_empty_db)
    assert row.is_failed and row.applied_steps_count == 2 and "nowhere" in (row.logs or "")

    # a later migration is blocked, with the failed one's name, its logs and the way out
    write(tmp_path, "002_next", "CREATE TABLE next_one (id int);\n")
    code, _, err = cli(capsys, "deploy", "--dsn", tzurot_empty_db, "--dir", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "001_half failed earlier" in err and "nowhere" in err and "resolve --rolled-back 001_half" in err
    code, out, _ = cli(capsys, "status", "--dsn", tzurot_empty_db, "--dir", str(tmp_path), "--format", "json")
    assert code == 1
    assert [(m["name"], m["state"]) for m in json.loads(out)["migrations"]] == [
        ("001_half", "failed"), ("002_next", "pending")]

    # resolve: only a failed migration can be rolled back; after that deploy applies it again
    code, _, err = cli(capsys, "resolve", "--dsn", tzurot_empty_db, "--dir", str(tmp_path),
                       "--rolled-back", "002_next")
    assert code == 2 and "cannot be marked rolled back" in err
    code, out, _ = cli(capsys, "resolve", "--dsn", tzurot_empty_db, "--dir", str(tmp_path),
                       "--rolled-back", "001_half")
    assert code == 0 and "rolled back" in out
    assert status(tzurot_empty_db, tmp_path)[0].state == "rolled_back"
    write(tmp_path, "001_half", FAILING.replace("nowhere", "half"))  # the fix
    code, out, _ = cli(capsys, "deploy", "--dsn", tzurot_empty_db, "--dir", str(tmp_path))
    assert code == 0 and "applied 001_half" in out and "applied 002_next" in out
    code, out, _ = cli(capsys, "status", "--dsn", tzurot_empty_db, "--dir", str(tmp_path))
    assert code == 0 and "all applied" in out
    history = rows(tzurot_empty_db)
    assert [(r.migration_name, r.is_applied, r.rolled_back_at is not None) for r in history] == [
        ("001_half", False, True), ("001_half", True, False), ("002_next", True, False)]


def test_resolve_applied_records_the_current_file(tzurot_empty_db: str, tmp_path: Path):
    write(tmp_path, "001_half", FAILING)
    with pytest.raises(MigrationError):
        deploy(tzurot_empty_db, tmp_path)
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:  # finished by hand
        conn.execute("CREATE INDEX half_idx ON half (id)")
    assert "recorded as applied" in resolve(tzurot_empty_db, tmp_path, applied="001_half")
    failed, applied = rows(tzurot_empty_db)
    assert failed.rolled_back_at is not None and applied.is_applied and applied.applied_steps_count == 0
    assert applied.checksum == failed.checksum
    with pytest.raises(MigrationError, match="already recorded as applied"):
        resolve(tzurot_empty_db, tmp_path, applied="001_half")
    assert deploy(tzurot_empty_db, tmp_path).applied_names == []
