"""Budget arithmetic: the sum, the live limit, and which service to shrink (no database)."""

from __future__ import annotations

from pytest_tzurot.config import PoolService, PoolSettings
from pytest_tzurot.connections.budget import BudgetCheck
from pytest_tzurot.connections.limits import ServerLimits

THREE = (
    PoolService("api-gateway", 20),
    PoolService("ai-worker", 20, replicas=3),
    PoolService("bot-client", 20),
)


def test_a_budget_that_fits_passes_and_sums_size_times_replicas() -> None:
    check = BudgetCheck(PoolSettings(100, 10, (PoolService("a", 20), PoolService("b", 20, replicas=2))))
    assert (check.services_total, check.needed, check.over, check.ok) == (60, 70, -30, True)
    assert "60 pooled + 10 reserved = 70 of 100" in check.summary()


def test_an_oversubscribed_budget_shows_the_arithmetic_line_by_line() -> None:
    check = BudgetCheck(PoolSettings(100, 10, THREE), source="ci.yml")
    assert not check.ok and check.over == 10
    lines = check.message().splitlines()
    assert lines[0] == ("pool budget exceeded in ci.yml: the services and reserved headroom need 110 "
                        "connections, pool.max_connections is 100")
    table = [" ".join(line.split()) for line in lines[1:8]]
    assert table == [
        "api-gateway 20 × 1 replica 20",
        "ai-worker 20 × 3 replicas 60",
        "bot-client 20 × 1 replica 20",
        "+ reserved (pool.reserved) 10",
        "= needed 110",
        "pool.max_connections 100",
        "over by 10",
    ]


def test_the_advice_shrinks_the_largest_service_just_enough() -> None:
    check = BudgetCheck(PoolSettings(100, 10, THREE), source="ci.yml")
    advice = check.shrink_advice()
    assert [(item.service.name, item.new_size, item.saves) for item in advice] == [("ai-worker", 16, 12)]
    expected = "shrink ai-worker: pool.services.ai-worker.size 20 → 16 (× 3 replicas = 48, saves 12)"
    assert expected in check.message()


def test_the_advice_moves_on_to_the_next_service_and_respects_min_size() -> None:
    pool = PoolSettings(20, 0, (PoolService("big", 10, min_size=8), PoolService("small", 9)))
    advice = BudgetCheck(pool).shrink_advice()  # 19 fits in 20: nothing to shrink
    assert advice == []
    pool = PoolSettings(12, 0, (PoolService("big", 10, min_size=8), PoolService("small", 9)))
    advice = BudgetCheck(pool).shrink_advice()  # over by 7: big can give 2, small gives 5
    assert [(item.service.name, item.new_size) for item in advice] == [("big", 8), ("small", 4)]


def test_when_no_shrinking_is_enough_the_message_says_so() -> None:
    pool = PoolSettings(3, 5, (PoolService("a", 2, replicas=2),))
    message = BudgetCheck(pool).message()
    assert "shrinking every pool to its floor saves only 2" in message
    assert "run fewer replicas" in message


def test_the_live_server_limit_subtracts_both_kinds_of_reserved_slots() -> None:
    limits = ServerLimits(max_connections=100, superuser_reserved=3, reserved=5, server_version_num=160000)
    assert limits.available == 92
    check = BudgetCheck(PoolSettings(95, 5, (PoolService("a", 20),)), source="ci.yml", limits=limits)
    assert check.over <= 0 and check.over_live == 3 and not check.ok
    message = check.message()
    assert ("pool.max_connections in ci.yml (95) is more than the live server gives application roles (92)"
            in message)
    flat = [" ".join(line.split()) for line in message.splitlines()]
    assert "live server max_connections 100" in flat
    assert "- superuser_reserved_connections 3" in flat
    assert "- reserved_connections (PostgreSQL 16+) 5" in flat
    assert "= available to application roles 92" in flat
    assert ("set pool.max_connections to at most 92 in ci.yml, or raise max_connections on the server"
            in message)
    assert "pool budget exceeded" not in message  # the arithmetic itself fits


def test_both_problems_are_reported_together() -> None:
    limits = ServerLimits(max_connections=50, superuser_reserved=3)
    message = BudgetCheck(PoolSettings(100, 10, THREE), source="ci.yml", limits=limits).message()
    assert "pool budget exceeded in ci.yml" in message and "at most 47" in message
