"""Prisma's DATABASE_URL, made usable by libpq.

Prisma URLs carry arguments libpq rejects (`?schema=app&connection_limit=5`).
`to_libpq()` drops the Prisma-only ones and turns `schema` into the search
path (`options=-c search_path=app`), which is where Prisma keeps its
`_prisma_migrations` table and creates unqualified objects. Any other DSN is
returned unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# Connection-URL arguments only Prisma's engines understand (libpq refuses them).
PRISMA_ONLY = frozenset({
    "schema", "connection_limit", "pool_timeout", "socket_timeout", "pgbouncer", "statement_cache_size",
    "sslidentity", "sslaccept", "max_connection_lifetime", "max_idle_connection_lifetime",
})
_SAFE_SCHEMA = re.compile(r"^[A-Za-z0-9_$-]+$")


@dataclass(frozen=True)
class LibpqUrl:
    """The DSN to hand to libpq, and the schema Prisma's URL named (None if none)."""

    dsn: str
    schema: str | None = None


def to_libpq(dsn: str) -> LibpqUrl:
    """`dsn` without Prisma-only arguments, with `schema` as the search path."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return LibpqUrl(dsn)  # malformed: libpq's parser reports it
    if parts.scheme not in ("postgresql", "postgres") or not parts.query:
        return LibpqUrl(dsn)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key in PRISMA_ONLY for key, _ in pairs):
        return LibpqUrl(dsn)
    schema = next((value for key, value in pairs if key == "schema" and value), None)
    kept = [(key, value) for key, value in pairs if key not in PRISMA_ONLY]
    if schema is not None:
        # libpq splits `options` on spaces; quote the schema as an identifier only when needed.
        path = schema if _SAFE_SCHEMA.match(schema) else '"' + schema.replace('"', '""') + '"'
        setting = "-c search_path=" + path.replace("\\", "\\\\").replace(" ", "\\ ")
        options = [value for key, value in kept if key == "options"]
        kept = [(key, value) for key, value in kept if key != "options"]
        kept.append(("options", " ".join([*options, setting])))
    return LibpqUrl(urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote))), schema)
