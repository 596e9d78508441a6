"""The docker provider: a `pgvector/pgvector` container via testcontainers.

Without a reachable Docker engine it raises one `ServerError` that says so
and names the backends that need no Docker.
"""

from __future__ import annotations

import contextlib
import os
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
        raise ServerError(_NO_DOCKER.format(reason=_why_unreachable(exc))) from None
    return client


def _why_unreachable(exc: BaseException) -> str:
    """Where Docker was looked for, and the gist of why it did not answer."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    text = str(exc)
    for needle, gist in (
        ("No such file or directory", "no such socket"),
        ("Permission denied", "permission denied: add your user to the docker group"),
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
    ):
        if needle in text:
            return f"{where}: {gist}"
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"{where}: {first[:160]}"


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
