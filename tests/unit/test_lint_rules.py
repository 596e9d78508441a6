"""Lint rule details: positions, hints, identifier rules, suppression, unparseable SQL."""

from __future__ import annotations

import pytest

from pytest_tzurot.config import ProtectedIndex
from pytest_tzurot.sql.lint import lint_text
from pytest_tzurot.sql.lint.ddl import create_index_sql, quote

INDEX = ProtectedIndex(
    name="idx_memories_embedding",
    table="memories",
    column="embedding",
    method="ivfflat",
    opclass="vector_cosine_ops",
    with_options={"lists": 50},
)
RESTORE = (
    "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON public.memories USING ivfflat "
    "(embedding vector_cosine_ops) WITH (lists = 50);"
)


def rules(sql: str, *indexes: ProtectedIndex) -> list[tuple[str, int, int]]:
    return [(f.rule, f.line, f.column) for f in lint_text(sql, "m.sql", indexes or (INDEX,))]


def test_tz001_points_at_the_name_in_a_multi_object_drop_and_hints_the_exact_create_index():
    sql = "-- drop two\nDROP INDEX IF EXISTS\n    idx_a,\n    idx_memories_embedding;\n"
    (finding,) = lint_text(sql, "m.sql", (INDEX,))
    assert (finding.rule, finding.line, finding.column) == ("TZ001", 4, 5)
    assert finding.severity.value == "error"
    assert finding.hint.endswith(RESTORE)
    assert create_index_sql(INDEX) == RESTORE


def test_hint_quotes_identifiers_that_need_it():
    index = ProtectedIndex("Idx Emb", "Memories", "select", "hnsw", "vector_l2_ops", {}, schema="app")
    assert create_index_sql(index) == (
        'CREATE INDEX IF NOT EXISTS "Idx Emb" ON app."Memories" USING hnsw ("select" vector_l2_ops);'
    )
    assert quote("plain_name") == "plain_name"
    assert quote('we"ird') == '"we""ird"'


def test_quoted_mixed_case_names_must_match_exactly():
    index = ProtectedIndex("IdxEmb", "Memories", "Embedding", "ivfflat", "vector_cosine_ops", {"lists": 50})
    assert rules("DROP INDEX IF EXISTS IdxEmb;", index) == []  # folds to idxemb: another index
    assert rules('DROP INDEX IF EXISTS "IdxEmb";', index) == [("TZ001", 1, 22)]
    assert rules('ALTER TABLE "Memories" DROP COLUMN IF EXISTS "Embedding";', index) == [("TZ002", 1, 46)]
    assert rules("ALTER TABLE Memories DROP COLUMN IF EXISTS Embedding;", index) == []


def test_schema_qualification_and_search_path():
    index = ProtectedIndex("idx", "t", "c", "hnsw", "vector_l2_ops", {}, schema="app")
    assert rules("DROP INDEX IF EXISTS idx;", index) == []  # public.idx
    assert rules("DROP INDEX IF EXISTS app.idx;", index) == [("TZ001", 1, 26)]
    assert rules("SET search_path TO app, public;\nDROP INDEX IF EXISTS idx;", index) == [("TZ001", 2, 22)]
    assert rules("SET search_path = DEFAULT;\nDROP TABLE IF EXISTS t;", index) == []


def test_recreated_with_the_manifest_definition_in_the_same_migration_is_fine():
    assert rules(f"DROP INDEX IF EXISTS idx_memories_embedding;\n{RESTORE}") == []
    # ...but recreated in a later statement than a second drop is not
    drop = "DROP INDEX IF EXISTS idx_memories_embedding;"
    sql = f"{drop}\n{RESTORE}\n{drop}"
    assert rules(sql) == [("TZ001", 3, 22)]


def test_a_table_rebuild_with_the_index_on_the_new_table_renamed_into_place_is_fine():
    sql = (
        "CREATE TABLE IF NOT EXISTS memories_new (id uuid, embedding vector(384));\n"
        "INSERT INTO memories_new SELECT id, embedding FROM memories;\n"
        "DROP TABLE IF EXISTS memories;\n"
        "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories_new USING ivfflat "
        "(embedding vector_cosine_ops) WITH (lists = 50);\n"
        "ALTER TABLE memories_new RENAME TO memories;\n"
    )
    assert rules(sql) == []
    assert [r for r, _, _ in rules(sql.replace("ALTER TABLE memories_new RENAME TO memories;", ""))] == [
        "TZ004"
    ]
    assert [r for r, _, _ in rules(sql.replace("CREATE INDEX", "-- CREATE INDEX"))] == ["TZ002"]


def test_tz004_lists_every_difference():
    sql = (
        "DROP INDEX IF EXISTS idx_memories_embedding;\n"
        "CREATE UNIQUE INDEX IF NOT EXISTS idx_memories_embedding ON memories USING hnsw (embedding) "
        "WHERE embedding IS NOT NULL;"
    )
    (finding,) = lint_text(sql, "m.sql", (INDEX,))
    assert finding.rule == "TZ004"
    for part in ("method hnsw", "opclass vector_l2_ops", "UNIQUE", "WHERE"):
        assert part in finding.message
    assert finding.hint == RESTORE


def test_a_parenthesised_column_is_the_column_but_an_expression_differs():
    recreate = (
        "DROP INDEX IF EXISTS idx_memories_embedding;\nCREATE INDEX IF NOT EXISTS idx_memories_embedding ON "
    )
    tail = " vector_cosine_ops) WITH (lists = 50);"
    assert rules(recreate + "memories USING ivfflat ((embedding)" + tail) == []
    cast = rules(recreate + "memories USING ivfflat ((embedding::vector(384))" + tail)
    assert [r for r, _, _ in cast] == ["TZ004"]


def test_hnsw_defaults_are_compared():
    index = ProtectedIndex("h", "t", "c", "hnsw", "vector_cosine_ops", {"m": 16})
    recreate = (
        "DROP INDEX IF EXISTS h;\nCREATE INDEX IF NOT EXISTS h ON t USING hnsw (c vector_cosine_ops){};"
    )
    assert rules(recreate.format(""), index) == []  # m 16, ef_construction 64 are the defaults
    assert rules(recreate.format(" WITH (ef_construction = 64)"), index) == []
    assert [r for r, _, _ in rules(recreate.format(" WITH (m = 32)"), index)] == ["TZ004"]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP SCHEMA IF EXISTS public CASCADE;", "TZ002"),
        ("ALTER TABLE memories SET SCHEMA archive;", "TZ002"),
        ("ALTER SCHEMA public RENAME TO old;", "TZ002"),
        ("DROP TABLE IF EXISTS other, public.memories;", "TZ002"),
        ("ALTER TABLE IF EXISTS ONLY memories RENAME embedding TO e;", "TZ002"),
        ("ALTER INDEX idx_memories_embedding SET SCHEMA archive;", "TZ003"),
        ("ALTER INDEX IF EXISTS idx_memories_embedding RESET (lists);", "TZ004"),
        (
            "ALTER TABLE memories ADD COLUMN IF NOT EXISTS x int,"
            " ALTER COLUMN embedding SET DATA TYPE vector(3);",
            "TZ005",
        ),
        ("DO LANGUAGE plpgsql $body$ BEGIN PERFORM 1 FROM memories; END $body$;", "TZ005"),
        ("PREPARE p AS DELETE FROM memories;", "TZ005"),
    ],
)
def test_indirect_losses_and_opaque_statements(sql, expected):
    assert [r for r, _, _ in rules(sql)] == [expected]


def test_drop_schema_without_cascade_and_other_tables_are_not_losses():
    assert rules("DROP SCHEMA IF EXISTS public;") == []
    assert rules("DROP EXTENSION IF EXISTS vector;") == []
    assert rules("ALTER TABLE memories ALTER COLUMN content TYPE varchar(10);") == []


def test_rollback_undoes_a_drop_in_the_files_own_transaction_block():
    assert rules("BEGIN;\nDROP INDEX IF EXISTS idx_memories_embedding;\nROLLBACK;") == []


def test_tz010_non_idempotent_ddl():
    sql = (
        "CREATE TABLE t (a int);\n"
        "CREATE INDEX ON t (a);\n"
        "DROP VIEW v;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
        "DROP FUNCTION IF EXISTS g(int);\n"
        "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
        "ALTER TABLE t ADD COLUMN b int, DROP CONSTRAINT t_pkey;\n"
        "CREATE SCHEMA IF NOT EXISTS s;\n"
    )
    assert rules(sql) == [
        ("TZ010", 1, 1),
        ("TZ010", 2, 1),
        ("TZ010", 3, 1),
        ("TZ010", 4, 1),
        ("TZ010", 7, 15),
        ("TZ010", 7, 33),
    ]
    assert all(f.severity.value == "warning" for f in lint_text(sql))


def test_tz011_tz012_and_the_no_transaction_directive():
    concurrently = "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);"
    assert rules(concurrently) == []
    assert rules(f"START TRANSACTION;\n{concurrently}\nCOMMIT;") == [("TZ011", 2, 1)]
    assert rules(f"SET lock_timeout = '5s';\n{concurrently}") == [("TZ012", 2, 1)]
    assert rules(f"-- tzurot: no-transaction\nSET lock_timeout = '5s';\n{concurrently}") == []
    assert rules("-- tzurot: no-transaction\nBEGIN;\nDROP INDEX CONCURRENTLY IF EXISTS i;\nEND;") == [
        ("TZ011", 3, 1)
    ]
    assert rules("SELECT 1;\nREINDEX INDEX CONCURRENTLY i;") == [("TZ012", 2, 1)]
    (finding,) = lint_text(f"BEGIN;\n{concurrently}\nCOMMIT;")
    assert finding.is_error and "BEGIN at line 1" in finding.message


def test_suppression_needs_a_reason_and_covers_the_next_statement_only():
    drop = "DROP INDEX IF EXISTS idx_memories_embedding;"
    assert rules(f"-- tzurot: ignore TZ001 rebuilt by 20250301_rebuild\n{drop}") == []
    assert rules("-- tzurot: ignore TZ001,TZ010 rebuilt later\nDROP INDEX idx_memories_embedding;") == []
    assert rules(f"-- tzurot: ignore TZ001\n{drop}") == [("TZ008", 1, 1), ("TZ001", 2, 22)]
    assert rules(f"-- tzurot: ignore TZ999 why\n{drop}") == [("TZ008", 1, 1), ("TZ001", 2, 22)]
    assert rules(f"-- tzurot: ignore\n{drop}") == [("TZ008", 1, 1), ("TZ001", 2, 22)]
    # not on the line right before: no effect, and reported as unused
    assert rules(f"-- tzurot: ignore TZ001 too far away\n\n{drop}") == [("TZ009", 1, 1), ("TZ001", 3, 22)]
    # inside a multi-line statement, before the finding's line
    assert rules("DROP INDEX IF EXISTS a,\n-- tzurot: ignore TZ001 ok\nidx_memories_embedding;") == []
    # a suppression inside a string is no comment
    assert rules(f"SELECT '-- tzurot: ignore TZ001 nope';\n{drop}") == [("TZ001", 2, 22)]


@pytest.mark.parametrize(
    ("sql", "line", "column", "words"),
    [
        ("SELECT 1;\nSELECT 'never closed;", 2, 8, "unterminated string"),
        ("SELECT 1;\n/* open comment", 2, 1, "unterminated /* comment"),
        ("DO $$ BEGIN", 1, 4, "unterminated dollar-quoted"),
        ("SELECT 1;\nCREAT TABLE t (a int);", 2, 1, "'CREAT' does not start"),
        ("CREATE INDEX IF NOT EXISTS i ON t USING (a);", 1, 41, "expected an index method"),
        ("DROP INDEX;", 1, 11, "expected the name of the index"),
        ("SELECT (1;", 1, 8, "unbalanced parentheses"),
        ("SELECT 1);", 1, 9, "unbalanced parentheses"),
        ("CREATE TABLEAU t (a int);", 1, 8, "object type"),
    ],
)
def test_unparseable_sql_is_a_finding_with_its_position(sql, line, column, words):
    findings = lint_text(sql, "m.sql", (INDEX,))
    assert [(f.rule, f.line, f.column) for f in findings][:1] == [("TZ000", line, column)]
    assert words in findings[0].message


def test_garbage_never_crashes():
    for sql in [
        "",
        ";;;",
        "\x00\x01",
        "$1 $$",
        "))((",
        "ALTER",
        "ALTER TABLE",
        "CREATE",
        'DROP INDEX "',
        "é;",
    ]:
        lint_text(sql, "m.sql", (INDEX,))


def test_sql_standard_function_body_is_opaque():
    sql = (
        "CREATE OR REPLACE FUNCTION purge() RETURNS void LANGUAGE sql\n"
        "BEGIN ATOMIC\n  DELETE FROM memories;\nEND;"
    )
    assert [r for r, _, _ in rules(sql)] == ["TZ005"]


def test_random_token_soup_never_crashes():
    import random

    rng = random.Random(5)
    vocabulary = (
        "CREATE DROP ALTER INDEX TABLE SCHEMA EXTENSION IF NOT EXISTS ON ONLY USING WITH ( ) , ; . = "
        "RENAME TO COLUMN SET RESET CONCURRENTLY CASCADE BEGIN COMMIT ROLLBACK DO $$x$$ 'a' \"Q\" "
        "idx_memories_embedding memories embedding public vector ivfflat vector_cosine_ops lists 50 "
        "FUNCTION TRIGGER OR REPLACE ATOMIC END TYPE ADD WHERE INCLUDE search_path -- /* */"
    )
    words = vocabulary.split(" ")
    for _ in range(400):
        sql = " ".join(rng.choice(words) for _ in range(rng.randint(1, 25)))
        for finding in lint_text(sql, "m.sql", (INDEX,)):
            assert finding.line >= 1 and finding.column >= 1
