"""Static analysis of a similarity query: can pgvector's index serve it, and is it right?

The rules (the pgvector README's, see "Search guard" in README.md):

- ORDER BY's first key is a bare distance operator on the indexed column, in
  ascending order, and the query has a LIMIT; `ORDER BY similarity DESC` or
  `ORDER BY 1 - (a <=> b) DESC` cannot use the index.
- The operator matches the index's operator class (`<=>` for *_cosine_ops,
  `<->` for *_l2_ops, `<#>` for *_ip_ops, `<+>` for *_l1_ops, `<~>` for
  bit_hamming_ops, `<%>` for bit_jaccard_ops).
- A column labelled similarity is computed from the index's distance:
  `1 - (a <=> b)` for cosine, `(a <#> b) * -1` for inner product.
- For HNSW, LIMIT <= hnsw.ef_search unless hnsw.iterative_scan is on.

`analyse()` returns a `Shape` with the facts later checks need (vector
parameter, LIMIT, filters, labelled columns) and every rule broken, each
phrased with its fix; `problems` is empty when the query is fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from pytest_tzurot.search.query import QueryText, param_key
from pytest_tzurot.search.target import IndexTarget
from pytest_tzurot.sql import dialect

HNSW_DEFAULT_EF_SEARCH = 40
VECTOR_PARAM_NAMES = ("embedding", "query_embedding")
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
# How a similarity is derived from each distance (pgvector README, "Querying").
SIMILARITY_FORM = {"cosine": "one_minus", "inner_product": "negated", "jaccard": "one_minus"}


@dataclass(frozen=True)
class LabelledColumn:
    """A select-list column whose value the results check recomputes: a distance or a similarity."""

    name: str
    operator: str
    form: str  # "distance", "one_minus", "negated"


@dataclass
class Shape:
    """What the analysis found; `problems` lists each broken rule with its fix."""

    operator: str | None = None
    column: str | None = None
    vector_param: str | None = None
    limit: int | None = None
    limit_param: str | None = None
    filters: dict[str, str] = field(default_factory=dict)  # parameter name -> column it is compared with
    labelled: list[LabelledColumn] = field(default_factory=list)
    output_columns: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _column_name(node: exp.Expression) -> str | None:
    node = _unwrap(node)
    while isinstance(node, exp.Cast):
        node = _unwrap(node.this)
    if not isinstance(node, exp.Column):
        return None
    # PostgreSQL folds unquoted names to lower case; "ownerId" keeps its case.
    ident = node.this
    return ident.name if isinstance(ident, exp.Identifier) and ident.quoted else node.name.lower()


def _integer(value: Any) -> int | None:
    """`value` as an int (manifest values may be strings), or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _placeholders(node: exp.Expression) -> list[str]:
    return [p.name for p in node.find_all(exp.Placeholder)]


def _form(node: exp.Expression) -> tuple[str, dialect.Distance | None]:
    """How `node` is built from a distance: distance, one_minus, negated or other."""
    node = _unwrap(node)
    if isinstance(node, dialect.Distance):
        return "distance", node
    if (
        isinstance(node, exp.Sub)
        and isinstance(_unwrap(node.this), exp.Literal)
        and _unwrap(node.this).name in ("1", "1.0")
        and isinstance(_unwrap(node.expression), dialect.Distance)
    ):
        return "one_minus", _unwrap(node.expression)  # type: ignore[return-value]
    if isinstance(node, exp.Neg) and isinstance(_unwrap(node.this), dialect.Distance):
        return "negated", _unwrap(node.this)  # type: ignore[return-value]
    if isinstance(node, exp.Mul):
        for a, b in ((node.this, node.expression), (node.expression, node.this)):
            b = _unwrap(b)
            minus_one = (isinstance(b, exp.Neg) and _unwrap(b.this).name == "1") or (
                isinstance(b, exp.Literal) and b.name == "-1"
            )
            if isinstance(_unwrap(a), dialect.Distance) and minus_one:
                return "negated", _unwrap(a)  # type: ignore[return-value]
    found = dialect.distances(node)
    return "other", found[0] if found else None


class _Analysis:
    def __init__(
        self, query: QueryText, target: IndexTarget, k: int, settings: dict[str, Any], params: dict[str, Any]
    ) -> None:
        self.query = query
        self.target = target
        self.k = k
        self.settings = settings
        self.params = {param_key(str(key)): value for key, value in params.items()}
        self.shape = Shape()
        metric = dialect.metric_for_opclass(target.opclass)
        self.metric = metric
        self.want = metric.operator if metric else None

    # -- helpers ---------------------------------------------------------------
    def where(self) -> str:
        return f"{self.query.path.name}:{self.query.line}"

    def problem(self, text: str) -> None:
        self.shape.problems.append(text)

    def label(self, key: str) -> str:
        name = self.query.name_of_key(key)
        return self.query.label(name) if name is not None else f":{key}"

    def sql(self, node: exp.Expression) -> str:
        """`node` as SQL, with parameters shown as the user wrote them."""
        text = dialect.to_sql(node)
        return re.sub(
            r"%\((tzp_[0-9]+)\)s|:(tzp_[0-9]+)", lambda m: self.label(m.group(1) or m.group(2)), text
        )

    def vector_text(self) -> str:
        vector = self.shape.vector_param or next(iter(self.query.names), "embedding")
        return self.query.label(vector)

    def good_order(self) -> str:
        return f"ORDER BY {self.target.column} {self.want or '<=>'} {self.vector_text()}"

    def formula(self, form: str, op: str) -> str:
        column, vector = self.target.column, self.vector_text()
        return {"one_minus": f"1 - ({column} {op} {vector})", "negated": f"({column} {op} {vector}) * -1"}[
            form
        ]

    def index_text(self) -> str:
        return f"{self.target.name} ({self.target.method}, {self.target.opclass})"

    # -- rules -----------------------------------------------------------------
    def run(self) -> Shape:
        try:
            tree = dialect.parse_one(self.query.sqlglot_sql())
        except (ParseError, TokenError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.problem(f"{self.where()}: the query does not parse: {first}")
            return self.shape
        if not isinstance(tree, exp.Select):
            self.problem(
                f"{self.where()}: the search query must be one SELECT (got {tree.key.upper()}); "
                "put the similarity SELECT itself in the file"
            )
            return self.shape
        if self.metric is None:
            self.problem(
                f"index {self.target.name}: operator class {self.target.opclass} is not one of "
                f"pgvector's (from {self.target.source}); fix the opclass"
            )
        self.select_list(tree)
        self.order_by(tree)
        self.limit(tree)
        self.filters(tree)
        self.similarities(tree)
        self.parameters()
        self.hnsw()
        self.setting_names()
        return self.shape

    def select_list(self, tree: exp.Select) -> None:
        self.aliases: dict[str, exp.Expression] = {}
        self.positions: list[exp.Expression] = []
        for item in tree.expressions:
            inner = item.this if isinstance(item, exp.Alias) else item
            self.positions.append(inner)
            name = item.alias_or_name
            self.shape.output_columns.append(name)
            if isinstance(item, exp.Alias):
                self.aliases[item.alias.lower()] = inner

    def order_by(self, tree: exp.Select) -> None:
        order = tree.args.get("order")
        if order is None or not order.expressions:
            self.problem(
                f"{self.where()}: no ORDER BY: order by the distance, {self.good_order()} "
                f"LIMIT {self.k}, so the index {self.index_text()} can serve the query"
            )
            return
        first: exp.Ordered = order.expressions[0]
        key = _unwrap(first.this)
        shown = self.sql(first.this)
        if isinstance(key, exp.Column) and not key.table and key.name.lower() in self.aliases:
            key = _unwrap(self.aliases[key.name.lower()])
        elif isinstance(key, exp.Literal) and not key.is_string and key.name.isdigit():
            position = int(key.name)
            if 1 <= position <= len(self.positions):
                key = _unwrap(self.positions[position - 1])
        form, distance = _form(key)
        if distance is None:
            self.problem(
                f"{self.where()}: ORDER BY {shown} is not a vector distance; "
                f"use {self.good_order()} LIMIT {self.k}"
            )
            return
        self.shape.operator = distance.operator
        self.vector_operand(distance)
        direction = " DESC" if first.args.get("desc") else ""
        if form != "distance":
            self.problem(
                f"{self.where()}: ORDER BY {shown}{direction} sorts by an expression of the distance, which "
                f"no index can serve (every row is read and sorted); order by the bare distance "
                f"ascending: {self.good_order()}"
            )
        elif first.args.get("desc"):
            self.problem(
                f"{self.where()}: ORDER BY {shown} DESC returns the farthest rows first and "
                f"cannot use the index; order ascending: {self.good_order()}"
            )
        if self.metric is not None and distance.operator != self.want:
            used = dialect.METRICS[distance.operator]
            self.problem(
                f"{self.where()}: ORDER BY uses `{used.operator}` "
                f"({used.name.replace('_', ' ')} distance) but "
                f"{self.index_text()} serves `{self.want}`: use `{self.want}` to match {self.target.opclass} "
                f"(or index with the opclass for `{used.operator}`)"
            )
        column = self.shape.column
        if column is not None and column != self.target.column:
            self.problem(
                f"{self.where()}: ORDER BY orders by column {column}, but {self.target.name} indexes "
                f"{self.target.table}.{self.target.column}; order by {self.target.column}"
            )

    def vector_operand(self, distance: dialect.Distance) -> None:
        sides = (distance.this, distance.expression)
        for side, other in (sides, sides[::-1]):
            name = _column_name(side)
            if name is not None:
                self.shape.column = name
                keys = _placeholders(other)
                if keys:
                    self.shape.vector_param = self.query.name_of_key(keys[0])
                return
        if self.shape.vector_param is None:
            for key in _placeholders(distance):
                self.shape.vector_param = self.query.name_of_key(key)
                return

    def limit(self, tree: exp.Select) -> None:
        node = tree.args.get("limit")
        if node is None or node.expression is None:
            self.problem(
                f"{self.where()}: no LIMIT: add LIMIT {self.k}; without a LIMIT pgvector's index "
                "is not used and every row is sorted"
            )
            return
        value = _unwrap(node.expression)
        if isinstance(value, exp.Placeholder):
            name = self.query.name_of_key(value.name)
            self.shape.limit_param = name
            given = self.params.get(name) if name is not None else None
            self.shape.limit = _integer(given) if given is not None else self.k
            if self.shape.limit is None:
                self.problem(f"params: {param_key(name or '')} = {given!r} is the LIMIT; give an integer (k)")
                return
        elif isinstance(value, exp.Literal) and not value.is_string and value.name.isdigit():
            self.shape.limit = int(value.name)
        else:
            self.problem(
                f"{self.where()}: LIMIT {self.sql(value)} is not a number or a parameter; "
                f"write LIMIT {self.k}"
            )
            return
        if self.shape.limit != self.k:
            self.problem(
                f"{self.where()}: the query returns LIMIT {self.shape.limit} rows but the search check "
                f"has k = {self.k}; make k equal to the query's LIMIT"
            )

    def filters(self, tree: exp.Select) -> None:
        where = tree.args.get("where")
        if where is None:
            return
        for eq in where.find_all(exp.EQ):
            for a, b in ((eq.this, eq.expression), (eq.expression, eq.this)):
                column = _column_name(a)
                keys = _placeholders(b)
                if column and keys and _column_name(b) is None:
                    name = self.query.name_of_key(keys[0])
                    if name is not None:
                        self.shape.filters[name] = column

    def similarities(self, tree: exp.Select) -> None:
        for item in tree.expressions:
            inner = item.this if isinstance(item, exp.Alias) else item
            name = item.alias_or_name
            form, distance = _form(inner)
            if distance is None:
                if "similarity" in name.lower() or "distance" in name.lower():
                    self.problem(
                        f"{self.where()}: column {name} is not computed from a vector distance; "
                        f"compute it from `{self.want}`"
                    )
                continue
            op = distance.operator
            if form == "distance" and "similarity" in name.lower():
                expected = SIMILARITY_FORM.get(dialect.METRICS[op].name)
                fix = f"compute it as {self.formula(expected, op)}" if expected else "name it distance"
                self.problem(
                    f"{self.where()}: column {name} holds the distance {self.sql(inner)}, "
                    f"not a similarity (smaller is closer); {fix}"
                )
                continue
            if form == "distance":
                self.shape.labelled.append(LabelledColumn(name, op, form))
                continue
            if "similarity" not in name.lower():
                if form in ("one_minus", "negated"):
                    self.shape.labelled.append(LabelledColumn(name, op, form))
                continue
            used = dialect.METRICS[op]
            if self.want is not None and op != self.want:
                expected = SIMILARITY_FORM.get(self.metric.name) if self.metric else None
                fix = self.formula(expected, self.want) if expected else f"`{self.want}`"
                self.problem(
                    f"{self.where()}: {name} = {self.sql(inner)} uses `{op}` "
                    f"({used.name.replace('_', ' ')} distance), which is not a "
                    f"{self.metric.name.replace('_', ' ')} "
                    f"similarity: use `{self.want}` to match {self.target.opclass}, e.g. {fix}"
                )
                continue
            expected = SIMILARITY_FORM.get(used.name)
            if expected is None:
                self.problem(
                    f"{self.where()}: {name} is labelled a similarity, but {used.name} distance "
                    f"(`{op}`) has no similarity form; select the distance itself"
                )
            elif form != expected:
                self.problem(
                    f"{self.where()}: {name} = {self.sql(inner)} is not a "
                    f"{used.name.replace('_', ' ')} similarity; compute it as "
                    f"{self.formula(expected, op)}"
                )
            else:
                self.shape.labelled.append(LabelledColumn(name, op, form))

    def parameters(self) -> None:
        if self.shape.vector_param is None:
            for name in VECTOR_PARAM_NAMES:
                if name in self.query.names:
                    self.shape.vector_param = name
        if self.shape.operator is not None and self.shape.vector_param is None:
            self.problem(
                f"{self.where()}: the distance in ORDER BY compares with no parameter; pass the "
                f"query vector as a parameter, e.g. {self.target.column} {self.want or '<=>'} :embedding"
            )
        for name in self.query.names:
            if name in (self.shape.vector_param, self.shape.limit_param) or name in self.params:
                continue
            self.problem(
                f"{self.where()}: parameter {self.query.label(name)} has no value; add "
                f"`{param_key(name)}: <value>` under params: of this search check"
            )

    def hnsw(self) -> None:
        if self.target.method != "hnsw" or self.shape.limit is None:
            return
        ef_search = _integer(self.settings.get("hnsw.ef_search", HNSW_DEFAULT_EF_SEARCH))
        if ef_search is None:
            self.problem(f"settings: hnsw.ef_search = {self.settings['hnsw.ef_search']!r}: give an integer")
            return
        iterative = str(self.settings.get("hnsw.iterative_scan", "off")).lower() not in ("off", "false")
        if self.shape.limit > ef_search and not iterative:
            self.problem(
                f"{self.where()}: LIMIT {self.shape.limit} > hnsw.ef_search ({ef_search}): "
                "an HNSW scan returns "
                f"at most ef_search rows; set `hnsw.ef_search: {self.shape.limit}` (or more) "
                "under settings (and SET it in the application), or `hnsw.iterative_scan: strict_order` "
                "(pgvector >= 0.8)"
            )

    def setting_names(self) -> None:
        for name in self.settings:
            if not SETTING_NAME.match(str(name)):
                self.problem(f"settings: {name!r} is not a PostgreSQL setting name (e.g. ivfflat.probes)")


def analyse(
    query: QueryText,
    target: IndexTarget,
    *,
    k: int,
    settings: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Shape:
    """The query's shape against the index; never raises for a bad query (see `Shape.problems`)."""
    return _Analysis(query, target, k, dict(settings or {}), dict(params or {})).run()
