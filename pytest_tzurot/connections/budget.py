"""The pool budget: `sum(size × replicas) + reserved ≤ max_connections ≤ what the server allows`.

Pure arithmetic on the manifest's `pool` section (and, when known, the live
server's limits); the failure text shows every term line by line and says
which service to shrink, and to what size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pytest_tzurot.config import PoolService, PoolSettings
from pytest_tzurot.connections.limits import ServerLimits


def _replicas(n: int) -> str:
    return f"{n} replica" if n == 1 else f"{n} replicas"


@dataclass(frozen=True)
class Shrink:
    """Advice: run `service` with `new_size` connections per replica."""

    service: PoolService
    new_size: int

    @property
    def saves(self) -> int:
        return (self.service.size - self.new_size) * self.service.replicas


@dataclass(frozen=True)
class BudgetCheck:
    """The budget of one manifest, optionally against a live server's limits."""

    pool: PoolSettings
    source: str = "the manifest"
    limits: ServerLimits | None = None

    @property
    def services_total(self) -> int:
        return sum(service.total for service in self.pool.services)

    @property
    def needed(self) -> int:
        return self.services_total + self.pool.reserved

    @property
    def over(self) -> int:
        """Connections above `pool.max_connections` (0 or less: it fits)."""
        return self.needed - self.pool.max_connections

    @property
    def over_live(self) -> int:
        """How far `pool.max_connections` exceeds what the live server gives application roles."""
        if self.limits is None:
            return 0
        return self.pool.max_connections - self.limits.available

    @property
    def ok(self) -> bool:
        return self.over <= 0 and self.over_live <= 0

    # -- text ------------------------------------------------------------------
    def arithmetic_lines(self) -> list[str]:
        """`name  size × replicas  total` per service, then reserved, needed, the limit."""
        width = max([len(s.name) for s in self.pool.services] + [24])
        rows: list[tuple[str, int]] = []
        for s in self.pool.services:
            rows.append((f"  {s.name:<{width}}  {s.size:>4} × {_replicas(s.replicas)}", s.total))
        rows.append((f"+ {'reserved (pool.reserved)':<{width}}", self.pool.reserved))
        rows.append((f"= {'needed':<{width}}", self.needed))
        rows.append((f"  {'pool.max_connections':<{width}}", self.pool.max_connections))
        return _aligned(rows, self.over)

    def live_lines(self) -> list[str]:
        if self.limits is None:
            return []
        lim = self.limits
        rows = [
            ("  live server max_connections", lim.max_connections),
            ("- superuser_reserved_connections", lim.superuser_reserved),
            ("- reserved_connections (PostgreSQL 16+)", lim.reserved),
            ("= available to application roles", lim.available),
            (f"  pool.max_connections ({self.source})", self.pool.max_connections),
        ]
        return _aligned(rows, self.over_live)

    def shrink_advice(self) -> list[Shrink]:
        """The fewest services to shrink, largest first, so the budget fits (may not suffice)."""
        remaining = self.over
        advice: list[Shrink] = []
        for service in sorted(self.pool.services, key=lambda s: (-s.total, s.name)):
            if remaining <= 0:
                break
            floor = max(service.min_size, 1)
            cut = min(math.ceil(remaining / service.replicas), service.size - floor)
            if cut <= 0:
                continue
            advice.append(Shrink(service, service.size - cut))
            remaining -= cut * service.replicas
        return advice

    def message(self) -> str:
        """The failure text: the arithmetic, the live comparison, and what to change."""
        parts: list[str] = []
        if self.over > 0:
            parts.append(
                f"pool budget exceeded in {self.source}: the services and reserved headroom need "
                f"{self.needed} connections, pool.max_connections is {self.pool.max_connections}"
            )
            parts.extend(self.arithmetic_lines())
            advice = self.shrink_advice()
            saved = sum(item.saves for item in advice)
            for item in advice:
                s = item.service
                parts.append(
                    f"shrink {s.name}: pool.services.{s.name}.size {s.size} → {item.new_size} "
                    f"(× {_replicas(s.replicas)} = {item.new_size * s.replicas}, saves {item.saves})"
                )
            if saved < self.over:
                parts.append(
                    f"shrinking every pool to its floor saves only {saved}: run fewer replicas, "
                    f"lower pool.reserved ({self.pool.reserved}) or raise max_connections"
                )
            else:
                parts.append(f"(or lower pool.reserved, or raise max_connections to at least {self.needed})")
        if self.over_live > 0:
            assert self.limits is not None
            parts.append(
                f"pool.max_connections in {self.source} ({self.pool.max_connections}) is more than the "
                f"live server gives application roles ({self.limits.available})"
            )
            parts.extend(self.live_lines())
            parts.append(
                f"set pool.max_connections to at most {self.limits.available} in {self.source}, "
                f"or raise max_connections on the server"
            )
        return "\n".join(parts)

    def summary(self) -> str:
        """One line for the run summary."""
        line = (
            f"pool_budget: {self.services_total} pooled + {self.pool.reserved} reserved = "
            f"{self.needed} of {self.pool.max_connections}"
        )
        if self.limits is not None:
            line += (
                f"; live server: max_connections {self.limits.max_connections} - "
                f"{self.limits.superuser_reserved + self.limits.reserved} reserved = "
                f"{self.limits.available} for application roles"
            )
        return line


def _aligned(rows: list[tuple[str, int]], over: int) -> list[str]:
    """The arithmetic as aligned lines, with an `over by` line when the budget is exceeded."""
    label = max(len(text) for text, _ in rows) + 2
    lines = [f"{text:<{label}}{value:>5}" for text, value in rows]
    if over > 0:
        lines.append(f"  {'over by':<{label - 2}}{over:>5}")
    return lines
