"""A psycopg_pool pool sized as the manifest says, whose exhaustion error says what happened."""

from __future__ import annotations

from typing import Any

from psycopg_pool import ConnectionPool, PoolTimeout

from pytest_tzurot.config import PoolService, PoolSettings
from pytest_tzurot.errors import ConfigError

DEFAULT_TIMEOUT = 5.0


class PoolExhausted(PoolTimeout):
    """No connection came free within the acquisition timeout (still a `PoolTimeout`)."""


def pick_service(pool: PoolSettings | None, name: str | None, source: str = "the manifest") -> PoolService:
    """The named service, or the one with the largest pool; ConfigError if there is none."""
    if pool is None or not pool.services:
        raise ConfigError(
            f"tzurot_pool is sized from pool.services in {source}, which has none: add e.g. "
            f"`pool: {{max_connections: 100, services: {{api: 10}}}}`"
        )
    if name is None:
        return max(pool.services, key=lambda s: s.size)  # max() keeps the first of equal sizes
    for service in pool.services:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in pool.services)
    raise ConfigError(f"tzurot_pool: no service {name!r} in pool.services of {source} (known: {known})")


class TzurotPool(ConnectionPool):
    """A `ConnectionPool` for one manifest service; `getconn()` raises `PoolExhausted` with the counts."""

    def __init__(self, conninfo: str, service: PoolService, *, timeout: float = DEFAULT_TIMEOUT,
                 source: str = "the manifest", **kwargs: Any) -> None:
        self.service = service
        self.source = source
        kwargs.setdefault("kwargs", {"application_name": f"tzurot-pool:{service.name}"})
        super().__init__(conninfo, min_size=service.min_size, max_size=service.size, timeout=timeout,
                         name=service.name, open=False, **kwargs)

    @property
    def checked_out(self) -> int:
        """Connections handed out and not returned (includes ones being opened)."""
        stats = self.get_stats()
        return stats.get("pool_size", 0) - stats.get("pool_available", 0)

    def getconn(self, timeout: float | None = None) -> Any:
        try:
            return super().getconn(timeout=timeout)
        except PoolTimeout:
            waited = self.timeout if timeout is None else timeout
            # the request that just timed out may still be counted among the waiting ones
            others = max(self.get_stats().get("requests_waiting", 0) - 1, 0)
            raise PoolExhausted(
                f"pool {self.service.name!r} exhausted: {self.checked_out} of its {self.service.size} "
                f"connections were checked out and none came back within {waited:.2f} s"
                f"{f' ({others} more requests waiting)' if others else ''}; return connections "
                f"promptly (`with pool.connection() as conn:`), or raise "
                f"pool.services.{self.service.name} in {self.source} if the load is real"
            ) from None
