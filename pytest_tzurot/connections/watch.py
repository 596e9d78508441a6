"""Peak, new connections and leaks of one database over a span of time.

`ConnectionWatch(dsn)` opens two connections of its own to the database (a
control connection and the sampler's), excluded from every figure. Between
`start()` and `stop()` it knows the most backends held at once, the backends
opened since the start, and, at `stop()`, which of those are still open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pytest_tzurot.connect import connect
from pytest_tzurot.connections.detector import Mark, NewBackendDetector, NewConnections
from pytest_tzurot.connections.sampler import (
    DEFAULT_PAUSE,
    ActivitySampler,
    Backend,
    SamplerStats,
    wait_until,
)

# A closed client's backend exits a moment later; a connection still there after
# this long was not closed.
LEAK_GRACE = 1.0


class ConnectionBudgetExceeded(AssertionError):
    """A span opened more new connections than allowed (raised inside the test)."""


@dataclass(frozen=True)
class Leak:
    """A connection opened during the watch and still open at its end."""

    backend: Backend
    state: str | None
    application_name: str
    query: str

    def describe(self) -> str:
        state = self.state or "starting"
        text = f"pid {self.backend.pid} {state} (application_name {self.application_name!r})"
        if self.query:
            text += f", last query: {self.query[:80]!r}"
        return text


@dataclass(frozen=True)
class WatchReport:
    """What the watch saw: the peak (with the backends then), new connections, leaks."""

    database: str
    peak: int
    peak_at: float
    peak_backends: tuple[Backend, ...]
    baseline: int
    new: NewConnections
    leaks: tuple[Leak, ...]
    stats: SamplerStats

    def peak_text(self) -> str:
        shown = "; ".join(b.describe() for b in self.peak_backends)
        return f"{self.peak} at +{self.peak_at * 1e3:.1f} ms: {shown or 'none'}"

    def leak_text(self) -> str:
        return "; ".join(leak.describe() for leak in self.leaks)


class ConnectionWatch:
    """Watches the database behind `dsn`; use as a context manager or start()/stop()."""

    def __init__(self, dsn: str, *, pause: float = DEFAULT_PAUSE, leak_grace: float = LEAK_GRACE) -> None:
        self.dsn = dsn
        self.leak_grace = leak_grace
        self.sampler = ActivitySampler(dsn, pause=pause)
        self.control: Any = None
        self.detector: NewBackendDetector | None = None
        self.database = ""
        self._start: Mark | None = None
        self.report: WatchReport | None = None

    def start(self) -> ConnectionWatch:
        """Open the watch's connections and take the baseline. Raises ServerError if it cannot connect."""
        self.control = connect(self.dsn, autocommit=True, application_name="tzurot-watch")
        try:
            self.control.execute("SET statement_timeout = 0")
            self.database = self.control.execute("SELECT current_database()").fetchone()[0]
            self.sampler.start(self.control)
            self.detector = NewBackendDetector(self.sampler, self.control)
            self._start = self.detector.mark()
        except BaseException:
            self.control.close()
            raise
        return self

    # -- during the watch --------------------------------------------------------
    @property
    def peak(self) -> int:
        return self.sampler.peak

    def open_count(self) -> int:
        """Client connections to the database now, the watch's own excluded."""
        return len(self._open_backends())

    def new_since_start(self) -> NewConnections:
        assert self.detector is not None and self._start is not None
        return self.detector.since(self._start)

    @contextlib.contextmanager
    def new_connections(self, max: int) -> Iterator[None]:
        """Raise ConnectionBudgetExceeded if the block opens more than `max` new connections."""
        assert self.detector is not None
        mark = self.detector.mark()
        yield
        found = self.detector.since(mark)
        if found.count > max:
            raise ConnectionBudgetExceeded(
                f"this block opened {found.describe()}, more than max={max} to {self.database}: "
                f"a new client per call? reuse one pool (psycopg_pool.ConnectionPool) across calls"
            )

    # -- the end ---------------------------------------------------------------
    def _open_backends(self) -> dict[int, tuple[str | None, str, str]]:
        rows = self.control.execute(
            "SELECT pid, state, application_name, coalesce(query, '') FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'"
            " AND pid <> pg_backend_pid() AND pid <> %s",
            (self.sampler.pid,),
        ).fetchall()
        return {int(pid): (state, app or "", query) for pid, state, app, query in rows}

    def stop(self) -> WatchReport:
        """Stop sampling, wait briefly for closed clients' backends to exit, report leaks."""
        assert self.detector is not None and self._start is not None
        try:
            new = self.detector.since(self._start)
            stats = self.sampler.stop()
            opened = {b.pid: b for b in new.sampled}
            still: dict[int, tuple[str | None, str, str]] = {}

            def settled() -> bool:
                nonlocal still
                current = self._open_backends()
                still = {pid: info for pid, info in current.items() if pid in opened}
                return not still

            wait_until(settled, self.leak_grace, step=0.01)
            # a session counted by the server but closed before any sample is no leak: nothing to name
            end = self.detector.sessions()
            base = self._start.sessions
            new = NewConnections(new.sampled, None if end is None or base is None else end - base)
            leaks = tuple(
                Leak(opened[pid], state, app, query) for pid, (state, app, query) in sorted(still.items())
            )
            self.report = WatchReport(
                database=self.database,
                peak=self.sampler.peak,
                peak_at=self.sampler.peak_at,
                peak_backends=self.sampler.peak_backends,
                baseline=len(self.sampler.baseline),
                new=new,
                leaks=leaks,
                stats=stats,
            )
            return self.report
        finally:
            self.control.close()

    def close(self) -> None:
        """Stop without a report (errors while stopping are swallowed: used on failure paths)."""
        with contextlib.suppress(Exception):
            self.sampler.stop()
        with contextlib.suppress(Exception):
            self.control.close()

    def __enter__(self) -> ConnectionWatch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.report is None:
            if exc[0] is None:
                self.stop()
            else:
                self.close()


def watch(dsn: str, **kwargs: Any) -> ConnectionWatch:
    """`with watch(dsn) as w: ...` then `w.report` (peak, new connections, leaks)."""
    return ConnectionWatch(dsn, **kwargs)
