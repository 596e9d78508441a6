"""The connection pool guard: budget arithmetic, live peak per service, and the fixtures.

Built-in items (from the manifest's `pool` section):
- `pool_budget`: `sum(size × replicas) + reserved ≤ max_connections`, and the
  manifest's `max_connections` within what the live server gives application roles.
- `pool_peak[<service>]`: drive the service's pool with three clients per
  connection; the server must never see more than its size, and the pool must
  shrink back to its minimum after the load.

Fixtures: `tzurot_pool` (a pool sized from the manifest), `connection_budget`
(peak, new connections and leaks of the test's database), and the autouse
`_tzurot_connection_markers` that applies `@pytest.mark.tzurot_connections(max=N)`
and `@pytest.mark.tzurot_new_connections(max=N)`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_tzurot.config import Manifest, PoolService
from pytest_tzurot.errors import TzurotError
from pytest_tzurot.guards.base import SUMMARY_KEY, GuardContext, GuardSpec, PluginSettings, fail

SECTION = "pools"
# The guard's pool gives back an idle connection every SHRINK_IDLE seconds, so
# "back to its minimum" is observable in a second instead of psycopg_pool's 10 minutes.
SHRINK_IDLE = 0.02
CLIENTS_PER_CONNECTION = 3
MARKERS = ("tzurot_connections", "tzurot_new_connections")


def _source(manifest: Manifest, rootdir: Path | None = None) -> str:
    """The manifest's path as the user would type it."""
    path = manifest.path
    for base in (rootdir, Path.cwd()):
        if base is not None:
            with contextlib.suppress(ValueError):
                return str(path.resolve().relative_to(Path(base).resolve()))
    return str(path)


# -- built-in guard items ------------------------------------------------------
def collect(manifest: Manifest, settings: PluginSettings) -> Iterable[GuardSpec]:
    """`pool_budget` and one `pool_peak[<service>]` per service, when the manifest has a pool section."""
    if manifest.pool is None:
        return ()
    source = _source(manifest, settings.rootdir)
    specs = [GuardSpec("pool_budget", functools.partial(check_budget, source=source), needs_database=True)]
    for service in manifest.pool.services:
        specs.append(GuardSpec(
            f"pool_peak[{service.name}]",
            functools.partial(check_peak, service=service, source=source),
            needs_database=True,
        ))
    return specs


def check_budget(ctx: GuardContext, source: str = "the manifest") -> None:
    """Fail with the arithmetic when the budget does not fit the manifest's or the live server's limit."""
    from pytest_tzurot.connect import connect
    from pytest_tzurot.connections.budget import BudgetCheck
    from pytest_tzurot.connections.limits import read_limits

    assert ctx.manifest.pool is not None
    with connect(ctx.run_state.server().dsn, autocommit=True) as conn:
        limits = read_limits(conn)
    check = BudgetCheck(ctx.manifest.pool, source=source, limits=limits)
    ctx.summary(SECTION, check.summary())
    if not check.ok:
        raise fail(check.message())


def check_peak(ctx: GuardContext, service: PoolService, source: str = "the manifest") -> None:
    """Drive the service's pool well above its size on a fresh database; fail if the server ever
    sees more connections than the size, or the pool does not shrink back to its minimum."""
    from pytest_tzurot.connections.load import drive
    from pytest_tzurot.connections.sampler import wait_until
    from pytest_tzurot.connections.sizing import TzurotPool
    from pytest_tzurot.connections.watch import ConnectionWatch

    dsn = ctx.fresh_db("pool_peak")
    clients = CLIENTS_PER_CONNECTION * service.size
    watch = ConnectionWatch(dsn).start()
    pool = TzurotPool(dsn, service, timeout=30.0, max_idle=SHRINK_IDLE, source=source)
    try:
        pool.open(wait=True, timeout=30.0)
        load = drive(pool, clients)
        # a connection the pool was still opening when the load ended counts as out for a moment
        wait_until(lambda: pool.checked_out == 0, 5.0, step=0.01)
        not_returned = pool.checked_out
        # psycopg_pool closes at most one idle connection per max_idle: allow each a few rounds
        budget = (service.size - service.min_size) * SHRINK_IDLE * 4 + 2.0
        shrunk = wait_until(
            lambda: pool.get_stats().get("pool_size") == service.min_size
            and watch.open_count() == service.min_size,
            budget, step=SHRINK_IDLE,
        )
        left = watch.open_count()
        pool.close()
        report = watch.stop()
    except BaseException:
        pool.close()
        watch.close()
        raise
    ctx.summary(SECTION, (
        f"pool_peak[{service.name}]: size {service.size} (min {service.min_size}); {load.describe()}; "
        f"server peak {report.peak}; {'back to' if shrunk else 'NOT back to'} {service.min_size} "
        f"after the load; sampler: {report.stats.describe()}"
    ))
    problems = []
    if load.errors:
        problems.append(f"{len(load.errors)} clients failed, first: {load.errors[0]}")
    if report.peak > service.size:
        problems.append(
            f"the server saw {report.peak} connections from pool {service.name!r} of size {service.size} "
            f"at once ({report.peak_text()}): a pool must never hold more than its size (a replaced "
            f"connection counts until its backend exits)"
        )
    if not_returned:
        problems.append(f"{not_returned} connections were still checked out after every client finished")
    if not shrunk:
        problems.append(
            f"the pool did not shrink back to min_size {service.min_size} after the load "
            f"({left} server connections still open after {budget:.1f} s)"
        )
    if problems:
        raise fail(f"pool_peak[{service.name}] in {source}: " + "; ".join(problems))


# -- fixtures ------------------------------------------------------------------
def _manifest(config: pytest.Config) -> Manifest | None:
    from pytest_tzurot import plugin  # imported here: plugin imports this module

    return plugin.manifest_of(config)


def _pool_param(param: Any) -> tuple[str | None, float]:
    """The indirect parameter: a service name, or {"service": name, "timeout": seconds}."""
    from pytest_tzurot.connections.sizing import DEFAULT_TIMEOUT

    if param is None or isinstance(param, str):
        return param, DEFAULT_TIMEOUT
    if isinstance(param, dict) and set(param) <= {"service", "timeout"}:
        timeout = param.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
            return param.get("service"), float(timeout)
    pytest.fail(
        f"tzurot_pool parameter {param!r}: expected a service name or "
        f"{{'service': name, 'timeout': seconds > 0}} (indirect parametrization)", pytrace=False
    )


@pytest.fixture
def tzurot_pool(request: pytest.FixtureRequest, tzurot_db: str) -> Iterator[Any]:
    """A `psycopg_pool.ConnectionPool` on `tzurot_db`, sized as the manifest's service says.

    Pick the service with `@pytest.mark.parametrize("tzurot_pool", ["ai-worker"], indirect=True)`
    (or `[{"service": "ai-worker", "timeout": 0.5}]`); default: the largest pool. Acquisition
    waits at most 5 s, then raises `PoolExhausted` (a `PoolTimeout`) saying how many were out.
    """
    from pytest_tzurot.connections.sampler import wait_until
    from pytest_tzurot.connections.sizing import TzurotPool, pick_service

    name, timeout = _pool_param(getattr(request, "param", None))
    manifest = _manifest(request.config)
    source = _source(manifest, request.config.rootpath) if manifest else "the manifest (none found)"
    try:
        service = pick_service(manifest.pool if manifest else None, name, source)
    except TzurotError as exc:
        pytest.fail(str(exc), pytrace=False)
    pool = TzurotPool(tzurot_db, service, timeout=timeout, source=source)
    pool.open(wait=True, timeout=30.0)
    try:
        yield pool
        # a connection the pool is still opening counts as out for a moment: let it land
        wait_until(lambda: pool.checked_out == 0, 1.0, step=0.01)
        out = pool.checked_out
    finally:
        pool.close()
    if out:
        pytest.fail(
            f"tzurot_pool {service.name!r}: {out} connection(s) still checked out when "
            f"{request.node.name} ended (getconn() without putconn()); use "
            f"`with tzurot_pool.connection() as conn:`", pytrace=False
        )


def _marker_max(item: pytest.Item, name: str) -> int | None:
    marker = item.get_closest_marker(name)
    if marker is None:
        return None
    value = marker.kwargs.get("max", marker.args[0] if marker.args else None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        pytest.fail(f"@pytest.mark.{name}(max=N) on {item.name}: max must be an integer >= 0, "
                    f"got {value!r}", pytrace=False)
    return value


class ConnectionBudget:
    """The `connection_budget` fixture: limits for the test, and what the watch has seen so far.

    `max` (peak) and `max_new` (new connections) come from the markers and can be set
    in the test; leaks always fail. `new_connections(max=N)` limits one block.
    """

    def __init__(self, watch: Any, max: int | None = None, max_new: int | None = None) -> None:
        self.watch = watch
        self.max = max
        self.max_new = max_new

    @property
    def database(self) -> str:
        return str(self.watch.database)

    @property
    def peak(self) -> int:
        """The most connections to the test's database at once so far (the watch's own excluded)."""
        return int(self.watch.peak)

    def new_since_start(self) -> Any:
        """`NewConnections` opened since the watch started (`.count`, `.describe()`)."""
        return self.watch.new_since_start()

    def new_connections(self, max: int) -> Any:
        """Context manager: fail the test if the block opens more than `max` new connections."""
        return self.watch.new_connections(max)

    def violations(self, report: Any, test: str) -> list[str]:
        """The failure lines for `report` against this budget (empty: the test kept to it)."""
        problems = []
        if self.max is not None and report.peak > self.max:
            problems.append(
                f"{test} held {report.peak} connections to {report.database} at once, more than "
                f"tzurot_connections(max={self.max}): {report.peak_text()} "
                f"(sampled {report.stats.describe()}); "
                f"hold fewer at once: share a connection or cap the pool at {self.max}"
            )
        if self.max_new is not None and report.new.count > self.max_new:
            problems.append(
                f"{test} opened {report.new.describe()} to {report.database}, more than "
                f"tzurot_new_connections(max={self.max_new}): a new client per call? create one pool "
                f"(psycopg_pool.ConnectionPool, or the tzurot_pool fixture) and reuse it"
            )
        if report.leaks:
            count = len(report.leaks)
            problems.append(
                f"{test} leaked {count} connection{'s' if count > 1 else ''} to {report.database} "
                f"(still open {self.watch.leak_grace:.1f} s after the test): {report.leak_text()}; "
                f"close {'them' if count > 1 else 'it'} before the test ends "
                f"(`with psycopg.connect(...) as conn:`, pool.close())"
            )
        return problems


def _watched_dsn(request: pytest.FixtureRequest) -> str:
    """The test's database: tzurot_empty_db when the test uses only that one, else tzurot_db."""
    names = request.fixturenames
    if "tzurot_empty_db" in names and "tzurot_db" not in names:
        return str(request.getfixturevalue("tzurot_empty_db"))
    return str(request.getfixturevalue("tzurot_db"))


@pytest.fixture
def connection_budget(request: pytest.FixtureRequest) -> Iterator[ConnectionBudget]:
    """Watch the test's database while the test runs; after it, fail on a peak above `max`,
    more new connections than `max_new`, or any connection the test left open."""
    from pytest_tzurot.connections.watch import ConnectionWatch

    node = request.node
    limits = (_marker_max(node, "tzurot_connections"), _marker_max(node, "tzurot_new_connections"))
    watch = ConnectionWatch(_watched_dsn(request))
    try:
        watch.start()
    except TzurotError as exc:
        pytest.fail(str(exc), pytrace=False)
    budget = ConnectionBudget(watch, *limits)
    try:
        yield budget
    except BaseException:
        watch.close()
        raise
    try:
        report = watch.stop()
    except TzurotError as exc:
        pytest.fail(f"connection_budget of {node.name}: {exc}", pytrace=False)
    node.user_properties.append((SUMMARY_KEY, (SECTION, (
        f"{node.name}: peak {report.peak}{f' (max {budget.max})' if budget.max is not None else ''}, "
        f"{report.new.count} new{f' (max {budget.max_new})' if budget.max_new is not None else ''}, "
        f"{len(report.leaks)} leaked; sampled {report.stats.describe()}"
    ))))
    problems = budget.violations(report, node.name)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _tzurot_connection_markers(request: pytest.FixtureRequest) -> None:
    """Start `connection_budget` first for tests that carry a connection marker or ask for it,
    so it sees every connection their other fixtures open and is torn down after them.
    Costs two marker look-ups for every other test, and starts nothing."""
    if "connection_budget" in request.fixturenames or any(
        request.node.get_closest_marker(name) is not None for name in MARKERS
    ):
        request.getfixturevalue("connection_budget")
