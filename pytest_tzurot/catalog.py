"""What a live database says about its vector indexes and vector columns.

Reads only the system catalogs (`pg_index`, `pg_class`, `pg_am`, `pg_opclass`,
`pg_attribute`, `pg_namespace`, `pg_depend`, `pg_options_to_table(reloptions)`),
so it works on any PostgreSQL with or without pgvector installed, needs no
privilege beyond connecting, and never changes anything. One `read()` call
returns a `Snapshot` that every check of a run can share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psycopg

# pgvector's approximate-nearest-neighbour access methods.
ANN_METHODS = ("ivfflat", "hnsw")
# pgvector's own column types (`bit` is a core type, used for binary quantisation,
# and an unindexed bit column is ordinary, so it is not reported).
VECTOR_TYPES = ("vector", "halfvec", "sparsevec")
# pgvector's defaults for options an index leaves out (as reloptions report them: text).
ANN_DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "ivfflat": {"lists": "100"},
    "hnsw": {"m": "16", "ef_construction": "64"},
}


@dataclass(frozen=True)
class IndexColumn:
    """One key column of an index: the table column's name, or None for an expression."""

    name: str | None
    definition: str  # as pg_get_indexdef shows it: `embedding` or `((embedding)::halfvec(384))`
    opclass: str


@dataclass(frozen=True)
class IndexInfo:
    """An index as the catalogs describe it."""

    schema: str
    name: str
    table_schema: str
    table: str
    method: str
    columns: tuple[IndexColumn, ...]
    options: Mapping[str, str]
    predicate: str | None
    valid: bool
    ready: bool
    live: bool
    definition: str
    covered_columns: frozenset[str] = frozenset()  # table columns the key columns use

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def qualified_table(self) -> str:
        return f"{self.table_schema}.{self.table}"

    @property
    def is_ann(self) -> bool:
        return self.method in ANN_METHODS

    @property
    def usable(self) -> bool:
        """Valid, ready and live: the planner may use it and writes maintain it."""
        return self.valid and self.ready and self.live

    def effective_options(self) -> dict[str, str]:
        """The index's reloptions over pgvector's defaults for its access method."""
        merged = dict(ANN_DEFAULTS.get(self.method, {}))
        merged.update(self.options)
        return merged


@dataclass(frozen=True)
class VectorColumn:
    """A table column of a pgvector type."""

    schema: str
    table: str
    column: str
    type: str  # formatted, e.g. `vector(384)`

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}.{self.column}"


@dataclass(frozen=True)
class Snapshot:
    """The vector-relevant part of one database's catalogs at one moment."""

    indexes: tuple[IndexInfo, ...] = ()
    vector_columns: tuple[VectorColumn, ...] = ()
    pgvector_version: str | None = None

    def named(self, name: str) -> list[IndexInfo]:
        """Every index called `name`, in any schema."""
        return [index for index in self.indexes if index.name == name]

    def ann_indexes(self) -> list[IndexInfo]:
        return [index for index in self.indexes if index.is_ann]

    def ann_indexes_on(self, schema: str, table: str, column: str) -> list[IndexInfo]:
        """The ivfflat/hnsw indexes whose key columns use `schema.table.column`."""
        return [
            index
            for index in self.indexes
            if index.is_ann and index.table_schema == schema and index.table == table
            and column in index.covered_columns
        ]


_INDEXES = """
SELECT n.nspname, ic.relname, tn.nspname, t.relname, am.amname,
       i.indisvalid, i.indisready, i.indislive,
       ARRAY(SELECT CASE WHEN k.attnum = 0 THEN NULL ELSE a.attname::text END
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.ord <= i.indnkeyatts ORDER BY k.ord),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k.ord::int, true)
             FROM generate_series(1, i.indnkeyatts) AS k(ord) ORDER BY k.ord),
       ARRAY(SELECT opc.opcname::text
             FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS c(opc_oid, ord)
             JOIN pg_opclass opc ON opc.oid = c.opc_oid ORDER BY c.ord),
       ARRAY(SELECT o.option_name FROM pg_options_to_table(ic.reloptions) AS o ORDER BY 1),
       ARRAY(SELECT o.option_value FROM pg_options_to_table(ic.reloptions) AS o ORDER BY o.option_name),
       pg_get_expr(i.indpred, i.indrelid, true),
       pg_get_indexdef(i.indexrelid),
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = i.indrelid AND a.attnum > 0 AND (
                   a.attnum = ANY (i.indkey::int2[])
                   OR (i.indexprs IS NOT NULL AND EXISTS (
                       -- expression columns: the columns the index depends on
                       SELECT 1 FROM pg_depend d
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                         AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
                         AND d.refobjsubid = a.attnum))))
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE am.amname = ANY (%(methods)s) OR ic.relname = ANY (%(names)s)
ORDER BY n.nspname, ic.relname
"""

_VECTOR_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type ty ON ty.oid = a.atttypid
JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = ty.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vector'
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped AND ty.typname = ANY (%(types)s)
ORDER BY n.nspname, c.relname, a.attnum
"""


def read(conn: psycopg.Connection, names: Iterable[str] = ()) -> Snapshot:
    """The ANN indexes, the indexes called one of `names` (any method), and the vector columns.

    Raises psycopg.Error only if the connection itself fails.
    """
    params = {"methods": list(ANN_METHODS), "names": sorted(set(names)), "types": list(VECTOR_TYPES)}
    indexes = []
    for row in conn.execute(_INDEXES, params).fetchall():
        (schema, name, table_schema, table, method, valid, ready, live, col_names, col_defs,
         opclasses, opt_names, opt_values, predicate, definition, covered) = row
        columns = tuple(
            IndexColumn(name=col, definition=text, opclass=opc)
            for col, text, opc in zip(col_names, col_defs, opclasses, strict=True)
        )
        indexes.append(
            IndexInfo(
                schema=schema, name=name, table_schema=table_schema, table=table, method=method,
                columns=columns, options=dict(zip(opt_names, opt_values, strict=True)),
                predicate=predicate,
                valid=valid, ready=ready, live=live, definition=definition,
                covered_columns=frozenset(covered),
            )
        )
    columns_found = [VectorColumn(*row) for row in conn.execute(_VECTOR_COLUMNS, params).fetchall()]
    version_row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    return Snapshot(
        indexes=tuple(indexes),
        vector_columns=tuple(columns_found),
        pgvector_version=version_row[0] if version_row else None,
    )

