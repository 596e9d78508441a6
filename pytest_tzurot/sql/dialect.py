"""A sqlglot dialect: PostgreSQL plus pgvector's distance operators.

sqlglot's own postgres dialect reads `<=>` as MySQL's null-safe equality and
fails on `<#>`; this one parses all six pgvector operators as `Distance`
expressions (one subclass per metric) and prints them back unchanged:

    <->  l2             vector_l2_ops, halfvec_l2_ops, sparsevec_l2_ops
    <#>  inner_product  vector_ip_ops, ...  (the *negative* inner product)
    <=>  cosine         vector_cosine_ops, ...
    <+>  l1             vector_l1_ops, ...
    <~>  hamming        bit_hamming_ops
    <%>  jaccard        bit_jaccard_ops

They bind like PostgreSQL's "any other operator": looser than `+ - * /`,
tighter than comparisons, so `a <=> b < 0.5` is `(a <=> b) < 0.5` and
`a <-> b + c` is `a <-> (b + c)`, as in PostgreSQL.

`parse(sql)` never returns None entries; statements sqlglot does not know
come back as `exp.Command` (callers decide what an opaque statement means);
syntax errors raise `sqlglot.errors.ParseError` with line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokens import TokenType


@dataclass(frozen=True)
class Metric:
    """One pgvector distance: its operator, name, and the opclass suffix an index needs for it."""

    operator: str
    name: str
    opclass_suffix: str  # e.g. "_cosine_ops": matches vector_cosine_ops, halfvec_cosine_ops, ...

    def matches_opclass(self, opclass: str) -> bool:
        """True when an index with `opclass` (optionally schema-qualified) serves this operator."""
        name = opclass.rsplit(".", 1)[-1].strip('"').lower()
        if self.opclass_suffix.startswith("bit_"):
            return name == self.opclass_suffix
        return name.endswith(self.opclass_suffix)


METRICS: dict[str, Metric] = {
    "<->": Metric("<->", "l2", "_l2_ops"),
    "<#>": Metric("<#>", "inner_product", "_ip_ops"),
    "<=>": Metric("<=>", "cosine", "_cosine_ops"),
    "<+>": Metric("<+>", "l1", "_l1_ops"),
    "<~>": Metric("<~>", "hamming", "bit_hamming_ops"),
    "<%>": Metric("<%>", "jaccard", "bit_jaccard_ops"),
}
# operator -> opclass suffix, the shape the search guard asks for.
OPERATOR_OPCLASS: dict[str, str] = {op: metric.opclass_suffix for op, metric in METRICS.items()}


def metric_for_opclass(opclass: str) -> Metric | None:
    """The metric an index opclass serves (`vector_cosine_ops` -> cosine), or None if not pgvector's."""
    for metric in METRICS.values():
        if metric.matches_opclass(opclass):
            return metric
    return None


class Distance(exp.Expression, exp.Binary):
    """A pgvector distance `this <op> expression`; subclasses fix the operator."""

    operator: str = ""

    @property
    def metric(self) -> Metric:
        return METRICS[self.operator]

    @property
    def metric_name(self) -> str:
        return METRICS[self.operator].name


class L2Distance(Distance):
    operator = "<->"


class NegativeInnerProduct(Distance):
    operator = "<#>"


class CosineDistance(Distance):
    operator = "<=>"


class L1Distance(Distance):
    operator = "<+>"


class HammingDistance(Distance):
    operator = "<~>"


class JaccardDistance(Distance):
    operator = "<%>"


DISTANCE_CLASSES: dict[str, type[Distance]] = {
    cls.operator: cls
    for cls in (
        L2Distance,
        NegativeInnerProduct,
        CosineDistance,
        L1Distance,
        HammingDistance,
        JaccardDistance,
    )
}


class VectorTokenType(IntEnum):
    """Token types for the operators; values far above sqlglot's TokenType so they never collide."""

    L2 = 100_001
    NEGATIVE_INNER_PRODUCT = 100_002
    COSINE = 100_003
    L1 = 100_004
    HAMMING = 100_005
    JACCARD = 100_006


_TOKENS: dict[str, VectorTokenType] = {
    "<->": VectorTokenType.L2,
    "<#>": VectorTokenType.NEGATIVE_INNER_PRODUCT,
    "<=>": VectorTokenType.COSINE,
    "<+>": VectorTokenType.L1,
    "<~>": VectorTokenType.HAMMING,
    "<%>": VectorTokenType.JACCARD,
}


def _distance_sql(generator: PostgresGenerator, expression: Distance) -> str:
    return generator.binary(expression, expression.operator)


class PgVector(Postgres):
    """PostgreSQL with pgvector's distance operators (see the module docstring)."""

    class Tokenizer(Postgres.Tokenizer):
        KEYWORDS: ClassVar = {**Postgres.Tokenizer.KEYWORDS, **_TOKENS}

    class Parser(PostgresParser):
        # "Any other operator" precedence in PostgreSQL is sqlglot's bitwise level.
        BITWISE: ClassVar = {
            **PostgresParser.BITWISE,
            **{token: DISTANCE_CLASSES[op] for op, token in _TOKENS.items()},
        }
        FACTOR: ClassVar = {k: v for k, v in PostgresParser.FACTOR.items() if k != TokenType.LR_ARROW}

        def _parse_drop(self, exists: bool = False, kind: str | None = None) -> exp.Drop | exp.Command:
            # PostgreSQL drops several indexes / schemas / sequences / types in one statement
            # (`DROP INDEX a, b`); sqlglot's base parser accepts lists only for tables and views.
            word = self._curr.text.upper() if self._curr and not kind else ""
            if word not in ("INDEX", "SCHEMA", "SEQUENCE", "TYPE"):
                return super()._parse_drop(exists=exists, kind=kind)
            self._advance()
            concurrently = word == "INDEX" and bool(self._match_text_seq("CONCURRENTLY"))
            if_exists = exists or self._parse_exists()
            names = self._parse_csv(
                lambda: self._parse_table_parts(schema=True, is_db_reference=word == "SCHEMA")
            )
            action = self._match_texts(("CASCADE", "RESTRICT")) and self._prev.text.upper()
            return self.expression(
                exp.Drop(
                    exists=if_exists,
                    tables=names,
                    kind=word,
                    concurrently=concurrently,
                    cascade=action == "CASCADE",
                    restrict=action == "RESTRICT",
                )
            )

    class Generator(PostgresGenerator):
        TRANSFORMS: ClassVar = {
            **PostgresGenerator.TRANSFORMS,
            **{cls: _distance_sql for cls in DISTANCE_CLASSES.values()},
        }


DIALECT = PgVector()


def parse(sql: str) -> list[exp.Expr]:
    """Parse a script into statements (empty statements dropped).

    Raises sqlglot.errors.ParseError / TokenError on invalid syntax; unknown
    statements come back as `exp.Command`.
    """
    return [statement for statement in DIALECT.parse(sql) if statement is not None]


def parse_one(sql: str) -> exp.Expr:
    """Parse exactly one statement; ParseError if `sql` holds none or several."""
    statements = parse(sql)
    if len(statements) != 1:
        from sqlglot.errors import ParseError

        raise ParseError(f"expected one statement, got {len(statements)}")
    return statements[0]


@dataclass(frozen=True)
class SyntaxProblem:
    """Why sqlglot could not read a script, and where (1-based; 0 when sqlglot does not say)."""

    message: str
    line: int
    column: int


def parse_safely(sql: str) -> tuple[list[exp.Expr], SyntaxProblem | None]:
    """`parse(sql)`, or ([], the problem with its position) when it is not valid SQL. Never raises
    on bad input. Statements sqlglot only keeps as text come back as `exp.Command` (see `is_opaque`)."""
    from sqlglot.errors import ParseError, TokenError

    try:
        return parse(sql), None
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        message = str(first.get("description") or exc).splitlines()[0]
        return [], SyntaxProblem(message, int(first.get("line") or 0), int(first.get("col") or 0))
    except (TokenError, RecursionError, ValueError) as exc:
        return [], SyntaxProblem(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 0, 0)


def is_opaque(statement: exp.Expr) -> bool:
    """True for a statement sqlglot did not understand and kept as raw text (DO blocks, VACUUM, ...)."""
    return isinstance(statement, exp.Command)


def to_sql(expression: exp.Expr, pretty: bool = False) -> str:
    """Print `expression` back as PostgreSQL with the pgvector operators."""
    return expression.sql(dialect=DIALECT, pretty=pretty)


def distances(expression: exp.Expr) -> list[Distance]:
    """Every pgvector distance in `expression`, outermost first."""
    return list(expression.find_all(Distance))
