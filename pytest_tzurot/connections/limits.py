"""What the live server allows application roles: `max_connections` minus the reserved slots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerLimits:
    """The live server's connection limits, as `SHOW` reports them.

    Ordinary roles cannot use the `superuser_reserved_connections` slots, nor
    (PostgreSQL 16+) the `reserved_connections` slots kept for roles granted
    `pg_use_reserved_connections`, so `available` is what the services get.
    """

    max_connections: int
    superuser_reserved: int
    reserved: int = 0
    server_version_num: int = 0
    in_use: int = 0

    @property
    def available(self) -> int:
        return self.max_connections - self.superuser_reserved - self.reserved


def read_limits(conn: Any) -> ServerLimits:
    """Read the limits over an open psycopg connection (any database, any role)."""
    version = int(conn.execute("SELECT current_setting('server_version_num')").fetchone()[0])
    # reserved_connections exists from PostgreSQL 16; missing_ok keeps older servers working.
    row = conn.execute(
        "SELECT current_setting('max_connections')::int,"
        " current_setting('superuser_reserved_connections')::int,"
        " coalesce(current_setting('reserved_connections', true), '0')::int,"
        " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int"
    ).fetchone()
    return ServerLimits(
        max_connections=row[0],
        superuser_reserved=row[1],
        reserved=row[2],
        server_version_num=version,
        in_use=row[3],
    )
