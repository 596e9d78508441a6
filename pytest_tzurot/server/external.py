"""The external provider: a server someone else runs, reached by a DSN.

It is only used, never altered: the plugin creates uniquely named throwaway
databases on it and drops only those (see `databases.py`).
"""

from __future__ import annotations

import os

from pytest_tzurot import dsn as dsn_mod
from pytest_tzurot.connect import connect
from pytest_tzurot.errors import ConfigError, ServerError
from pytest_tzurot.server.base import RunningServer, ServerSettings, describe

ENV_VAR = "TZUROT_DATABASE_URL"


def start(settings: ServerSettings) -> RunningServer:
    """Check the server is reachable and the role may create databases."""
    dsn = settings.dsn or os.environ.get(ENV_VAR)
    if not dsn:
        raise ConfigError(
            f"external backend: no DSN; pass --tzurot-dsn or set {ENV_VAR} "
            "(or use the default --tzurot-backend=embedded)"
        )
    dsn_mod.parse(dsn)
    with connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_user, rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    if row is None or not row[1]:
        role = row[0] if row else "?"
        raise ServerError(
            f"external backend: role {role!r} on {dsn_mod.mask(dsn)} cannot create databases; "
            f"grant it with ALTER ROLE {role} CREATEDB, or use a role that has CREATEDB"
        )
    return describe(dsn, "external", {})
