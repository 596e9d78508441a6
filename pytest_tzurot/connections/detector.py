"""Count new backend connections to one database: the client-per-call detector.

Two sources, the larger wins: the backend pids the sampler saw for the first
time, and (PostgreSQL 15+) the server's own `pg_stat_database.sessions`
counter, which counts every session, even one too short for any sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_tzurot.connections.sampler import ActivitySampler, Backend

# From 15 on, a backend reports its session to shared-memory statistics before
# its first ReadyForQuery, so the counter is exact by the time connect() returns.
SESSION_COUNTER_MIN_VERSION = 150000


@dataclass(frozen=True)
class Mark:
    """Where counting starts: the pids seen so far and the session counter then."""

    seen: frozenset[int]
    sessions: int | None


@dataclass(frozen=True)
class NewConnections:
    """New backends since a mark: `count` is max(sampled pids, session counter delta)."""

    sampled: tuple[Backend, ...]
    sessions: int | None

    @property
    def count(self) -> int:
        return max(len(self.sampled), self.sessions or 0)

    def describe(self) -> str:
        names: dict[str, int] = {}
        for backend in self.sampled:
            names[backend.application_name] = names.get(backend.application_name, 0) + 1
        shown = ", ".join(f"{name!r} ×{n}" for name, n in sorted(names.items(), key=lambda kv: -kv[1]))
        source = (f"{self.sessions} by the server's session counter, {len(self.sampled)} seen by the sampler"
                  if self.sessions is not None else f"{len(self.sampled)} seen by the sampler")
        return f"{self.count} new connections ({source}; application_name {shown or 'none'})"


class NewBackendDetector:
    """Counts backends first seen (and sessions started) after a mark, for one database."""

    def __init__(self, sampler: ActivitySampler, control: Any) -> None:
        self.sampler = sampler
        self.control = control
        version = int(control.info.server_version)
        self.has_session_counter = version >= SESSION_COUNTER_MIN_VERSION

    def sessions(self) -> int | None:
        """The database's session counter now (None before PostgreSQL 15)."""
        if not self.has_session_counter:
            return None
        # Each autocommit statement reads fresh statistics (stats_fetch_consistency caches per transaction).
        row = self.control.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        return int(row[0]) if row else None

    def mark(self) -> Mark:
        self.sampler.mark()
        return Mark(frozenset(self.sampler.seen), self.sessions())

    def since(self, mark: Mark) -> NewConnections:
        """New backends since `mark`; waits for the sampler to catch up with this moment first."""
        self.sampler.mark()
        sampled = tuple(b for pid, b in sorted(self.sampler.seen.items()) if pid not in mark.seen)
        now = self.sessions()
        delta = None if now is None or mark.sessions is None else now - mark.sessions
        return NewConnections(sampled, delta)
