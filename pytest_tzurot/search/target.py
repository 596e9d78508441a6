"""Which vector index a search check must use, and how it is defined.

Statically (no database) the definition comes from the manifest's protected
index of the same name, else from the last `CREATE INDEX` of that name in the
migrations (a later `DROP INDEX` or `ALTER INDEX ... RENAME` counts). On a
live database it comes from the catalogs. Either way the result is an
`IndexTarget`; what cannot be found is a one-line error that says where to
declare the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_tzurot.errors import ConfigError, GuardFailure, MigrationError
from pytest_tzurot.sql.split import UnterminatedError, split, strip_comments

if TYPE_CHECKING:
    import psycopg

    from pytest_tzurot.config import Manifest

# pgvector's default operator class per column type when CREATE INDEX names none.
DEFAULT_OPCLASS = {"vector": "vector_l2_ops", "halfvec": "halfvec_l2_ops", "sparsevec": "sparsevec_l2_ops"}
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_CREATE = re.compile(
    rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>(?:{_IDENT}\s*\.\s*)?{_IDENT})\s+ON\s+(?:ONLY\s+)?(?P<table>(?:{_IDENT}\s*\.\s*)?{_IDENT})"
    rf"\s+USING\s+(?P<method>{_IDENT})\s*\(\s*(?P<column>{_IDENT})(?:\s+(?P<opclass>(?:{_IDENT}\s*\.\s*)?{_IDENT}))?"
    rf"\s*\)(?:\s+WITH\s*\((?P<with>[^)]*)\))?",
    re.IGNORECASE | re.DOTALL,
)
_DROP = re.compile(
    r"^\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?P<names>.+)$", re.IGNORECASE | re.DOTALL
)
_RENAME = re.compile(
    rf"^\s*ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?(?P<old>(?:{_IDENT}\s*\.\s*)?{_IDENT})"
    rf"\s+RENAME\s+TO\s+(?P<new>{_IDENT})",
    re.IGNORECASE | re.DOTALL,
)


def _unquote(ident: str) -> str:
    ident = ident.strip()
    if ident.startswith('"'):
        return ident[1:-1].replace('""', '"')
    return ident.lower()


def _last_part(qualified: str) -> str:
    parts = re.findall(_IDENT, qualified)
    return _unquote(parts[-1]) if parts else qualified


@dataclass(frozen=True)
class IndexTarget:
    """A vector index: where it is, its access method and operator class, and where that came from."""

    name: str
    table: str
    column: str
    method: str
    opclass: str
    options: dict[str, str] = field(default_factory=dict)
    schema: str = "public"
    source: str = ""  # "ci.yml protected_indexes", "migrations/<name>/migration.sql:12", "catalog"
    column_type: str | None = None  # format_type() of the column, live only
    dimensions: int | None = None  # from the column's type modifier, live only
    base_type: str | None = None  # vector, halfvec, ... live only


def static_target(manifest: Manifest, index: str) -> IndexTarget:
    """The index's definition without a database; GuardFailure if neither source declares it."""
    for protected in manifest.protected_indexes:
        if protected.name == index:
            return IndexTarget(
                name=protected.name,
                table=protected.table,
                column=protected.column,
                method=protected.method,
                opclass=protected.opclass,
                options=protected.effective_options(),
                schema=protected.schema,
                source=f"{manifest.path.name} protected_indexes",
            )
    found = from_migrations(manifest, index)
    if found is None:
        raise GuardFailure(
            f"index {index}: not declared under protected_indexes in {manifest.path.name} and no "
            f"migration in {manifest.migrations.dir.name}/ creates it; declare it under protected_indexes "
            "(name, table, column, method, opclass) or fix the search check's index name"
        )
    return found


def from_migrations(manifest: Manifest, index: str) -> IndexTarget | None:
    """The last CREATE INDEX of `index` in the migrations, or None if none creates it (or it is dropped)."""
    from pytest_tzurot.migrations.discovery import discover

    try:
        migrations = discover(manifest.migrations.dir)
    except MigrationError as exc:
        raise ConfigError(str(exc)) from None
    current: IndexTarget | None = None
    wanted = index
    for migration in migrations:
        try:
            statements = split(migration.sql)
        except UnterminatedError:
            continue  # the runner and the lint report unreadable migrations
        for stmt in statements:
            text = strip_comments(stmt.text)
            where = f"{migration.path.relative_to(manifest.migrations.dir.parent)}:{stmt.line}"
            if (m := _CREATE.match(text)) and _last_part(m.group("name")) == wanted:
                table_parts = [_unquote(p) for p in re.findall(_IDENT, m.group("table"))]
                method = _unquote(m.group("method"))
                opclass = _last_part(m.group("opclass")) if m.group("opclass") else DEFAULT_OPCLASS["vector"]
                options = {}
                for item in (m.group("with") or "").split(","):
                    if "=" in item:
                        key, value = item.split("=", 1)
                        options[key.strip().lower()] = value.strip().strip("'")
                current = IndexTarget(
                    name=wanted,
                    table=table_parts[-1],
                    column=_unquote(m.group("column")),
                    method=method,
                    opclass=opclass,
                    options=options,
                    schema=table_parts[0] if len(table_parts) > 1 else "public",
                    source=where,
                )
            elif (m := _DROP.match(text)) and current is not None:
                names = {_unquote(part) for part in re.findall(_IDENT, m.group("names"))}
                if wanted in names - {"cascade", "restrict"}:
                    current = None
            elif (m := _RENAME.match(text)) and current is not None and _last_part(m.group("old")) == wanted:
                current = None  # renamed away: the declared name no longer exists
    return current


_CATALOG = """
SELECT n.nspname, t.relname, a.attname, am.amname, opc.opcname,
       coalesce((SELECT array_agg(o.option_name || '=' || o.option_value)
                 FROM pg_options_to_table(c.reloptions) o), '{}'),
       format_type(a.atttypid, a.atttypmod), a.atttypmod, ty.typname
FROM pg_class c
JOIN pg_index i ON i.indexrelid = c.oid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = c.relam
JOIN pg_opclass opc ON opc.oid = i.indclass[0]
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
JOIN pg_type ty ON ty.oid = a.atttypid
WHERE c.relkind = 'i' AND c.relname = %(name)s AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s)
ORDER BY n.nspname = 'public' DESC
LIMIT 1
"""


def live_target(conn: psycopg.Connection[Any], index: str, schema: str | None = None) -> IndexTarget:
    """The index as the database's catalogs define it; GuardFailure if the migrations did not create it."""
    row = conn.execute(_CATALOG, {"name": index, "schema": schema}).fetchone()
    if row is None:
        raise GuardFailure(
            f"index {index}: not found in the migrated database; a migration dropped or renamed it, or "
            "none creates it (Prisma drops indexes it cannot model: re-create it in a new migration)"
        )
    nsp, table, column, method, opclass, options, column_type, typmod, base_type = row
    parsed = dict(item.split("=", 1) for item in options)
    # vector(n), halfvec(n), sparsevec(n) store n in atttypmod; bit(n) too. -1 means no fixed size.
    dims = typmod if typmod and typmod > 0 else None
    return IndexTarget(
        name=index,
        table=table,
        column=column,
        method=method,
        opclass=opclass,
        options=parsed,
        schema=nsp,
        source="catalog",
        column_type=column_type,
        dimensions=dims,
        base_type=base_type,
    )
