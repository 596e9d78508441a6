"""The sampler, the new-backend detector, leak detection and server limits on a real PostgreSQL."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from pytest_tzurot.connections.limits import read_limits
from pytest_tzurot.connections.watch import ConnectionBudgetExceeded, watch
from pytest_tzurot.errors import ServerError

BURST = 0.010  # seconds three connections are held together (caught in every benchmark trial)


def test_a_burst_of_a_few_milliseconds_is_caught_every_time(tzurot_db: str) -> None:
    for _ in range(3):
        with watch(tzurot_db) as w:
            conns = [psycopg.connect(tzurot_db, application_name="burst") for _ in range(3)]
            time.sleep(BURST)
            for conn in conns:
                conn.close()
        assert w.report is not None
        assert w.report.peak == 3, w.report.peak_text()
        assert {b.application_name for b in w.report.peak_backends} == {"burst"}
        assert w.report.stats.samples > 1 and w.report.leaks == ()


def test_the_watch_excludes_itself_and_counts_what_was_open_before(tzurot_db: str) -> None:
    with psycopg.connect(tzurot_db, application_name="before") as before:
        before.execute("SELECT 1")
        with watch(tzurot_db) as w:
            pass
        assert w.report is not None
        assert (w.report.peak, w.report.baseline, w.report.new.count) == (1, 1, 0)
        assert w.report.leaks == ()  # open before the watch: not its business


def client_per_call(dsn: str) -> int:
    """The anti-pattern: a new client for every call (like `new PrismaClient()` per request)."""
    with psycopg.connect(dsn, application_name="per-call") as conn:
        return int(conn.execute("SELECT 1").fetchone()[0])


def pooled_call(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return int(conn.execute("SELECT 1").fetchone()[0])


def test_the_detector_fails_a_client_per_call_path_and_passes_the_pooled_one(tzurot_db: str) -> None:
    with watch(tzurot_db) as w:
        with pytest.raises(ConnectionBudgetExceeded) as caught, w.new_connections(max=1):
            for _ in range(5):
                client_per_call(tzurot_db)
        message = str(caught.value)
        assert message.startswith("this block opened 5 new connections")
        assert "'per-call'" in message and "a new client per call?" in message
        with ConnectionPool(tzurot_db, min_size=0, max_size=2, open=True) as pool, w.new_connections(max=1):
            for _ in range(20):
                pooled_call(pool)
    assert w.report is not None and w.report.new.count == 6


def test_a_connection_left_open_is_named_as_a_leak(tzurot_db: str) -> None:
    closed = psycopg.connect(tzurot_db, application_name="closed-properly")
    with watch(tzurot_db, leak_grace=0.3) as w:
        leaked = psycopg.connect(tzurot_db, application_name="leaky")
        leaked.execute("SELECT 42")  # autocommit off: the session stays idle in transaction
        closed.close()
    try:
        assert w.report is not None
        assert [leak.application_name for leak in w.report.leaks] == ["leaky"]
        assert w.report.leaks[0].state == "idle in transaction"
        assert "pid" in w.report.leak_text() and "SELECT 42" in w.report.leak_text()
    finally:
        leaked.close()


def test_server_limits_match_show(tzurot_server) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(tzurot_server.dsn, autocommit=True) as conn:
        limits = read_limits(conn)
        shown = int(conn.execute("SHOW max_connections").fetchone()[0])
        su = int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])
    assert (limits.max_connections, limits.superuser_reserved) == (shown, su)
    assert limits.available == shown - su - limits.reserved
    assert limits.in_use >= 1


def test_a_sampler_killed_mid_watch_is_reported_not_silently_trusted(tzurot_db: str) -> None:
    w = watch(tzurot_db).start()
    with psycopg.connect(tzurot_db, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (w.sampler.pid,))
    expected = r"the connection sampler on database tzurot_\w+ stopped early, so its figures are incomplete: "
    with pytest.raises(ServerError, match=expected + "terminating connection"):
        w.stop()
