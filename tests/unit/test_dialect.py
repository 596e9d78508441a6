"""The pgvector-aware sqlglot dialect: operators, precedence, round trip, DDL."""

from __future__ import annotations

import pytest
from sqlglot import exp
from sqlglot.errors import ParseError

from pytest_tzurot.sql import dialect

OPERATORS = [
    ("<->", dialect.L2Distance, "l2", "vector_l2_ops"),
    ("<#>", dialect.NegativeInnerProduct, "inner_product", "vector_ip_ops"),
    ("<=>", dialect.CosineDistance, "cosine", "vector_cosine_ops"),
    ("<+>", dialect.L1Distance, "l1", "vector_l1_ops"),
    ("<~>", dialect.HammingDistance, "hamming", "bit_hamming_ops"),
    ("<%>", dialect.JaccardDistance, "jaccard", "bit_jaccard_ops"),
]


@pytest.mark.parametrize(("op", "cls", "metric", "opclass"), OPERATORS)
def test_each_operator_parses_as_its_distance_and_round_trips(op, cls, metric, opclass):
    sql = f"SELECT id FROM memories ORDER BY embedding {op} $1 LIMIT 10"
    (tree,) = dialect.parse(sql)
    (found,) = dialect.distances(tree)
    assert type(found) is cls
    assert isinstance(found, dialect.Distance)
    assert (found.operator, found.metric_name) == (op, metric)
    assert found.metric.matches_opclass(opclass)
    assert dialect.to_sql(tree) == sql
    assert dialect.metric_for_opclass(opclass) is dialect.METRICS[op]


def test_operators_without_spaces_and_cosine_is_not_null_safe_equality():
    (tree,) = dialect.parse("SELECT a<=>b, a<#>b FROM t")
    assert not list(tree.find_all(exp.NullSafeEQ))
    assert [d.operator for d in dialect.distances(tree)] == ["<=>", "<#>"]


def test_precedence_follows_postgresql_other_operators():
    (tree,) = dialect.parse("SELECT 1 FROM t WHERE a <=> b < 0.5 AND c <-> d + 1 > 2")
    lt = tree.find(exp.LT)
    assert isinstance(lt.this, dialect.CosineDistance)
    l2 = tree.find(dialect.L2Distance)
    assert isinstance(l2.expression, exp.Add)


def test_similarity_expression_keeps_parentheses():
    (tree,) = dialect.parse("SELECT 1 - (embedding <=> $1) AS similarity FROM memories")
    assert isinstance(tree.find(exp.Sub).expression, exp.Paren)
    assert "1 - (embedding <=> $1)" in dialect.to_sql(tree)


def test_operator_opclass_mapping():
    assert dialect.OPERATOR_OPCLASS == {
        "<=>": "_cosine_ops",
        "<->": "_l2_ops",
        "<#>": "_ip_ops",
        "<+>": "_l1_ops",
        "<~>": "bit_hamming_ops",
        "<%>": "bit_jaccard_ops",
    }
    assert dialect.METRICS["<=>"].matches_opclass("public.halfvec_cosine_ops")
    assert not dialect.METRICS["<->"].matches_opclass("vector_cosine_ops")
    assert dialect.metric_for_opclass("text_pattern_ops") is None


def test_operator_text_inside_a_string_is_not_an_operator():
    (tree,) = dialect.parse("SELECT '<=>' AS op FROM t")
    assert dialect.distances(tree) == []


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        (
            'CREATE INDEX IF NOT EXISTS "idx" ON "memories" USING ivfflat ("embedding" vector_cosine_ops)'
            " WITH (lists = 50)",
            exp.Create,
        ),
        ("CREATE INDEX CONCURRENTLY idx ON memories USING hnsw (embedding vector_l2_ops)", exp.Create),
        ("ALTER INDEX idx RENAME TO idx2", exp.Alter),
        ('ALTER TABLE "memories" DROP COLUMN "embedding"', exp.Alter),
        ('DROP INDEX CONCURRENTLY IF EXISTS public."Idx"', exp.Drop),
        ("CREATE FUNCTION f() RETURNS void AS $$ DROP INDEX x; $$ LANGUAGE sql", exp.Create),
        ("DO $$ BEGIN EXECUTE 'DROP INDEX idx'; END $$", exp.Command),
        ('ALTER TABLE "memories" ADD COLUMN "summary" TEXT', exp.Alter),
        ('CREATE UNIQUE INDEX "personalities_name_key" ON "personalities"("name")', exp.Create),
        (
            'ALTER TABLE "memories" ADD CONSTRAINT "memories_personality_id_fkey"'
            ' FOREIGN KEY ("personality_id") REFERENCES "personalities"("id")'
            " ON DELETE CASCADE ON UPDATE CASCADE",
            exp.Alter,
        ),
    ],
)
def test_ddl_statements_parse(sql, kind):
    (tree,) = dialect.parse(sql)
    assert isinstance(tree, kind)


def test_create_index_details_are_reachable():
    (tree,) = dialect.parse(
        'CREATE INDEX "idx" ON "memories" USING ivfflat ("embedding" vector_cosine_ops) WITH (lists = 50)'
    )
    assert tree.args["kind"] == "INDEX"
    params = tree.find(exp.IndexParameters)
    assert params.args["using"].name == "ivfflat"
    assert params.find(exp.Property).this.name == "lists"


@pytest.mark.parametrize(
    ("sql", "names", "kind"),
    [
        ("DROP INDEX a, b", ["a", "b"], "INDEX"),
        ('DROP INDEX CONCURRENTLY IF EXISTS public."Idx", b CASCADE', ['public."Idx"', "b"], "INDEX"),
        ("DROP SCHEMA IF EXISTS a, b CASCADE", ["a", "b"], "SCHEMA"),
        ("DROP TABLE x, y", ["x", "y"], "TABLE"),
    ],
)
def test_multi_object_drop(sql, names, kind):
    (tree,) = dialect.parse(sql)
    assert isinstance(tree, exp.Drop)
    assert tree.args["kind"] == kind
    assert [t.sql(dialect=dialect.DIALECT) for t in tree.args["tables"]] == names
    assert dialect.to_sql(tree) == sql


def test_parse_safely_reports_position_and_never_raises():
    statements, problem = dialect.parse_safely("SELECT 1;\nSELECT (1 FROM t")
    assert statements == [] and problem is not None
    assert problem.line == 2 and problem.column > 0
    statements, problem = dialect.parse_safely("VACUUM memories; SELECT a <=> b FROM t")
    assert problem is None
    assert dialect.is_opaque(statements[0]) and not dialect.is_opaque(statements[1])
    for garbage in ["SELECT 'open", "$$", "(((", "\x00"]:
        dialect.parse_safely(garbage)


def test_syntax_error_raises_parse_error():
    with pytest.raises(ParseError):
        dialect.parse("SELECT (1 FROM t")
    with pytest.raises(ParseError):
        dialect.parse_one("SELECT 1; SELECT 2")


def test_every_case_table_migration_parses_safely():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "cases" / "protected_index_cases.py"
    spec = importlib.util.spec_from_file_location("protected_index_cases", path)
    assert spec is not None and spec.loader is not None
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    problems = {}
    for case in cases.CASES:
        statements, problem = dialect.parse_safely(case.sql)
        assert statements or problem
        if problem:
            problems[case.id] = problem
    # sqlglot only fails where the SQL itself is broken
    assert set(problems) <= {"unparseable-statement", "unterminated-string"}
