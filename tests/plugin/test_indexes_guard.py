"""The built-in index guard items as a user sees them: ids, passes, failure messages, warnings.

Each inner run uses the outer run's server through the external backend, so
no extra server is started; the inner run creates and drops its own databases.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """\
migrations:
  dir: migrations
  history_table: _prisma_migrations
  idempotent: {idempotent}
protected_indexes:
  - name: idx_memories_embedding
    table: memories
    column: embedding
    method: ivfflat
    opclass: vector_cosine_ops
    with: {{lists: 50}}
"""


def make_project(pytester: pytest.Pytester, extra: dict[str, str], *, idempotent: bool = False) -> None:
    """The repository's example schema plus `extra` migrations (folder name -> SQL)."""
    shutil.copytree(REPO / "migrations", pytester.path / "migrations")
    for name, sql in extra.items():
        folder = pytester.path / "migrations" / name
        folder.mkdir()
        (folder / "migration.sql").write_text(sql)
    (pytester.path / "ci.yml").write_text(MANIFEST.format(idempotent=str(idempotent).lower()))


def run_guards(pytester: pytest.Pytester, server_dsn: str, *args: str) -> pytest.RunResult:
    """Run this module's guard items only (other guard modules add their own items)."""
    return pytester.runpytest(
        "-p", "pytest_tzurot", "--tzurot-backend", "external", "--tzurot-dsn", server_dsn, "ci.yml",
        "-k", "protected_index or idempotent or vector_columns", "-p", "no:cacheprovider",
        "-W", "ignore::pytest.PytestAssertRewriteWarning", *args,
    )


def test_ids(pytester: pytest.Pytester, tzurot_server) -> None:  # type: ignore[no-untyped-def]
    make_project(pytester, {}, idempotent=True)
    result = run_guards(pytester, tzurot_server.dsn, "--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "ci.yml::protected_index[[]idx_memories_embedding[]]",
        "ci.yml::idempotent[[]20250101000000_init[]]",
        "ci.yml::idempotent[[]20250102000000_memories_vector_index[]]",
        "ci.yml::vector_columns",
    ])
    assert result.ret == 0


def test_no_idempotent_items_unless_the_manifest_asks(  # type: ignore[no-untyped-def]
    pytester: pytest.Pytester, tzurot_server
) -> None:
    make_project(pytester, {}, idempotent=False)
    result = run_guards(pytester, tzurot_server.dsn, "--collect-only", "-q")
    assert "idempotent[" not in result.stdout.str()
    result.stdout.fnmatch_lines([
        "ci.yml::protected_index[[]idx_memories_embedding[]]",
        "ci.yml::vector_columns",
    ])


def test_the_example_schema_passes(pytester: pytest.Pytester, tzurot_server) -> None:  # type: ignore[no-untyped-def]
    make_project(pytester, {}, idempotent=True)
    no_warning = "error::pytest_tzurot.guards.base.GuardWarning"
    result = run_guards(pytester, tzurot_server.dsn, "-v", "-W", no_warning)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "*protected_index[[]idx_memories_embedding[]] PASSED*",
        "*idempotent[[]20250101000000_init[]] PASSED*",
        "*vector_columns PASSED*",
        "indexes:",
        "  idx_memories_embedding: ok (ivfflat vector_cosine_ops, lists=50) on public.memories(embedding)",
    ])


def test_a_dropped_index_names_the_losing_migration_and_the_fix(  # type: ignore[no-untyped-def]
    pytester: pytest.Pytester, tzurot_server
) -> None:
    make_project(pytester, {
        # What `prisma migrate dev` generates for an index it cannot model.
        "20250103000000_prisma_drift": '-- DropIndex\nDROP INDEX "idx_memories_embedding";\n',
        "20250104000000_later": 'ALTER TABLE "memories" ADD COLUMN "title" TEXT;\n',
    })
    result = run_guards(pytester, tzurot_server.dsn)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*tzurot guard protected_index[[]idx_memories_embedding[]]*",
        "protected index idx_memories_embedding is missing after all migrations",
        "    property  *expected (manifest)  *actual (database)",
        "    index     *public.idx_memories_embedding  *(missing)  *<-- differs",
        "    opclass   *vector_cosine_ops  *-",
        "lost by migration 20250103000000_prisma_drift"
        " (migrations/20250103000000_prisma_drift/migration.sql):"
        " as declared after 20250102000000_memories_vector_index, missing after 20250103000000_prisma_drift",
        "fix: add a new migration*restores it:",
        "    CREATE INDEX IF NOT EXISTS idx_memories_embedding ON public.memories USING ivfflat"
        " (embedding vector_cosine_ops) WITH (lists = 50);",
        "  or, if 20250103000000_prisma_drift is not deployed anywhere yet, remove what drops or changes"
        " the index from it*",
        "*idx_memories_embedding: MISSING after all migrations",
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_changed_definition_shows_expected_vs_actual(  # type: ignore[no-untyped-def]
    pytester: pytest.Pytester, tzurot_server
) -> None:
    make_project(pytester, {
        "20250103000000_retune": (
            'DROP INDEX IF EXISTS "idx_memories_embedding";\n'
            'CREATE INDEX "idx_memories_embedding" ON "memories" USING ivfflat ("embedding" vector_l2_ops);\n'
        ),
    })
    result = run_guards(pytester, tzurot_server.dsn)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "protected index idx_memories_embedding differs from the manifest after all migrations",
        "    table  *public.memories  *public.memories",
        "    opclass  *vector_cosine_ops  *vector_l2_ops  *<-- differs",
        "    options  *lists=50  *lists=100  *<-- differs",
        "    state  *valid, ready, live  *valid, ready, live",
        "changed by migration 20250103000000_retune (*):"
        " as declared after 20250102000000_memories_vector_index,"
        " differs (opclass, options) after 20250103000000_retune",
        "    DROP INDEX IF EXISTS public.idx_memories_embedding;",
        "    CREATE INDEX IF NOT EXISTS idx_memories_embedding ON public.memories"
        " USING ivfflat (embedding vector_cosine_ops) WITH (lists = 50);",
    ])


def test_a_non_idempotent_migration_fails_with_line_message_and_hint(  # type: ignore[no-untyped-def]
    pytester: pytest.Pytester, tzurot_server
) -> None:
    make_project(pytester, {
        "20250103000000_recent_index": (
            "-- an index on creation time\n"
            'ALTER TABLE "memories" ADD COLUMN IF NOT EXISTS "score" REAL;\n'
            'CREATE INDEX "idx_memories_created"\n    ON "memories" ("created_at");\n'
        ),
    }, idempotent=True)
    result = run_guards(pytester, tzurot_server.dsn, "-v")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "*idempotent[[]20250103000000_recent_index[]] FAILED*",
        "migration 20250103000000_recent_index is not idempotent: applying it a second time on the migrated"
        " database fails at migrations/20250103000000_recent_index/migration.sql:3",
        '    CREATE INDEX "idx_memories_created"',
        '  PostgreSQL: relation "idx_memories_created" already exists (SQLSTATE 42P07)',
        "fix: write CREATE INDEX IF NOT EXISTS*",
    ])


def test_unindexed_vector_column_warns_and_unlisted_index_is_noted(  # type: ignore[no-untyped-def]
    pytester: pytest.Pytester, tzurot_server
) -> None:
    make_project(pytester, {
        "20250103000000_documents": (
            'CREATE TABLE "documents" ("id" BIGINT PRIMARY KEY, "body" halfvec(8), "title_vec" vector(8));\n'
            'CREATE INDEX "documents_title_vec" ON "documents" USING hnsw ("title_vec" vector_ip_ops);\n'
        ),
    })
    result = run_guards(pytester, tzurot_server.dsn, "-v")
    result.assert_outcomes(passed=2)  # a warning never fails the run
    result.stdout.fnmatch_lines([
        "*vector_columns PASSED*",
        "*GuardWarning: vector column public.documents.body (halfvec(8)) has no usable ivfflat/hnsw index*",
        "  vector column public.documents.body (halfvec(8)): no ANN index",
        "  note: vector index public.documents_title_vec is not in ci.yml protected_indexes"
        " (CREATE INDEX documents_title_vec ON public.documents USING hnsw (title_vec vector_ip_ops))",
    ])
    out = result.stdout.str()
    assert "public.documents.title_vec (vector(8)) has no" not in out
    assert "public.memories.embedding (vector(384)) has no" not in out


def test_a_migration_that_fails_to_apply_fails_the_items_with_the_runner_message(  # type: ignore[no-untyped-def]
    pytester: pytest.Pytester, tzurot_server
) -> None:
    make_project(pytester, {
        "20250103000000_duplicate": 'CREATE INDEX "idx_memories_embedding" ON "memories" ("created_at");\n',
    })
    result = run_guards(pytester, tzurot_server.dsn)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*building the template failed: migration 20250103000000_duplicate failed at *migration.sql:1:*"
        'relation "idx_memories_embedding" already exists*',
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_manifest_without_protected_indexes_gets_no_index_items(  # type: ignore[no-untyped-def]
    pytester: pytest.Pytester, tzurot_server
) -> None:
    make_project(pytester, {})
    (pytester.path / "ci.yml").write_text("migrations: {dir: migrations}\n")
    result = run_guards(pytester, tzurot_server.dsn, "--collect-only", "-q")
    assert "protected_index[" not in result.stdout.str()
    assert "vector_columns" not in result.stdout.str()
