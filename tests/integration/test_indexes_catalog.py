"""Catalog introspection, the manifest comparison, the losing-migration search and the
idempotency re-run, each on a real PostgreSQL with pgvector."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from pytest_tzurot import catalog
from pytest_tzurot.config import ProtectedIndex
from pytest_tzurot.guards.indexes import compare, find_loss, idempotency_hint, rerun
from pytest_tzurot.migrations.discovery import Migration

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROTECTED = ProtectedIndex(name="idx_memories_embedding", table="memories", column="embedding",
                           method="ivfflat", opclass="vector_cosine_ops", with_options={"lists": 50})


def snap(conn: psycopg.Connection, names: tuple[str, ...] = ("idx_memories_embedding",)) -> catalog.Snapshot:
    conn.commit()
    return catalog.read(conn, names)


def test_read_describes_vector_indexes_and_columns(tzurot_conn: psycopg.Connection) -> None:
    tzurot_conn.execute(
        "CREATE TABLE docs (id int, v vector(3), h halfvec(3), s sparsevec(5), flags bit(8));"
        "CREATE INDEX docs_expr ON docs USING hnsw ((v::halfvec(3)) halfvec_cosine_ops) WITH (m = 8);"
        "CREATE INDEX docs_partial ON docs USING hnsw (h halfvec_l2_ops) WHERE id > 0;"
        "CREATE INDEX docs_id ON docs (id)"
    )
    result = snap(tzurot_conn, ("docs_id",))
    by_name = {index.name: index for index in result.indexes}
    assert set(by_name) == {"idx_memories_embedding", "docs_expr", "docs_partial", "docs_id"}
    expr = by_name["docs_expr"]
    assert (expr.method, expr.columns[0].name) == ("hnsw", None)
    assert expr.columns[0].opclass == "halfvec_cosine_ops"
    assert expr.columns[0].definition == "(v::halfvec(3))"
    assert expr.covered_columns == {"v"}
    assert expr.effective_options() == {"m": "8", "ef_construction": "64"}
    assert by_name["docs_partial"].predicate == "id > 0"
    assert by_name["docs_partial"].covered_columns == {"h"}  # the predicate's column is not a key column
    assert not by_name["docs_id"].is_ann
    assert by_name["idx_memories_embedding"].options == {"lists": "50"}
    columns = {(c.table, c.column): c.type for c in result.vector_columns}
    assert columns == {("memories", "embedding"): "vector(384)", ("docs", "v"): "vector(3)",
                       ("docs", "h"): "halfvec(3)", ("docs", "s"): "sparsevec(5)"}
    assert [i.name for i in result.ann_indexes_on("public", "docs", "v")] == ["docs_expr"]
    assert result.ann_indexes_on("public", "docs", "s") == []
    assert result.pgvector_version


def test_the_example_schema_matches_the_manifest(tzurot_conn: psycopg.Connection) -> None:
    verdict = compare(PROTECTED, snap(tzurot_conn))
    assert verdict.status == "ok", verdict.rows
    # Omitted options are compared with pgvector's defaults, on both sides.
    defaults = ProtectedIndex(name="idx_memories_embedding", table="memories", column="embedding",
                              method="ivfflat", opclass="vector_cosine_ops")
    assert compare(defaults, snap(tzurot_conn)).differences() == ["options"]
    tzurot_conn.execute('DROP INDEX "idx_memories_embedding"')
    tzurot_conn.execute('CREATE INDEX "idx_memories_embedding" ON memories USING ivfflat '
                        "(embedding vector_cosine_ops)")
    assert compare(defaults, snap(tzurot_conn)).ok


@pytest.mark.parametrize(
    ("change", "status", "differences", "note"),
    [
        ('ALTER INDEX "idx_memories_embedding" RENAME TO "idx_mem_emb"', "missing", ["index"],
         'renamed? restore the name with ALTER INDEX "public"."idx_mem_emb" RENAME TO '
         '"idx_memories_embedding"'),
        ('ALTER TABLE memories DROP COLUMN embedding', "missing", ["index"],
         "column public.memories.embedding does not exist"),
        ("CREATE SCHEMA other; ALTER TABLE memories SET SCHEMA other", "missing", ["index"],
         "an index named idx_memories_embedding exists in schema other"),
        ("ALTER TABLE memories RENAME TO memories_v1", "differs", ["table"],
         'table renamed or moved? rename it back (ALTER TABLE "public"."memories_v1" RENAME TO '
         '"memories")'),
        ("ALTER TABLE memories RENAME COLUMN embedding TO emb", "differs", ["column"],
         'column renamed? rename it back (ALTER TABLE "public"."memories" RENAME COLUMN "emb" TO '
         '"embedding")'),
        ("DROP INDEX idx_memories_embedding; ALTER TABLE memories ALTER COLUMN embedding TYPE halfvec(384);"
         "CREATE INDEX idx_h ON memories USING hnsw (embedding halfvec_l2_ops)",
         "missing", ["index"], "column public.memories.embedding is now halfvec(384)"),
        ('DROP INDEX "idx_memories_embedding"; CREATE INDEX "idx_memories_embedding" ON memories '
         "USING hnsw (embedding vector_cosine_ops)", "differs", ["method", "options"], None),
        ('DROP INDEX "idx_memories_embedding"; CREATE INDEX "idx_memories_embedding" ON memories '
         "USING ivfflat (embedding vector_cosine_ops) WITH (lists = 50) WHERE content <> ''",
         "differs", ["predicate"], None),
        ('DROP INDEX "idx_memories_embedding"; CREATE INDEX "idx_memories_embedding" ON memories '
         "USING ivfflat ((embedding::halfvec(384)) halfvec_cosine_ops) WITH (lists = 50)",
         "differs", ["column", "opclass"], None),
        # What a failed CREATE INDEX CONCURRENTLY leaves behind (forced here through the catalog).
        ("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_memories_embedding'::regclass",
         "differs", ["state"], "an INVALID index"),
    ],
    ids=["renamed", "column-dropped", "other-schema", "table-renamed", "column-renamed", "retyped", "hnsw",
         "partial", "expression", "invalid"],
)
def test_compare_reports_what_differs(
    tzurot_conn: psycopg.Connection, change: str, status: str, differences: list[str], note: str | None
) -> None:
    tzurot_conn.execute(change)
    verdict = compare(PROTECTED, snap(tzurot_conn))
    assert verdict.status == status
    assert verdict.differences() == differences
    if note is not None:
        assert any(note in line for line in verdict.notes), verdict.notes


def _migrations(tmp_path: Path, extra: dict[str, str]) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(REPO / "migrations", directory)
    for name, sql in extra.items():
        (directory / name).mkdir()
        (directory / name / "migration.sql").write_text(sql)
    return directory


def test_find_loss_names_the_last_migration_that_lost_it(tzurot_empty_db: str, tmp_path: Path) -> None:
    recreate = ('CREATE INDEX IF NOT EXISTS "idx_memories_embedding" ON "memories" '
                'USING ivfflat ("embedding" vector_cosine_ops) WITH (lists = 50);')
    directory = _migrations(tmp_path, {
        "20250103000000_drop": 'DROP INDEX "idx_memories_embedding";',
        "20250104000000_restore": recreate,
        "20250105000000_drop_column": 'ALTER TABLE "memories" DROP COLUMN "embedding";',
        "20250106000000_other": 'CREATE TABLE "tags" ("id" INT);',
    })
    loss = find_loss(tzurot_empty_db, directory, "_prisma_migrations", PROTECTED)
    assert loss.error is None
    statuses = [step.verdict.status for step in loss.steps]
    assert statuses == ["missing", "ok", "missing", "ok", "missing", "missing"]
    assert loss.culprit is not None and loss.culprit.migration.name == "20250105000000_drop_column"
    assert loss.before is not None and loss.before.migration.name == "20250104000000_restore"
    assert loss.describe(tmp_path).startswith(
        "lost by migration 20250105000000_drop_column (migrations/20250105000000_drop_column/migration.sql)"
    )


def test_find_loss_when_it_was_never_as_declared(tzurot_empty_db: str, tmp_path: Path) -> None:
    directory = _migrations(tmp_path, {})
    wrong = ProtectedIndex(name="idx_memories_embedding", table="memories", column="embedding",
                           method="ivfflat", opclass="vector_l2_ops", with_options={"lists": 50})
    loss = find_loss(tzurot_empty_db, directory, "_prisma_migrations", wrong)
    assert loss.describe().startswith(
        "created with a different definition by migration 20250102000000_memories_vector_index"
    )
    never = ProtectedIndex(name="idx_absent", table="memories", column="embedding", method="hnsw",
                           opclass="vector_cosine_ops")
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    loss = find_loss(tzurot_empty_db, directory, "_prisma_migrations", never)
    assert loss.describe() == "no migration ever creates it"


def _migration(tmp_path: Path, sql: str) -> Migration:
    path = tmp_path / "20250109000000_again" / "migration.sql"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(sql.encode())
    return Migration(name="20250109000000_again", path=path, content=path.read_bytes())


def test_rerun_rolls_back_and_handles_concurrently_and_transaction_control(
    tzurot_db: str, tmp_path: Path
) -> None:
    migration = _migration(tmp_path, (
        "BEGIN;\n"
        'CREATE TABLE IF NOT EXISTS "tags" ("id" INT);\n'
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_memories_embedding" ON "memories" '
        'USING ivfflat ("embedding" vector_cosine_ops) WITH (lists = 50);\n'
        "VACUUM memories;\n"
        "COMMIT;\n"
    ))
    result = rerun(tzurot_db, migration)
    assert result.failed is None
    assert (result.executed, [s.line for s in result.skipped], [s.line for s in result.adjusted]) == (
        2, [1, 4, 5], [3])
    with psycopg.connect(tzurot_db) as conn:  # rolled back: nothing of the re-run stays
        assert conn.execute("SELECT to_regclass('tags')").fetchone() == (None,)


@pytest.mark.parametrize(
    ("sql", "line", "sqlstate", "hint"),
    [
        ('CREATE TABLE "memories" ("id" INT)', 1, "42P07", "CREATE TABLE IF NOT EXISTS"),
        ('SELECT 1;\nCREATE INDEX\n  "idx_memories_embedding"\n  ON "memories" ("created_at")', 2, "42P07",
         "CREATE INDEX IF NOT EXISTS"),
        # PostgreSQL's error position inside a multi-line statement maps to the file's line.
        ('SELECT 1;\nUPDATE "memories"\n  SET "content" = "no_such_column"', 3, "42703",
         "re-runnable"),
        ('ALTER TABLE "memories" ADD COLUMN "content" TEXT', 1, "42701", "ADD COLUMN IF NOT EXISTS"),
        ('DROP INDEX "no_such_index"', 1, "42704", "DROP ... IF EXISTS"),
        ("CREATE EXTENSION vector", 1, "42710", "CREATE EXTENSION IF NOT EXISTS"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
         "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", 2, "42723", "CREATE OR REPLACE"),
    ],
    ids=["table", "index-multiline", "position", "column", "drop", "extension", "function"],
)
def test_rerun_names_the_failing_statement_line_and_a_hint(
    tzurot_db: str, tmp_path: Path, sql: str, line: int, sqlstate: str, hint: str
) -> None:
    result = rerun(tzurot_db, _migration(tmp_path, sql))
    assert result.failed is not None
    assert (result.error_line, result.sqlstate) == (line, sqlstate)
    assert hint in idempotency_hint(result.failed.text, result.sqlstate)
