"""Open psycopg connections with errors a person can act on.

`connect()` never lets a password reach the message, and turns the usual
ways a connection fails (malformed DSN, wrong password, server down, missing
database) into one `ServerError` line.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pytest_tzurot import dsn as dsn_mod
from pytest_tzurot.errors import ServerError


def connect(dsn: str, *, autocommit: bool = False, application_name: str = "pytest-tzurot",
            connect_timeout: int = 10, **kwargs: Any) -> psycopg.Connection:
    """A connection to `dsn`; raises ServerError (password masked) when it cannot be opened."""
    dsn_mod.parse(dsn)  # a malformed DSN is a ConfigError, not a connection failure
    try:
        return psycopg.connect(
            dsn,
            autocommit=autocommit,
            application_name=application_name,
            connect_timeout=connect_timeout,
            **kwargs,
        )
    except psycopg.OperationalError as exc:
        text = dsn_mod.mask(str(exc))
        reason = _first_line(text)
        if "Is the server running" in text:
            reason += " (is the server running and accepting connections there?)"
        raise ServerError(f"cannot connect to {dsn_mod.mask(dsn)}: {reason}") from None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # libpq prefixes the useful line with 'connection to server ... failed:'
    for line in lines:
        if "FATAL:" in line or "failed:" in line:
            return line.split("failed:", 1)[-1].strip() or line
    return lines[0] if lines else "unknown error"
