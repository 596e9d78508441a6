"""The janitor: throwaway databases on a server, created and dropped safely.

Every database this module creates is named `tzurot_<run>_<suffix>`, where
`<run>` is a random id of the current test run, and carries a comment saying
so. `drop()` refuses any name outside the run's prefix, so a database the
plugin did not create is never dropped, whatever the caller passes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from pytest_tzurot import dsn as dsn_mod
from pytest_tzurot.connect import connect
from pytest_tzurot.errors import ServerError

CLONE_STRATEGIES = ("file_copy", "wal_log")
_SAFE = re.compile(r"^[a-z0-9_]+$")


def new_run_id() -> str:
    """A short random id that makes this run's database names unique on a shared server."""
    return secrets.token_hex(4)


@dataclass
class Janitor:
    """Creates and drops the databases of one run on the server behind `admin_dsn`.

    It keeps one admin connection open (a new one per clone would cost about as much
    as the clone itself); `close()` closes it.
    """

    admin_dsn: str
    run_id: str
    server_version_num: int = 180000
    _conn: psycopg.Connection | None = field(default=None, init=False, repr=False, compare=False)

    def _admin(self) -> psycopg.Connection:
        """The open admin connection (autocommit), reopened if the last one broke."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = connect(self.admin_dsn, autocommit=True)
        return self._conn

    def close(self) -> None:
        """Close the admin connection (the databases stay)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def prefix(self) -> str:
        return f"tzurot_{self.run_id}_"

    def name(self, suffix: str) -> str:
        """A database name of this run; suffix is lower-case letters, digits and _."""
        name = f"{self.prefix}{suffix}"
        if not _SAFE.match(name) or len(name) > 63:
            raise ValueError(f"invalid database suffix {suffix!r}")
        return name

    def create(self, suffix: str, *, template: str | None = None, strategy: str = "file_copy") -> str:
        """Create `tzurot_<run>_<suffix>`: cloned from this run's `template`, or empty (a copy of
        template1). The strategy applies to both: PostgreSQL's default, WAL_LOG, is ~2x slower
        than FILE_COPY for small databases."""
        if strategy not in CLONE_STRATEGIES:
            raise ValueError(f"clone strategy must be one of {CLONE_STRATEGIES}")
        name = self.name(suffix)
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            self._check_own(template)
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        if self.server_version_num >= 150000:
            query += sql.SQL(" STRATEGY {}").format(sql.SQL(strategy.upper()))
        conn = self._admin()
        try:
            conn.execute(query)
        except psycopg.Error as exc:
            raise ServerError(
                f"cannot create database {name} on {dsn_mod.mask(self.admin_dsn)}: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(f"throwaway database of pytest-tzurot run {self.run_id}")
            )
        )
        return name

    def dsn(self, name: str) -> str:
        """A DSN for one of this run's databases."""
        return dsn_mod.with_database(self.admin_dsn, name)

    def freeze_template(self, name: str) -> None:
        """Mark a built template read-only for clients so clones never wait on a session."""
        self._check_own(name)
        self._admin().execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                sql.Identifier(name)
            )
        )

    def drop(self, name: str) -> None:
        """Drop one of this run's databases (forcing its sessions out); refuse any other."""
        self._check_own(name)
        conn = self._admin()
        try:
            if self._is_template(conn, name):
                conn.execute(
                    sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name))
                )
            force = sql.SQL(" WITH (FORCE)") if self.server_version_num >= 130000 else sql.SQL("")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)) + force)
        except psycopg.Error as exc:
            raise ServerError(
                f"cannot drop database {name} on {dsn_mod.mask(self.admin_dsn)}: {str(exc).splitlines()[0]}"
            ) from None

    def existing(self) -> list[str]:
        """The databases of this run that exist on the server now."""
        rows = self._admin().execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
            (self.prefix,),
        ).fetchall()
        return [row[0] for row in rows]

    def _check_own(self, name: str) -> None:
        if not name.startswith(self.prefix):
            raise ServerError(
                f"refusing to touch database {name!r}: pytest-tzurot only alters the databases it "
                f"created in this run (named {self.prefix}*)"
            )

    @staticmethod
    def _is_template(conn: psycopg.Connection, name: str) -> bool:
        row = conn.execute("SELECT datistemplate FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return bool(row and row[0])
