"""Fill the indexed table with deterministic synthetic rows, then rebuild the index.

The embeddings come from `vectors.generate()` (dimension read from the
column's type, unit-normalised for cosine and inner product, ~2% NULL) and
reach the server by binary COPY into a temporary table; one INSERT ... SELECT
then fills the real table, so its constraints and defaults apply. Columns the
rows need besides the embedding are made up:

- a column the query filters on with a parameter (`personality_id = :pid`)
  gets the parameter's value in half of the rows and one of three other
  values in the rest, so the filter really filters and still leaves enough
  rows for k neighbours;
- other NOT NULL columns without a default get distinct values of their type;
  one that is a foreign key gets one of four values, and the referenced rows
  are inserted first.

After loading, the index is rebuilt (REINDEX, as an ivfflat index must be
after bulk loads) and the table analysed. A notice "ivfflat index created
with little data" during the rebuild is a GuardFailure with the fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from pytest_tzurot.errors import GuardFailure
from pytest_tzurot.search.target import IndexTarget
from pytest_tzurot.search.vectors import DEFAULT_SEED, Dataset, generate

SEEDABLE_TYPES = ("vector", "halfvec")
OTHER_FILTER_VALUES = 3  # values besides the parameter's in a filtered column
FOREIGN_KEY_VALUES = 4  # referenced rows used by an unfiltered NOT NULL foreign key

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', t.typcategory, t.typtype, t.typname,
       fk.confrelid::regclass::text, fa.attname
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_constraint fk ON fk.conrelid = a.attrelid AND fk.contype = 'f'
     AND array_length(fk.conkey, 1) = 1 AND fk.conkey[1] = a.attnum
LEFT JOIN pg_attribute fa ON fa.attrelid = fk.confrelid AND fa.attnum = fk.confkey[1]
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


@dataclass(frozen=True)
class Column:
    """A table column as far as seeding cares."""

    name: str
    type_sql: str  # format_type(), safe to embed: it comes from the catalog
    not_null: bool
    has_default: bool
    category: str
    typtype: str
    typname: str
    references: str | None = None  # regclass text of the referenced table
    ref_column: str | None = None

    @property
    def needs_value(self) -> bool:
        return self.not_null and not self.has_default


@dataclass
class SeedResult:
    """What was loaded: the data set, the values filter columns got, timings and server notices."""

    table: str
    rows: int
    dataset: Dataset
    filter_values: dict[str, Any]
    notices: list[str] = field(default_factory=list)
    load_seconds: float = 0.0
    rebuild_seconds: float = 0.0


def normalizes(target: IndexTarget) -> bool:
    """Whether the seeded vectors are unit length: for cosine and inner-product indexes."""
    from pytest_tzurot.sql import dialect

    metric = dialect.metric_for_opclass(target.opclass)
    return metric is not None and metric.name in ("cosine", "inner_product")


def _columns(conn: psycopg.Connection[Any], qualified: str) -> list[Column]:
    return [Column(*row) for row in conn.execute(_COLUMNS, (qualified,)).fetchall()]


def _synth(column: Column, n: sql.Composable, where: str) -> sql.Composable:
    """An SQL expression giving a value of `column`'s type for the integer expression `n`."""
    typ = sql.SQL(column.type_sql)
    if column.typname == "uuid":
        return sql.SQL("CAST(md5('tzurot-seed-' || {}) AS uuid)").format(n)
    if column.typtype == "e":
        return sql.SQL("(enum_range(NULL::{}))[1]").format(typ)
    if column.typname in ("json", "jsonb"):
        return sql.SQL("CAST('{{}}' AS {})").format(typ)
    by_category = {
        "S": "CAST('tzurot-seed-' || {n} AS {t})",
        "N": "CAST({n} AS {t})",
        "B": "false",
        "D": "CAST(now() AS {t})",
        "T": "CAST('0' AS {t})",
        "A": "CAST('{{}}' AS {t})",
    }
    if column.category in by_category:
        return sql.SQL(by_category[column.category]).format(n=n, t=typ)
    raise GuardFailure(
        f"seeding {where}: cannot make up values for NOT NULL column {column.name} of type "
        f"{column.type_sql} without a DEFAULT; give it a DEFAULT in a migration, or make it nullable"
    )


def _value_expr(
    column: Column, ord_: sql.Composable, filters: dict[str, Any], key: str, where: str
) -> sql.Composable:
    """The value of `column` in row number `ord_` (see the module docstring)."""
    if column.name in filters:
        other = _synth(
            column, sql.SQL("(1 + mod({} / 2, {}))").format(ord_, sql.Literal(OTHER_FILTER_VALUES)), where
        )
        return sql.SQL("CASE WHEN mod({o}, 2) = 0 THEN CAST({p} AS {t}) ELSE {other} END").format(
            o=ord_, p=sql.Placeholder(key), t=sql.SQL(column.type_sql), other=other
        )
    if column.references:
        return _synth(column, sql.SQL("mod({}, {})").format(ord_, sql.Literal(FOREIGN_KEY_VALUES)), where)
    return _synth(column, ord_, where)


def _insert_parents(
    conn: psycopg.Connection[Any], column: Column, value: sql.Composable, params: dict[str, Any]
) -> None:
    """Insert the referenced rows that `column`'s made-up values point to."""
    assert column.references and column.ref_column
    parent = column.references
    parent_cols = [c for c in _columns(conn, parent) if c.name != column.ref_column and c.needs_value]
    for c in parent_cols:
        if c.references:
            raise GuardFailure(
                f"seeding {parent}: NOT NULL column {c.name} references {c.references}; "
                "the search guard seeds "
                f"one level of foreign keys: give {parent}.{c.name} a DEFAULT or make it nullable"
            )
    n = sql.SQL("(row_number() OVER ())")
    names = [sql.Identifier(column.ref_column)] + [sql.Identifier(c.name) for c in parent_cols]
    values = [sql.SQL("v")] + [_synth(c, n, parent) for c in parent_cols]
    query = sql.SQL(
        "INSERT INTO {parent} ({names}) SELECT {values} FROM "
        "(SELECT DISTINCT {value} AS v FROM generate_series(0, 11) AS g(ord)) AS d ON CONFLICT DO NOTHING"
    ).format(
        parent=sql.SQL(parent),
        names=sql.SQL(", ").join(names),
        values=sql.SQL(", ").join(values),
        value=value,
    )
    conn.execute(query, params)


def seed(
    conn: psycopg.Connection[Any],
    target: IndexTarget,
    rows: int,
    *,
    filters: dict[str, Any] | None = None,
    seed: int = DEFAULT_SEED,
    rebuild: bool = True,
) -> SeedResult:
    """Load `rows` synthetic rows into the index's table and rebuild the index; commits.

    `filters` maps a column to the value the query's filter parameter has.
    Raises GuardFailure for an unsupported column type or an index built with little data.
    """
    from pgvector.psycopg import register_vector

    filters = dict(filters or {})
    qualified = sql.Identifier(target.schema, target.table)
    where = f"{target.schema}.{target.table}"
    if target.base_type not in SEEDABLE_TYPES:
        raise GuardFailure(
            f"seeding {where}.{target.column}: type {target.column_type} is not supported; "
            f"the search guard seeds {', '.join(SEEDABLE_TYPES)} columns"
        )
    if not target.dimensions:
        raise GuardFailure(
            f"seeding {where}.{target.column}: the column is {target.column_type} without a "
            f"dimension; declare it as {target.base_type}(n), as an index requires"
        )
    data = generate(rows, target.dimensions, seed=seed, normalize=normalizes(target))
    register_vector(conn)
    notices: list[str] = []

    def on_notice(diag: psycopg.errors.Diagnostic) -> None:
        notices.append(diag.message_primary or "")

    regclass = conn.execute("SELECT %s::regclass::text", (f'"{target.schema}"."{target.table}"',)).fetchone()
    columns = _columns(conn, regclass[0])  # type: ignore[index]
    missing = sorted(set(filters) - {c.name for c in columns})
    if missing:
        raise GuardFailure(
            f"seeding {where}: the query filters on {', '.join(missing)} with a parameter, which is not a "
            f"column of {where}; the search guard seeds only the indexed table, so filter on its columns"
        )
    conn.add_notice_handler(on_notice)
    started = time.perf_counter()
    fill = [c for c in columns if c.name != target.column and (c.needs_value or c.name in filters)]
    params = {f"f{i}": str(filters[c.name]) for i, c in enumerate(fill) if c.name in filters}
    keys = {c.name: f"f{i}" for i, c in enumerate(fill)}
    ord_ = sql.SQL("s.ord")
    try:
        conn.execute(
            sql.SQL("CREATE TEMP TABLE tzurot_seed (ord integer, emb {}) ON COMMIT DROP").format(
                sql.SQL(target.column_type or target.base_type)
            )
        )
        with (
            conn.cursor() as cur,
            cur.copy("COPY tzurot_seed (ord, emb) FROM STDIN WITH (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["int4", target.base_type])
            if target.base_type == "halfvec":
                from pgvector import HalfVector

                for i, vec in enumerate(data.embeddings()):
                    copy.write_row((i, None if vec is None else HalfVector(vec)))
            else:
                for i, vec in enumerate(data.embeddings()):
                    copy.write_row((i, vec))
        for c in fill:
            if c.references:
                value = _value_expr(c, sql.SQL("g.ord"), filters, keys[c.name], where)
                _insert_parents(conn, c, value, params)
        names = [sql.Identifier(target.column)] + [sql.Identifier(c.name) for c in fill]
        values = [sql.SQL("s.emb")] + [_value_expr(c, ord_, filters, keys[c.name], where) for c in fill]
        conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM tzurot_seed AS s ORDER BY s.ord").format(
                qualified, sql.SQL(", ").join(names), sql.SQL(", ").join(values)
            ),
            params,
        )
        loaded = time.perf_counter()
        if rebuild:
            notices.clear()
            conn.execute(sql.SQL("REINDEX INDEX {}").format(sql.Identifier(target.schema, target.name)))
        conn.execute(sql.SQL("ANALYZE {}").format(qualified))
        conn.commit()
    except psycopg.Error as exc:
        conn.rollback()
        first = str(exc).strip().splitlines()[0]
        raise GuardFailure(f"seeding {where} with {rows} synthetic rows failed: {first}") from None
    finally:
        conn.remove_notice_handler(on_notice)
    result = SeedResult(
        table=where,
        rows=rows,
        dataset=data,
        filter_values=filters,
        notices=notices,
        load_seconds=loaded - started,
        rebuild_seconds=time.perf_counter() - loaded,
    )
    little = [n for n in notices if "little data" in n]
    if little:
        lists = target.options.get("lists", "100")
        indexed = rows - int(data.null_mask.sum())
        raise GuardFailure(
            f'index {target.name}: PostgreSQL reports "{little[0]}" after loading {rows} rows '
            f"({indexed} with embeddings) and rebuilding it: ivfflat computes its {lists} lists when the "
            "index is built, so an index built on a (nearly) empty table has poor recall until rebuilt; "
            "raise rows in the search check (at least lists x 50) or lower lists, and in production build "
            "or REINDEX the index after the table has data"
        )
    return result
