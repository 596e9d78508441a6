"""The pool guard in a user's project: pool_budget/pool_peak items, the connection markers,
connection_budget and tzurot_pool, with the messages a user reads."""

from __future__ import annotations

import re

import pytest

INIT = "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL);\n"

OVERSUBSCRIBED = """
migrations: {dir: migrations}
pool:
  max_connections: 60
  reserved: 10
  services:
    api-gateway: 20
    ai-worker: {size: 20, replicas: 2}
    bot-client: 5
"""

ABOVE_LIVE = """
migrations: {dir: migrations}
pool:
  max_connections: 150
  reserved: 5
  services:
    api: 3
    worker: {size: 2, replicas: 2, min_size: 1}
"""

MARKED = """
import time
import psycopg
import pytest
from psycopg_pool import PoolTimeout

KEPT = []

@pytest.mark.tzurot_connections(max=2)
def test_holds_three(tzurot_db):
    conns = [psycopg.connect(tzurot_db, application_name="holder") for _ in range(3)]
    time.sleep(0.02)
    for conn in conns:
        conn.close()

@pytest.mark.tzurot_connections(max=2)
def test_holds_two(tzurot_db):
    conns = [psycopg.connect(tzurot_db) for _ in range(2)]
    for conn in conns:
        conn.close()

def test_leaks_one(tzurot_db, connection_budget):
    KEPT.append(psycopg.connect(tzurot_db, application_name="leaky-worker"))

def handle_request(dsn):
    with psycopg.connect(dsn, application_name="per-call") as conn:
        return conn.execute("SELECT 1").fetchone()[0]

@pytest.mark.tzurot_new_connections(max=2)
def test_client_per_call(tzurot_db):
    assert sum(handle_request(tzurot_db) for _ in range(8)) == 8

@pytest.mark.tzurot_new_connections(max=2)
@pytest.mark.parametrize("tzurot_pool", ["bot-client"], indirect=True)
def test_pooled_calls(tzurot_pool):
    for _ in range(8):
        with tzurot_pool.connection() as conn:
            conn.execute("SELECT 1")

@pytest.mark.parametrize("tzurot_pool", [{"service": "bot-client", "timeout": 0.1}], indirect=True)
def test_exhausts_the_pool(tzurot_pool):
    held = [tzurot_pool.getconn() for _ in range(5)]
    try:
        tzurot_pool.getconn()
    finally:
        for conn in held:
            tzurot_pool.putconn(conn)

@pytest.mark.parametrize("tzurot_pool", ["bot-client"], indirect=True)
def test_forgets_putconn(tzurot_pool):
    tzurot_pool.getconn()

@pytest.mark.tzurot_connections(max="two")
def test_bad_marker():
    pass

def test_untouched():
    pass
"""

POOLED = """
from concurrent.futures import ThreadPoolExecutor
import pytest

@pytest.mark.tzurot_connections(max=3)
@pytest.mark.tzurot_new_connections(max=3)
@pytest.mark.parametrize("tzurot_pool", ["api"], indirect=True)
@pytest.mark.parametrize("n", range(4))
def test_pooled_workload(tzurot_pool, n):
    def request(i):
        with tzurot_pool.connection() as conn:
            return conn.execute("SELECT %s::int FROM pg_sleep(0.001)", (i,)).fetchone()[0]
    with ThreadPoolExecutor(max_workers=8) as executor:
        assert sum(executor.map(request, range(30))) == sum(range(30))
"""


def _project(pytester: pytest.Pytester, manifest: str) -> pytest.Pytester:
    pytester.makefile(".yml", ci=manifest)
    (pytester.path / "migrations").mkdir()
    (pytester.path / "migrations" / "001_init.sql").write_text(INIT)
    return pytester


def _section(text: str, title: str) -> str:
    """The body of one `___ title ___` report section."""
    head = rf"_+ (?:ERROR at teardown of |ERROR at setup of |tzurot guard )?{re.escape(title)} _+\n"
    match = re.search(head + r"(.*?)(?=\n_{3,} |\n={3,} )", text, re.S)
    assert match, f"no section {title!r} in:\n{text}"
    return "\n".join(line for line in match.group(1).splitlines() if not line.startswith("[gw"))


def _outcomes(text: str) -> set[tuple[str, str]]:
    """`-rA` summary lines as (outcome, node id); a test failing at teardown has PASSED and ERROR."""
    return set(re.findall(r"^(PASSED|FAILED|ERROR|SKIPPED) (\S+)", text, re.M))


def test_budget_arithmetic_markers_leaks_and_pool_exhaustion(pytester: pytest.Pytester) -> None:
    project = _project(pytester, OVERSUBSCRIBED)
    project.makepyfile(test_marked=MARKED)
    result = project.runpytest("-p", "pytest_tzurot", "-rA", "ci.yml", "test_marked.py")
    out = result.stdout.str()
    outcomes = _outcomes(out)  # other guards' items (indexes, drift, ...) are not this test's business
    failing = {("FAILED", "ci.yml::pool_budget"),
               ("FAILED", "test_marked.py::test_exhausts_the_pool[tzurot_pool0]")}
    failing |= {("ERROR", f"test_marked.py::{name}") for name in (  # at teardown or setup
        "test_holds_three", "test_leaks_one", "test_client_per_call", "test_forgets_putconn[bot-client]",
        "test_bad_marker")}
    assert failing <= outcomes
    for name in ("test_holds_two", "test_pooled_calls[bot-client]", "test_untouched"):
        node = f"test_marked.py::{name}"
        assert ("PASSED", node) in outcomes and ("ERROR", node) not in outcomes
    assert result.ret == 1

    budget = _section(out, "pool_budget")
    flat = [" ".join(line.split()) for line in budget.splitlines()]
    assert flat[0] == ("pool budget exceeded in ci.yml: the services and reserved headroom need 75 "
                       "connections, pool.max_connections is 60")
    assert flat[1:8] == [
        "api-gateway 20 × 1 replica 20",
        "ai-worker 20 × 2 replicas 40",
        "bot-client 5 × 1 replica 5",
        "+ reserved (pool.reserved) 10",
        "= needed 75",
        "pool.max_connections 60",
        "over by 15",
    ]
    assert "shrink ai-worker: pool.services.ai-worker.size 20 → 12 (× 2 replicas = 24, saves 16)" in budget
    assert "Traceback" not in budget and "live server" not in budget  # 60 fits the live server

    three = _section(out, "test_holds_three")
    assert "test_holds_three held 3 connections to tzurot_" in three
    assert "more than tzurot_connections(max=2)" in three and three.count("'holder'") == 3

    leak = _section(out, "test_leaks_one")
    assert re.search(r"test_leaks_one leaked 1 connection to tzurot_\w+ \(still open 1.0 s after the test\): "
                     r"pid \d+ idle \(application_name 'leaky-worker'\)", leak)

    per_call = _section(out, "test_client_per_call")
    assert "test_client_per_call opened 8 new connections (8 by the server's session counter" in per_call
    assert "more than tzurot_new_connections(max=2): a new client per call?" in per_call
    assert "'per-call'" in per_call

    exhausted = _section(out, "test_exhausts_the_pool[tzurot_pool0]")
    assert ("PoolExhausted: pool 'bot-client' exhausted: 5 of its 5 connections were checked out "
            "and none came back within 0.10 s") in exhausted

    forgot = _section(out, "test_forgets_putconn[bot-client]")
    assert "tzurot_pool 'bot-client': 1 connection(s) still checked out when test_forgets_putconn" in forgot

    bad = _section(out, "test_bad_marker")
    assert ("@pytest.mark.tzurot_connections(max=N) on test_bad_marker: max must be an integer >= 0, "
            "got 'two'") in bad

    assert re.search(r"pools:\n  pool_budget: 65 pooled \+ 10 reserved = 75 of 60; live server: "
                     r"max_connections \d+ - \d+ reserved = \d+ for application roles", out)
    assert re.search(r"test_pooled_calls\[bot-client\]: peak [01], 1 new \(max 2\), 0 leaked; "
                     r"sampled \d+ samples, every [\d.]+ ms on average \(longest gap [\d.]+ ms\)", out)
    summary = out.split("\npools:\n")[1].split("\n===")[0]
    assert "test_untouched" not in summary  # no marker, no fixture: not watched


def test_live_limit_peaks_and_a_pooled_workload_under_xdist(pytester: pytest.Pytester) -> None:
    project = _project(pytester, ABOVE_LIVE)
    project.makepyfile(test_pooled=POOLED)
    result = project.runpytest("-p", "pytest_tzurot", "-n", "2", "-rA", "ci.yml", "test_pooled.py")
    out = result.stdout.str()
    outcomes = _outcomes(out)
    expected = {("FAILED", "ci.yml::pool_budget"), ("PASSED", "ci.yml::pool_peak[api]"),
                ("PASSED", "ci.yml::pool_peak[worker]")}
    expected |= {("PASSED", f"test_pooled.py::test_pooled_workload[{n}-api]") for n in range(4)}
    assert expected <= outcomes
    assert not any(kind == "ERROR" for kind, _ in outcomes)

    budget = _section(out, "pool_budget")
    flat = [" ".join(line.split()) for line in budget.splitlines()]
    assert flat[0] == ("pool.max_connections in ci.yml (150) is more than the live server gives "
                       "application roles (97)")
    assert flat[1:7] == [
        "live server max_connections 100",
        "- superuser_reserved_connections 3",
        "- reserved_connections (PostgreSQL 16+) 0",
        "= available to application roles 97",
        "pool.max_connections (ci.yml) 150",
        "over by 53",
    ]
    assert flat[7] == ("set pool.max_connections to at most 97 in ci.yml, "
                       "or raise max_connections on the server")
    assert "pool budget exceeded" not in budget  # 3 + 2×2 + 5 = 12 fits 150

    assert re.search(r"pool_peak\[api\]: size 3 \(min 0\); 9 clients, 54 requests .*; server peak 3; "
                     r"back to 0 after the load; sampler: \d+ samples", out)
    assert re.search(r"pool_peak\[worker\]: size 2 \(min 1\); 6 clients, 36 requests .*; server peak 2; "
                     r"back to 1 after the load", out)
    pooled = re.findall(r"test_pooled_workload\[\d-api\]: peak [0-3] \(max 3\), [1-3] new \(max 3\), "
                        r"0 leaked", out)
    assert len(pooled) == 4
