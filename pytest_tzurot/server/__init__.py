"""PostgreSQL providers behind one interface: embedded, docker, external.

`start(settings)` returns a `RunningServer` (an admin DSN and what is needed
to stop it); `stop(server)` stops what `start` started and nothing else. A
provider that cannot start raises `ServerError` with one line that says why.
"""

from __future__ import annotations

from pytest_tzurot.errors import ConfigError
from pytest_tzurot.server.base import BACKENDS, RunningServer, ServerSettings


def start(settings: ServerSettings) -> RunningServer:
    """Start (or, for `external`, reach) the server the settings name."""
    if settings.backend == "embedded":
        from pytest_tzurot.server import embedded

        return embedded.start(settings)
    if settings.backend == "docker":
        from pytest_tzurot.server import docker

        return docker.start(settings)
    if settings.backend == "external":
        from pytest_tzurot.server import external

        return external.start(settings)
    raise ConfigError(
        f"unknown backend {settings.backend!r}: expected one of {', '.join(BACKENDS)}"
    )


def stop(server: RunningServer) -> None:
    """Stop what `start` started (an external server is left running)."""
    if server.backend == "embedded":
        from pytest_tzurot.server import embedded

        embedded.stop(server)
    elif server.backend == "docker":
        from pytest_tzurot.server import docker

        docker.stop(server)


__all__ = ["BACKENDS", "RunningServer", "ServerSettings", "start", "stop"]
