"""tzurot_pool and connection_budget with this repository's ci.yml (3 services of 20)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from psycopg_pool import ConnectionPool, PoolTimeout

from pytest_tzurot.connections.sizing import PoolExhausted


def test_tzurot_pool_defaults_to_the_largest_service(tzurot_pool) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(tzurot_pool, ConnectionPool)
    assert (tzurot_pool.service.name, tzurot_pool.max_size, tzurot_pool.min_size) == ("api-gateway", 20, 0)
    with tzurot_pool.connection() as conn:
        assert conn.execute("SHOW application_name").fetchone()[0] == "tzurot-pool:api-gateway"
        assert conn.execute("SELECT count(*) FROM memories").fetchone()[0] == 0  # the migrated clone


@pytest.mark.parametrize("tzurot_pool", [{"service": "bot-client", "timeout": 0.1}], indirect=True)
def test_an_exhausted_pool_says_so_with_its_size(tzurot_pool) -> None:  # type: ignore[no-untyped-def]
    held = [tzurot_pool.getconn() for _ in range(20)]
    try:
        with pytest.raises(PoolTimeout) as caught:
            tzurot_pool.getconn()
    finally:
        for conn in held:
            tzurot_pool.putconn(conn)
    assert isinstance(caught.value, PoolExhausted)
    assert str(caught.value).startswith(
        "pool 'bot-client' exhausted: 20 of its 20 connections were checked out"
        " and none came back within 0.10 s"
    )
    assert "pool.services.bot-client in ci.yml" in str(caught.value)


@pytest.mark.tzurot_connections(max=3)
@pytest.mark.tzurot_new_connections(max=3)
def test_a_pooled_workload_keeps_to_its_budget(tzurot_db: str, connection_budget) -> None:  # type: ignore[no-untyped-def]
    with ConnectionPool(tzurot_db, min_size=1, max_size=3, open=True) as pool:

        def request(n: int) -> int:
            with pool.connection() as conn:
                return int(conn.execute("SELECT %s::int + 0 FROM pg_sleep(0.001)", (n,)).fetchone()[0])

        with ThreadPoolExecutor(max_workers=8) as executor:
            assert sum(executor.map(request, range(40))) == sum(range(40))
        with connection_budget.new_connections(max=0):
            request(1)
    assert 1 <= connection_budget.peak <= 3
    assert connection_budget.new_since_start().count <= 3
