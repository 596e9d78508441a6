"""`tzurot migrate` as real processes: 8 concurrent deploys, SIGKILL mid-migration, a wrong password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pytest_tzurot.migrations import deploy, fingerprints, status
from pytest_tzurot.migrations.history import read
from pytest_tzurot.sql.fingerprint import fingerprint

pytestmark = pytest.mark.integration


def tzurot(*args: str, cwd: Path, **kw) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.Popen([sys.executable, "-m", "pytest_tzurot", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def write(root: Path, name: str, body: str) -> None:
    (root / name).mkdir(parents=True, exist_ok=True)
    (root / name / "migration.sql").write_text(body)


def test_eight_concurrent_deploys_apply_each_migration_exactly_once(tzurot_empty_db: str, tmp_path: Path):
    root = tmp_path / "migrations"
    write(root, "001_log", "CREATE TABLE applications (migration text NOT NULL);\n")
    for n in range(2, 10):  # 10 migrations: enough for the forked fingerprint child
        # a second run of any of these would fail (CREATE TABLE) or double-count (INSERT)
        write(root, f"00{n}_step", f"CREATE TABLE step_{n} (id int);\n"
                                   f"INSERT INTO applications VALUES ('00{n}_step');\n")
    write(root, "010_index", "CREATE INDEX CONCURRENTLY step_2_id ON step_2 (id);\n"
                             "INSERT INTO applications VALUES ('010_index');\n")
    procs = [tzurot("migrate", "deploy", "--dsn", tzurot_empty_db, "--dir", str(root), cwd=tmp_path)
             for _ in range(8)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0] * 8, [err for _, _, err in results]
    assert all(err == "" for _, _, err in results)
    applied_lines = [ln for _, out, _ in results for ln in out.splitlines() if ln.startswith("applied ")]
    assert sorted(line.split()[1] for line in applied_lines) == sorted(p.name for p in root.iterdir())
    with psycopg.connect(tzurot_empty_db) as conn:
        rows = read(conn, "_prisma_migrations")
        counts = dict(conn.execute("SELECT migration, count(*) FROM applications GROUP BY 1").fetchall())
        printed = {r.migration_name: r.fingerprint for r in fingerprints.read(conn)}
    assert sorted(r.migration_name for r in rows) == sorted(p.name for p in root.iterdir())
    assert all(r.is_applied for r in rows)
    assert counts == {f"00{n}_step": 1 for n in range(2, 10)} | {"010_index": 1}
    # the deploying process was single-threaded: a forked child computed these
    assert printed == {p.name: fingerprint((p / "migration.sql").read_text()) for p in root.iterdir()}


def test_sigkill_during_a_transactional_migration_leaves_nothing(tzurot_empty_db: str, tmp_path: Path):
    root = tmp_path / "migrations"
    write(root, "001_first", "CREATE TABLE first_one (id int);\n")
    write(root, "002_long", "CREATE TABLE crash_a (id int);\n"
                            "INSERT INTO crash_a SELECT generate_series(1, 1000);\n"
                            "SELECT pg_sleep(2);\n"
                            "CREATE TABLE crash_b (id int);\n")
    proc = tzurot("migrate", "deploy", "--dsn", tzurot_empty_db, "--dir", str(root), cwd=tmp_path)
    with psycopg.connect(tzurot_empty_db, autocommit=True) as watcher:
        pid = None
        deadline = time.monotonic() + 60
        while pid is None and time.monotonic() < deadline and proc.poll() is None:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'tzurot migrate' AND query LIKE '%%pg_sleep(2)%%'"
                " AND state = 'active'"
            ).fetchone()
            pid = row[0] if row else None
            time.sleep(0.05)
        assert pid is not None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        # the server notices the dead client, rolls back and releases the lock
        while watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        found = watcher.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {r[0] for r in found}
        assert "crash_a" not in tables and "crash_b" not in tables and "first_one" in tables
        assert [r.migration_name for r in read(watcher, "_prisma_migrations")] == ["001_first"]
    # the next deploy needs no manual step
    assert deploy(tzurot_empty_db, root).applied_names == ["002_long"]
    assert all(s.ok for s in status(tzurot_empty_db, root))


@pytest.fixture
def password_role(tzurot_server, tzurot_empty_db: str):
    """A role that must log in with a password over the Unix socket (the embedded server trusts
    local connections, so a pg_hba.conf line for this role alone asks for scram-sha-256)."""
    if tzurot_server.backend != "embedded":
        pytest.skip("edits pg_hba.conf: only on the embedded server this run started")
    role = f"tzurot_pw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(tzurot_server.dsn, autocommit=True) as admin:
        hba = Path(admin.execute("SHOW hba_file").fetchone()[0])
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'right-secret'").format(sql.Identifier(role)))
        original = hba.read_text()
        _replace(hba, f"local all {role} scram-sha-256\n" + original)
        admin.execute("SELECT pg_reload_conf()")
        try:
            yield role
        finally:
            _replace(hba, original)
            admin.execute("SELECT pg_reload_conf()")
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tzurot-tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    tmp.replace(path)  # atomic: the postmaster never reads half a file


def test_wrong_password_is_one_line_exit_2_and_never_printed(password_role: str, tzurot_empty_db: str,
                                                            tmp_path: Path):
    root = tmp_path / "migrations"
    write(root, "001_a", "CREATE TABLE a (id int);\n")
    params = psycopg.conninfo.conninfo_to_dict(tzurot_empty_db)
    host, port, db = params["host"], params.get("port", "5432"), params["dbname"]

    def run(password: str) -> tuple[int, str, str]:
        dsn = f"postgresql://{password_role}:{password}@/{db}?host={host}&port={port}"
        proc = tzurot("migrate", "deploy", "--dsn", dsn, "--dir", str(root), cwd=tmp_path)
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err

    deadline = time.monotonic() + 10
    while True:  # the reload is asynchronous: wait until the server asks for the password
        code, out, err = run("wrong-secret")
        if code != 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "password authentication failed" in err and "wrong-secret" not in err and "***" in err
    with psycopg.connect(tzurot_empty_db) as conn:
        assert read(conn, "_prisma_migrations") == []
    # the same role with the right password gets in (so the failure above was the password)
    code, out, err = run("right-secret")
    assert code == 2 and "permission denied for schema public" in err  # in, but may not create tables
