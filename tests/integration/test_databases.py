"""The janitor on a real server: it creates its own databases, clones them, and drops only those."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_tzurot.connect import connect
from pytest_tzurot.databases import Janitor, new_run_id
from pytest_tzurot.errors import ServerError
from pytest_tzurot.server.base import RunningServer

pytestmark = pytest.mark.integration


@pytest.fixture
def janitor(tzurot_server: RunningServer) -> Iterator[Janitor]:
    jan = Janitor(tzurot_server.dsn, new_run_id(), tzurot_server.server_version_num)
    yield jan
    for name in jan.existing():
        jan.drop(name)


def _databases(dsn: str) -> set[str]:
    with connect(dsn, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.parametrize("strategy", ["file_copy", "wal_log"])
def test_clone_copies_the_template(janitor: Janitor, strategy: str) -> None:
    template = janitor.create("template")
    with connect(janitor.dsn(template), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (42)")
    janitor.freeze_template(template)
    clone = janitor.create("clone", template=template, strategy=strategy)
    with connect(janitor.dsn(clone), autocommit=True) as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [(42,)]
        conn.execute("INSERT INTO t VALUES (7)")
    janitor.drop(clone)
    assert janitor.existing() == [template]
    # the template is frozen: no client can connect, so a clone never waits on a session
    with pytest.raises(ServerError, match="not currently accepting connections"):
        connect(janitor.dsn(template))
    janitor.drop(template)
    assert janitor.existing() == []


def test_names_carry_the_run_id_and_a_comment(janitor: Janitor) -> None:
    name = janitor.create("gw0_1_test_x")
    assert name == f"tzurot_{janitor.run_id}_gw0_1_test_x"
    with connect(janitor.admin_dsn, autocommit=True) as conn:
        comment = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()[0]
    assert comment == f"throwaway database of pytest-tzurot run {janitor.run_id}"
    with pytest.raises(ServerError, match=f"cannot create database {name}.* already exists"):
        janitor.create("gw0_1_test_x")


def test_refuses_databases_it_did_not_create(janitor: Janitor, tzurot_server: RunningServer) -> None:
    other = Janitor(tzurot_server.dsn, new_run_id(), tzurot_server.server_version_num)
    foreign = other.create("foreign")
    try:
        # other xdist workers create and drop their own tzurot_* databases meanwhile
        def untouchable() -> set[str]:
            return {d for d in _databases(tzurot_server.dsn) if not d.startswith("tzurot_") or d == foreign}

        before = untouchable()
        for name in ("postgres", "template1", foreign):
            with pytest.raises(ServerError, match=f"refusing to touch database '{name}'"):
                janitor.drop(name)
            with pytest.raises(ServerError, match="refusing to touch"):
                janitor.create("sneaky", template=name)
        assert untouchable() == before
        assert foreign not in janitor.existing()
        assert not [d for d in janitor.existing() if d.endswith("sneaky")]
    finally:
        other.drop(foreign)


def test_drop_forces_open_sessions_out(janitor: Janitor) -> None:
    name = janitor.create("busy")
    conn = connect(janitor.dsn(name))
    try:
        conn.execute("SELECT 1")
        janitor.drop(name)
    finally:
        conn.close()
    assert janitor.existing() == []


@pytest.mark.parametrize("suffix", ["Upper", "semi;colon", "x" * 60])
def test_rejects_unsafe_or_long_suffixes(janitor: Janitor, suffix: str) -> None:
    with pytest.raises(ValueError, match="invalid database suffix"):
        janitor.create(suffix)


def test_rejects_unknown_strategy(janitor: Janitor) -> None:
    template = janitor.create("tpl")
    with pytest.raises(ValueError, match="clone strategy must be one of"):
        janitor.create("c", template=template, strategy="snapshot")
