"""What every provider takes and returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_tzurot import dsn as dsn_mod

BACKENDS = ("embedded", "docker", "external")
DEFAULT_IMAGE = "pgvector/pgvector:pg17"


@dataclass(frozen=True)
class ServerSettings:
    """How to get a server: the backend and its knobs."""

    backend: str = "embedded"
    dsn: str | None = None
    image: str = DEFAULT_IMAGE


@dataclass(frozen=True)
class RunningServer:
    """A reachable server: `dsn` is an admin connection to its maintenance database.

    `handle` holds what the provider needs to stop it (JSON-serialisable, so
    the pytest-xdist controller can stop a server a worker started).
    """

    backend: str
    dsn: str
    server_version: str = ""
    server_version_num: int = 0
    pgvector_version: str = ""
    handle: dict[str, Any] = field(default_factory=dict)

    @property
    def masked_dsn(self) -> str:
        return dsn_mod.mask(self.dsn)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunningServer:
        return cls(**data)


def describe(dsn: str, backend: str, handle: dict[str, Any]) -> RunningServer:
    """Connect once and record the server's and pgvector's versions."""
    from pytest_tzurot.connect import connect

    with connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
            " (SELECT default_version FROM pg_available_extensions WHERE name = 'vector')"
        ).fetchone()
    assert row is not None
    return RunningServer(
        backend=backend,
        dsn=dsn,
        server_version=row[0],
        server_version_num=row[1],
        pgvector_version=row[2] or "not available",
        handle=handle,
    )
