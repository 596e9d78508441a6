"""Connection strings: parse, validate, re-target and mask the password.

A DSN may be a URI (`postgresql://user:pw@host/db`) or a libpq key/value
string (`host=... dbname=...`). Everything that prints a DSN goes through
`mask()`, so a password never reaches a log, a report header or an error.
"""

from __future__ import annotations

import re

from psycopg import conninfo

from pytest_tzurot.errors import ConfigError

_URI_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@?#]*:)(?P<pw>[^@/?#]*)(?=@)", re.I)
# key/value `password=...`, but not `?password=` / `&password=` in a URI query (masked below)
_KV_PASSWORD = re.compile(r"(?P<head>(?<![\w?&])password\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&#]*)", re.I)


def parse(dsn: str) -> dict[str, str]:
    """Return the DSN's parameters; raise ConfigError (password masked) if malformed."""
    if not dsn or not dsn.strip():
        raise ConfigError("empty DSN: give a postgresql://user@host:port/dbname URI")
    try:
        return conninfo.conninfo_to_dict(dsn)  # type: ignore[return-value]
    except Exception as exc:
        raise ConfigError(f"malformed DSN {mask(dsn)!r}: {mask(str(exc)).strip()}") from None


def with_database(dsn: str, dbname: str) -> str:
    """The same connection parameters pointing at another database."""
    return conninfo.make_conninfo(dsn, dbname=dbname)


def database_of(dsn: str) -> str:
    """The database a DSN names (libpq's default: the user name)."""
    params = parse(dsn)
    return params.get("dbname") or params.get("user") or "postgres"


def mask(text: str) -> str:
    """`text` with every password in a DSN replaced by `***`."""
    text = _URI_PASSWORD.sub(lambda m: m.group("head") + ("***" if m.group("pw") else ""), text)
    text = _KV_PASSWORD.sub(lambda m: m.group("head") + "***", text)
    return _QUERY_PASSWORD.sub(lambda m: m.group("head") + "***", text)
