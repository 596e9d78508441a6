"""The database fixtures in a user's project: isolation, --tzurot-keep, pytest-xdist and the run report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_tzurot import server
from pytest_tzurot.connect import connect
from pytest_tzurot.server.base import RunningServer

MANIFEST = "migrations:\n  dir: migrations\n"
INIT = "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL);\n"

ISOLATION = """
import pytest

@pytest.mark.parametrize("body", ["first", "second", "third"])
def test_writes_only_to_its_own_database(tzurot_conn, body):
    assert tzurot_conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    tzurot_conn.execute("INSERT INTO notes (body) VALUES (%s)", (body,))
    tzurot_conn.commit()
    assert tzurot_conn.execute("SELECT body FROM notes").fetchall() == [(body,)]
    applied = tzurot_conn.execute("SELECT migration_name FROM _prisma_migrations").fetchall()
    assert applied == [("001_init",)]
"""

RECORDING = """
import json, pathlib, pytest
from pytest_tzurot.connect import connect

@pytest.mark.parametrize("n", range({count}))
def test_records_where_it_ran(tzurot_server, tzurot_db, n):
    with connect(tzurot_db, autocommit=True) as conn:
        db, started = conn.execute(
            "SELECT current_database(), pg_postmaster_start_time()::text").fetchone()
    record = {{"db": db, "started": started, "workdir": tzurot_server.handle.get("workdir")}}
    pathlib.Path("records", f"{{n}}.json").write_text(json.dumps(record))
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yml", ci=MANIFEST)
    (pytester.path / "migrations").mkdir()
    (pytester.path / "migrations" / "001_init.sql").write_text(INIT)
    (pytester.path / "records").mkdir()
    return pytester


def _records(project: pytest.Pytester) -> list[dict[str, str]]:
    return [json.loads(p.read_text()) for p in sorted((project.path / "records").glob("*.json"))]


def test_each_test_gets_its_own_migrated_database(project: pytest.Pytester) -> None:
    project.makepyfile(test_isolation=ISOLATION)
    result = project.runpytest("-p", "pytest_tzurot", "test_isolation.py")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    manifest = (project.path / "ci.yml").resolve()
    assert re.search(r"^tzurot: backend embedded, PostgreSQL 18\.\d+, pgvector \d+\.\d+\.\d+, "
                     rf"dsn: Unix socket .*; manifest {re.escape(str(manifest))}$", out, re.M), out
    # once collection shows a database is needed: the live server, then the summary section
    assert re.search(r"^tzurot server: embedded, PostgreSQL 18\.\d+, pgvector \d+\.\d+\.\d+, "
                     r"dsn host=\S+ port=5432 user=postgres dbname=postgres$", out, re.M), out
    assert re.search(r"^=+ tzurot =+$\n^server: embedded, PostgreSQL 18", out, re.M), out


def test_keep_leaves_the_clones_and_names_them(project: pytest.Pytester) -> None:
    """Under xdist too: the controller lists what the workers kept."""
    project.makepyfile(test_rec=RECORDING.format(count=3))
    result = project.runpytest("-p", "pytest_tzurot", "--tzurot-keep", "-n", "2", "test_rec.py")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    kept = re.search(r"^kept databases \(--tzurot-keep\): (.+)$", out, re.M)
    running = re.search(
        r"^the embedded server keeps running: connect with (.+); stop it with (.+)$", out, re.M)
    assert kept and running, out
    names = kept.group(1).split(", ")
    records = _records(project)
    assert sorted(names) == sorted(r["db"] for r in records)
    srv = RunningServer(backend="embedded", dsn=running.group(1), handle={
        "workdir": records[0]["workdir"], "bin_dir": running.group(2).split()[-4].rsplit("/", 1)[0],
        "run_as": "tzurot" if running.group(2).startswith("runuser") else None})
    try:
        with connect(srv.dsn, autocommit=True) as conn:
            present = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        assert set(names) <= present
    finally:
        server.stop(srv)
    assert not Path(records[0]["workdir"]).exists()


def test_xdist_shares_one_server_and_names_clones_per_worker(project: pytest.Pytester) -> None:
    project.makepyfile(test_rec=RECORDING.format(count=4))
    result = project.runpytest("-p", "pytest_tzurot", "-n", "2", "test_rec.py")
    result.assert_outcomes(passed=4)
    records = _records(project)
    assert len(records) == 4
    assert len({(r["started"], r["workdir"]) for r in records}) == 1, "one server for the whole run"
    names = [r["db"] for r in records]
    assert len(set(names)) == 4
    assert {name.split("_")[2] for name in names} <= {"gw0", "gw1"}
    out = result.stdout.str()
    assert out.count("\nserver: embedded, PostgreSQL") == 1
    assert f"host={records[0]['workdir']} " in out
    assert not Path(records[0]["workdir"]).exists(), "the controller stops the server at the end"


def test_a_failing_migration_fails_the_tests_with_one_line(project: pytest.Pytester) -> None:
    (project.path / "migrations" / "002_broken.sql").write_text("CREATE TABLE broken (id int;\n")
    project.makepyfile(test_isolation=ISOLATION)
    result = project.runpytest("-p", "pytest_tzurot", "test_isolation.py")
    result.assert_outcomes(errors=3)
    out = result.stdout.str()
    assert "building the template failed: migration 002_broken failed" in out
    assert "Traceback" not in out and "During handling" not in out
