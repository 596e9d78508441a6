"""The docker and external backends as a user meets them.

The external backend is pointed at an embedded server of our own (started for
this module), so its databases can be compared before and after each run.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest
from psycopg import sql

from pytest_tzurot import dsn as dsn_mod
from pytest_tzurot import server
from pytest_tzurot.connect import connect
from pytest_tzurot.server.base import RunningServer, ServerSettings

MANIFEST = "migrations:\n  dir: migrations\n"
INIT = "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL);\n"
USES_DB = """
import json, pathlib, pytest

@pytest.mark.parametrize("n", range(2))
def test_uses_db(tzurot_conn, n):
    tzurot_conn.execute("INSERT INTO notes (body) VALUES ('x')")
    db, user = tzurot_conn.execute("SELECT current_database(), current_user").fetchone()
    pathlib.Path(f"seen-{n}.json").write_text(json.dumps([db, user]))
"""


@pytest.fixture(scope="module")
def external() -> Iterator[RunningServer]:
    """A server the plugin treats as someone else's, with pgvector preinstalled in template1
    (as a DBA would do, so a role with only CREATEDB can use it)."""
    srv = server.start(ServerSettings())
    try:
        with connect(dsn_mod.with_database(srv.dsn, "template1"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
        yield srv
    finally:
        server.stop(srv)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yml", ci=MANIFEST)
    (pytester.path / "migrations").mkdir()
    (pytester.path / "migrations" / "001_init.sql").write_text(INIT)
    pytester.makepyfile(test_db=USES_DB)
    return pytester


def _role(srv: RunningServer, *, createdb: bool) -> tuple[str, str]:
    """A new login role with a password; returns (role, a URI DSN carrying the password)."""
    role, password = f"app_{secrets.token_hex(4)}", f"sekret-{secrets.token_hex(8)}"
    with connect(srv.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
            sql.Identifier(role), sql.SQL("CREATEDB" if createdb else "NOCREATEDB"), sql.Literal(password)))
    host = srv.handle["workdir"]
    return role, f"postgresql://{role}:{password}@/postgres?host={host}"


def _databases(srv: RunningServer) -> dict[str, str | None]:
    with connect(srv.dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database").fetchall()
    return dict(rows)


def test_docker_without_engine_is_one_clear_error(project: pytest.Pytester,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = project.runpytest("-p", "pytest_tzurot", "--tzurot-backend=docker", "test_db.py")
    result.assert_outcomes(errors=2)
    out = result.stdout.str() + result.stderr.str()
    assert ("docker backend: no Docker engine is reachable (unix:///nonexistent/docker.sock: no such "
            "socket); start Docker, or use --tzurot-backend=embedded") in out
    assert "--tzurot-backend=external" in out
    assert "Traceback" not in out and "DockerException" not in out and "During handling" not in out


def test_external_creates_and_drops_only_its_own_databases(
    project: pytest.Pytester, external: RunningServer
) -> None:
    role, dsn = _role(external, createdb=True)
    password = dsn.split(":")[2].split("@")[0]
    with connect(external.dsn, autocommit=True) as conn:
        conn.execute("CREATE DATABASE appdata")
    try:
        with connect(dsn_mod.with_database(external.dsn, "appdata"), autocommit=True) as conn:
            conn.execute("CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me')")
        before = _databases(external)
        result = project.runpytest("-p", "pytest_tzurot", "--tzurot-backend=external",
                                   f"--tzurot-dsn={dsn}", "-v", "-rA", "test_db.py")
        result.assert_outcomes(passed=2)
        out = result.stdout.str() + result.stderr.str()
        assert password not in out, "the password must never be printed"
        assert f"dsn postgresql://{role}:***@/postgres?host=" in out  # the report header, masked
        assert "tzurot server: external, PostgreSQL 18" in out
        seen = [json.loads((project.path / f"seen-{n}.json").read_text()) for n in range(2)]
        assert {user for _, user in seen} == {role}
        assert all(db.startswith("tzurot_") for db, _ in seen) and seen[0][0] != seen[1][0]
        assert _databases(external) == before, "only the run's own databases were created and dropped"
        with connect(dsn_mod.with_database(external.dsn, "appdata"), autocommit=True) as conn:
            assert conn.execute("SELECT v FROM precious").fetchall() == [("keep me",)]
    finally:
        with connect(external.dsn, autocommit=True) as conn:
            conn.execute("DROP DATABASE appdata")


def test_external_role_without_createdb(project: pytest.Pytester, external: RunningServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    role, dsn = _role(external, createdb=False)
    monkeypatch.setenv("TZUROT_DATABASE_URL", dsn)
    result = project.runpytest("-p", "pytest_tzurot", "--tzurot-backend=external", "test_db.py")
    result.assert_outcomes(errors=2)
    out = result.stdout.str() + result.stderr.str()
    assert f"external backend: role '{role}' on postgresql://{role}:***@/postgres?host=" in out
    assert f"cannot create databases; grant it with ALTER ROLE {role} CREATEDB" in out
    assert "sekret-" not in out and "Traceback" not in out


def test_external_without_dsn(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TZUROT_DATABASE_URL", raising=False)
    result = project.runpytest("-p", "pytest_tzurot", "--tzurot-backend=external", "test_db.py")
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    assert "external backend: no DSN; pass --tzurot-dsn or set TZUROT_DATABASE_URL" in out
    assert "Traceback" not in out


def test_external_unreachable_server_masks_the_password(project: pytest.Pytester) -> None:
    dsn = "postgresql://app:sekret-unreachable@/postgres?host=/nonexistent-socket-dir"
    result = project.runpytest("-p", "pytest_tzurot", "--tzurot-backend=external", f"--tzurot-dsn={dsn}",
                               "test_db.py")
    result.assert_outcomes(errors=2)
    out = result.stdout.str() + result.stderr.str()
    assert "cannot connect to postgresql://app:***@/postgres?host=/nonexistent-socket-dir" in out
    assert "sekret-unreachable" not in out and "Traceback" not in out
