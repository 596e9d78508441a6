"""The docker provider: a `pgvector/pgvector` container via testcontainers.

Without a reachable Docker engine it raises one `ServerError` that says so
and names the backends that need no Docker.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from pytest_tzurot.errors import ServerError
from pytest_tzurot.server.base import RunningServer, ServerSettings, describe

_NO_DOCKER = (
    "docker backend: no Docker engine is reachable ({reason}); start Docker, or use "
    "--tzurot-backend=embedded (the default: PostgreSQL from a wheel, no Docker) or "
    "--tzurot-backend=external with --tzurot-dsn"
)


def _client() -> Any:
    try:
        import docker
    except ImportError:
        raise ServerError(
            "docker backend: testcontainers is not installed; pip install 'pytest-tzurot[docker]'"
        ) from None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ServerError(_NO_DOCKER.format(reason=reason[:200])) from None
    return client


def start(settings: ServerSettings) -> RunningServer:
    """Start a container from `settings.image` and wait until it accepts connections."""
    _client()
    try:
        from testcontainers.postgres import PostgresContainer
    except ImportError:
        raise ServerError(
            "docker backend: testcontainers is not installed; pip install 'pytest-tzurot[docker]'"
        ) from None
    password = secrets.token_hex(12)
    container = PostgresContainer(
        settings.image, username="postgres", password=password, dbname="postgres", driver=None
    )
    try:
        container.start()
    except Exception as exc:
        raise ServerError(
            f"docker backend: container {settings.image} did not start: {str(exc).splitlines()[0]}"
        ) from None
    dsn = container.get_connection_url()
    handle = {"container_id": container.get_wrapped_container().id}
    return describe(dsn, "docker", handle)


def stop(server: RunningServer) -> None:
    """Remove the container (works from another process than the one that started it)."""
    container_id = server.handle.get("container_id")
    if not container_id:
        return
    # If this fails, the reaper (ryuk) removes the container when the session ends anyway.
    with contextlib.suppress(Exception):
        _client().containers.get(container_id).remove(force=True)
