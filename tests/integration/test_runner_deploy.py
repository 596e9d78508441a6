"""deploy / status / dry run / target / SQL errors / lock timeout, on the real server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from pytest_tzurot.errors import ConfigError, MigrationError
from pytest_tzurot.migrations import LockTimeout, deploy, status
from pytest_tzurot.migrations import fingerprints as fp_mod
from pytest_tzurot.migrations.history import read

pytestmark = pytest.mark.integration


def write(root: Path, name: str, body: str | bytes) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "migration.sql"
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return path


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    root = tmp_path / "migrations"
    write(root, "20250101000000_init", "CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int);\n")
    write(root, "20250102000000_c",
          "-- a comment; with a semicolon\nCREATE TABLE c (note text DEFAULT 'x;y %s 100%');\n")
    write(root, "20250103000000_d", "CREATE TABLE d (id int);")
    (root / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return root


def test_deploy_applies_in_order_once_and_records_rows_like_prisma(tzurot_empty_db: str, migrations: Path):
    result = deploy(tzurot_empty_db, migrations)
    assert result.applied_names == ["20250101000000_init", "20250102000000_c", "20250103000000_d"]
    assert {"a", "b", "c", "d", "_prisma_migrations", "_tzurot_fingerprints"} <= tables(tzurot_empty_db)

    again = deploy(tzurot_empty_db, migrations)
    assert again.applied_names == [] and again.already_applied == 3

    with psycopg.connect(tzurot_empty_db) as conn:
        rows = read(conn, "_prisma_migrations")
        fps = {r.migration_name: r for r in fp_mod.read(conn)}
        default = conn.execute("SELECT column_default FROM information_schema.columns WHERE table_name = 'c'")
        assert default.fetchone() == ("'x;y %s 100%'::text",)  # sent as written: no placeholders
    assert [r.migration_name for r in rows] == result.applied_names
    for row in rows:
        content = (migrations / row.migration_name / "migration.sql").read_bytes()
        assert row.checksum == hashlib.sha256(content).hexdigest()
        assert row.is_applied and row.logs is None and row.rolled_back_at is None
        assert len(row.id) == 36 and row.finished_at >= row.started_at
        assert fps[row.migration_name].checksum == row.checksum
        assert fps[row.migration_name].fingerprint  # recorded next to the row
    assert rows[0].applied_steps_count == 2
    assert all(s.ok for s in status(tzurot_empty_db, migrations))


def test_dry_run_plans_and_changes_nothing(tzurot_empty_db: str, migrations: Path):
    result = deploy(tzurot_empty_db, migrations, dry_run=True)
    assert [p.name for p in result.planned] == ["20250101000000_init", "20250102000000_c", "20250103000000_d"]
    assert all(p.transactional for p in result.planned) and result.applied == ()
    assert tables(tzurot_empty_db) == set()  # not even the history table


def test_target_applies_up_to_and_including_it(tzurot_empty_db: str, migrations: Path):
    result = deploy(tzurot_empty_db, migrations, target="20250102000000_c")
    assert result.applied_names == ["20250101000000_init", "20250102000000_c"]
    assert result.remaining == ("20250103000000_d",)
    assert [s.state for s in status(tzurot_empty_db, migrations)] == ["applied", "applied", "pending"]
    with pytest.raises(MigrationError, match="target 'nope' is not a migration"):
        deploy(tzurot_empty_db, migrations, target="nope")


def test_sql_error_names_migration_line_statement_and_message_and_applies_nothing(
    tzurot_empty_db: str, migrations: Path
):
    write(migrations, "20250104000000_bad",
          "CREATE TABLE e (id int);\n\n-- the next one fails\nINSERT INTO e\n  SELECT * FROM nowhere;\n")
    with pytest.raises(MigrationError) as raised:
        deploy(tzurot_empty_db, migrations)
    message = str(raised.value)
    assert "\n" not in message
    assert "migration 20250104000000_bad failed at" in message
    assert "20250104000000_bad/migration.sql:5:" in message  # the line of `nowhere`, not of INSERT
    assert "INSERT INTO e SELECT * FROM nowhere" in message
    assert 'relation "nowhere" does not exist (42P01)' in message
    # the migrations before it are applied; nothing of the failing one is, and it has no row
    assert "e" not in tables(tzurot_empty_db) and "d" in tables(tzurot_empty_db)
    states = {s.name: s.state for s in status(tzurot_empty_db, migrations)}
    assert states["20250104000000_bad"] == "pending"


def test_own_begin_commit_are_folded_into_the_runner_transaction(tzurot_empty_db: str, tmp_path: Path):
    write(tmp_path, "001_tx", "BEGIN;\nCREATE TABLE t1 (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE t2 (x int);\n"
          "SELECT * FROM missing_table;\nCOMMIT;\n")
    with pytest.raises(MigrationError, match="missing_table"):
        deploy(tzurot_empty_db, tmp_path)
    assert "t1" not in tables(tzurot_empty_db)  # the file's COMMIT did not commit half of it
    write(tmp_path, "001_tx", "BEGIN;\nCREATE TABLE t1 (id int);\nCOMMIT;\n")
    assert deploy(tzurot_empty_db, tmp_path).applied[0].statements == 1
    write(tmp_path, "002_savepoint", "CREATE TABLE sp (id int);\nSAVEPOINT s;\nINSERT INTO sp VALUES (1);\n"
          "ROLLBACK TO SAVEPOINT s;\nINSERT INTO sp VALUES (2);\n")
    assert deploy(tzurot_empty_db, tmp_path).applied_names == ["002_savepoint"]
    with psycopg.connect(tzurot_empty_db) as conn:
        assert conn.execute("SELECT id FROM sp").fetchall() == [(2,)]
    write(tmp_path, "003_rollback", "CREATE TABLE t3 (id int);\nROLLBACK;\n")
    with pytest.raises(MigrationError, match=r"003_rollback/migration.sql:2: ROLLBACK inside a migration"):
        deploy(tzurot_empty_db, tmp_path)


def test_status_reports_every_state(tzurot_empty_db: str, migrations: Path):
    deploy(tzurot_empty_db, migrations, target="20250102000000_c")
    # drift an applied file, delete another applied one, add a pending one
    (migrations / "20250102000000_c" / "migration.sql").write_text("CREATE TABLE c (note text);\n")
    content = (migrations / "20250101000000_init" / "migration.sql").read_bytes()
    for child in (migrations / "20250101000000_init").iterdir():
        child.unlink()
    (migrations / "20250101000000_init").rmdir()
    states = {s.name: s.state for s in status(tzurot_empty_db, migrations)}
    assert states == {"20250101000000_init": "missing", "20250102000000_c": "drifted",
                      "20250103000000_d": "pending"}
    # deploy warns about both and still applies the pending one
    result = deploy(tzurot_empty_db, migrations)
    assert result.applied_names == ["20250103000000_d"]
    assert any("checksum drift" in w for w in result.warnings)
    assert any("missing" in w for w in result.warnings)
    # restoring the file with CRLF line endings is not drift (Prisma's tolerance)
    write(migrations, "20250101000000_init", content.replace(b"\n", b"\r\n"))
    assert {s.name: s.state for s in status(tzurot_empty_db, migrations)}["20250101000000_init"] == "applied"


def test_lock_timeout_names_the_holder(tzurot_empty_db: str, migrations: Path):
    with psycopg.connect(tzurot_empty_db, autocommit=True, application_name="someone-else") as holder:
        holder.execute("SELECT pg_advisory_lock(72707369)")
        pid = holder.info.backend_pid
        with pytest.raises(LockTimeout) as raised:
            deploy(tzurot_empty_db, migrations, lock_timeout=0.3)
    message = str(raised.value)
    assert f"held by pid {pid}" in message and "'someone-else'" in message
    assert "pg_advisory_lock(72707369)" in message and "within 0.3s" in message
    assert tables(tzurot_empty_db) == set()  # nothing applied
    assert deploy(tzurot_empty_db, migrations).applied_names  # released: works again


def test_unparseable_fingerprint_is_stored_as_null(tzurot_empty_db: str, migrations: Path,
                                                  monkeypatch: pytest.MonkeyPatch):
    import pytest_tzurot.sql.fingerprint as fingerprint_mod

    def broken(sql: str) -> str:
        raise ValueError("cannot parse")

    monkeypatch.setattr(fingerprint_mod, "fingerprint", broken)
    assert len(deploy(tzurot_empty_db, migrations).applied) == 3
    with psycopg.connect(tzurot_empty_db) as conn:
        assert [r.fingerprint for r in fp_mod.read(conn)] == [None, None, None]


def test_malformed_dsn_is_a_config_error(migrations: Path):
    with pytest.raises(ConfigError, match="malformed DSN"):
        deploy("host=x port", migrations)


def test_migrations_applied_before_a_failure_keep_their_fingerprints(tzurot_empty_db: str, tmp_path: Path):
    from pytest_tzurot.sql.fingerprint import fingerprint

    root = tmp_path / "migrations"
    bodies = {"20250101000000_a": "CREATE TABLE a (id int);", "20250102000000_b": "CREATE TABLE b (id int);"}
    for name, body in bodies.items():
        write(root, name, body)
    write(root, "20250103000000_broken", "CREATE TABLE c (id int);\nSELECT * FROM nowhere;\n")
    with pytest.raises(MigrationError, match="20250103000000_broken failed"):
        deploy(tzurot_empty_db, root)
    with psycopg.connect(tzurot_empty_db) as conn:
        recorded = {r.migration_name: r.fingerprint for r in fp_mod.read(conn)}
    assert recorded == {name: fingerprint(body) for name, body in bodies.items()}


def test_applied_migrations_without_a_fingerprint_get_one_from_their_unchanged_file(
        tzurot_empty_db: str, migrations: Path):
    """A deploy killed after applying but before recording fingerprints, or rows written by
    Prisma: the next deploy records them, but only for files that are the applied bytes."""
    from pytest_tzurot.sql.fingerprint import fingerprint

    deploy(tzurot_empty_db, migrations)
    edited = migrations / "20250103000000_d" / "migration.sql"
    edited.write_text("CREATE TABLE d (id bigint);")  # drifted: no longer the applied version
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute("DELETE FROM _tzurot_fingerprints")
    again = deploy(tzurot_empty_db, migrations)
    assert again.applied_names == [] and again.warnings  # nothing to apply; the drift is reported
    with psycopg.connect(tzurot_empty_db) as conn:
        recorded = {(r.migration_name, r.checksum): r.fingerprint for r in fp_mod.read(conn)}
        rows = {r.migration_name: r.checksum for r in read(conn, "_prisma_migrations")}
    unchanged = ["20250101000000_init", "20250102000000_c"]
    files = {name: (migrations / name / "migration.sql").read_text() for name in unchanged}
    assert recorded == {(name, rows[name]): fingerprint(text) for name, text in files.items()}


def test_a_migration_applied_again_refreshes_its_fingerprint_row(tzurot_empty_db: str, migrations: Path):
    """History rows deleted by hand (the side table kept): the re-applied migrations update their
    existing fingerprint rows instead of failing on the key."""
    deploy(tzurot_empty_db, migrations)
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute("DROP TABLE a, b, c, d")
        conn.execute("DELETE FROM _prisma_migrations")
        conn.execute("UPDATE _tzurot_fingerprints SET fingerprint = 'stale',"
                     " recorded_at = now() - interval '1 day'")
    assert len(deploy(tzurot_empty_db, migrations).applied) == 3
    with psycopg.connect(tzurot_empty_db) as conn:
        rows = fp_mod.read(conn)
        fresh = conn.execute("SELECT bool_and(recorded_at > now() - interval '1 hour')"
                             " FROM _tzurot_fingerprints")
        assert fresh.fetchone() == (True,)
    assert len(rows) == 3 and all(r.fingerprint not in (None, "stale") for r in rows)
