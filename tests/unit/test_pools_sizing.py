"""Service choice, the fixture's parameter, and the small result types (no database)."""

from __future__ import annotations

import pytest

from pytest_tzurot.config import PoolService, PoolSettings
from pytest_tzurot.connections.detector import NewConnections
from pytest_tzurot.connections.load import LoadReport
from pytest_tzurot.connections.sampler import Backend, SamplerStats
from pytest_tzurot.connections.sizing import DEFAULT_TIMEOUT, pick_service
from pytest_tzurot.errors import ConfigError
from pytest_tzurot.guards.pools import _pool_param

POOL = PoolSettings(
    100, 10, (PoolService("api", 10), PoolService("worker", 20, replicas=2), PoolService("bot", 20))
)


def test_the_default_service_is_the_largest_pool_first_of_equals() -> None:
    assert pick_service(POOL, None).name == "worker"
    assert pick_service(POOL, "api").size == 10


def test_an_unknown_or_missing_service_is_a_config_error_naming_the_known_ones() -> None:
    known = r"no service 'nope' in pool.services of ci.yml \(known: api, worker, bot\)"
    with pytest.raises(ConfigError, match=known):
        pick_service(POOL, "nope", "ci.yml")
    with pytest.raises(ConfigError, match="has none"):
        pick_service(None, None)


def test_the_indirect_parameter_is_a_name_or_a_mapping() -> None:
    assert _pool_param(None) == (None, DEFAULT_TIMEOUT)
    assert _pool_param("api") == ("api", DEFAULT_TIMEOUT)
    assert _pool_param({"service": "api", "timeout": 0.5}) == ("api", 0.5)
    for bad in ({"timeout": 0}, {"size": 3}, 3, {"timeout": True}):
        with pytest.raises(pytest.fail.Exception, match="tzurot_pool parameter"):
            _pool_param(bad)


def test_new_connections_take_the_larger_of_the_two_counts() -> None:
    seen = tuple(Backend(pid, "idle", "app", 0.0) for pid in (1, 2))
    assert NewConnections(seen, 5).count == 5
    assert NewConnections(seen, None).count == 2
    text = NewConnections(seen, 5).describe()
    assert text.startswith("5 new connections (5 by the server's session counter, 2 seen by the sampler")
    assert "'app' ×2" in text


def test_sampler_and_load_figures() -> None:
    stats = SamplerStats(samples=2000, elapsed=0.1, max_gap=0.002)
    assert stats.mean_interval == pytest.approx(0.00005)
    assert "every 0.050 ms on average (longest gap 2.00 ms)" in stats.describe()
    load = LoadReport(clients=3, requests=4, waits=[0.0, 0.0005, 0.002, 0.010])
    assert load.waited() == 2 and load.percentile(1.0) == 0.010 and load.percentile(0.5) == 0.002
