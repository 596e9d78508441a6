"""The protected-index case table, shared by the static lint and the live guard.

Each case is a migration applied AFTER the example schema in `migrations/`,
where ci.yml protects `idx_memories_embedding` on `memories(embedding)`
(ivfflat, vector_cosine_ops, lists = 50). For each case:

- `rules`: the rule codes `tzurot lint --config ci.yml` reports for it (errors and warnings);
- `live`: what happens when tzurot's runner applies it on PostgreSQL 18 + pgvector 0.8.6:
  "pass" = the index is intact as declared, "fail" = it is lost or changed,
  "error" = the migration itself fails to apply.

The two layers disagree on purpose in a few cases (a suppressed drop still
loses the index; a no-op `CREATE INDEX IF NOT EXISTS` with another definition
passes live but is a wrong declaration): the `note` says why.
This file is loaded by path (no package import), so keep it self-contained.
"""

# No `from __future__ import annotations`: loaded by path without sys.modules, dataclasses
# must not resolve string annotations.
from dataclasses import dataclass


@dataclass(frozen=True)
class ProtectedIndexCase:
    id: str
    sql: str
    rules: frozenset[str]
    live: str  # "pass" | "fail" | "error"
    note: str = ""


def _case(id: str, sql: str, rules: set[str], live: str, note: str = "") -> ProtectedIndexCase:
    return ProtectedIndexCase(id, sql.strip() + "\n", frozenset(rules), live, note)


RESTORE = (
    'CREATE INDEX IF NOT EXISTS "idx_memories_embedding" ON "memories" USING ivfflat ("embedding" '
    "vector_cosine_ops) WITH (lists = 50);"
)

CASES: tuple[ProtectedIndexCase, ...] = (
    # --- TZ001: dropped and not recreated -------------------------------------------------------
    _case(
        "prisma-drift-drop",
        '-- DropIndex\nDROP INDEX "idx_memories_embedding";',
        {"TZ001", "TZ010"},
        "fail",
        "what `prisma migrate dev` generates for an index it cannot model",
    ),
    _case("drop-if-exists", "DROP INDEX IF EXISTS idx_memories_embedding;", {"TZ001"}, "fail"),
    _case(
        "drop-unquoted-upper-case-folds",
        "DROP INDEX IF EXISTS IDX_Memories_Embedding;",
        {"TZ001"},
        "fail",
        "unquoted names fold to lower case",
    ),
    _case(
        "drop-quoted-upper-case-is-another-index",
        'DROP INDEX IF EXISTS "IDX_MEMORIES_EMBEDDING";',
        set(),
        "pass",
        "quoted names are exact: no such index, IF EXISTS makes it a no-op",
    ),
    _case(
        "drop-schema-qualified", 'DROP INDEX IF EXISTS "public"."idx_memories_embedding";', {"TZ001"}, "fail"
    ),
    _case(
        "drop-in-another-schema",
        "CREATE SCHEMA IF NOT EXISTS archive;\nDROP INDEX IF EXISTS archive.idx_memories_embedding;",
        set(),
        "pass",
    ),
    _case(
        "drop-multi-object",
        'DROP INDEX IF EXISTS "idx_memories_personality_created", "idx_memories_embedding";',
        {"TZ001"},
        "fail",
    ),
    _case(
        "prisma-drift-drop-with-other-changes",
        '-- DropIndex\nDROP INDEX "idx_memories_embedding";\n\n-- AlterTable\n'
        'ALTER TABLE "memories" ADD COLUMN "summary" TEXT;',
        {"TZ001", "TZ010"},
        "fail",
    ),
    _case(
        "search-path-elsewhere",
        "CREATE SCHEMA IF NOT EXISTS archive;\nSET search_path TO archive;\n"
        "DROP INDEX IF EXISTS idx_memories_embedding;\nSET search_path TO public;",
        set(),
        "pass",
        "unqualified names resolve through search_path",
    ),
    # --- legitimate drop and recreate -----------------------------------------------------------
    _case(
        "drop-and-recreate-as-declared",
        f"DROP INDEX IF EXISTS idx_memories_embedding;\n{RESTORE}",
        set(),
        "pass",
    ),
    _case(
        "drop-and-recreate-unquoted-spelling",
        "DROP INDEX IF EXISTS public.idx_memories_embedding;\n"
        "CREATE INDEX IF NOT EXISTS IDX_MEMORIES_EMBEDDING "
        "ON Public.Memories USING IVFFLAT (Embedding Vector_Cosine_Ops) WITH (LISTS = 50);",
        set(),
        "pass",
    ),
    _case(
        "rebuild-concurrently-with-directive",
        "-- tzurot: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS idx_memories_embedding;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_memories_embedding ON memories USING ivfflat "
        "(embedding vector_cosine_ops) WITH (lists = 50);",
        set(),
        "pass",
    ),
    _case(
        "column-rebuilt-then-index-recreated",
        "ALTER TABLE memories DROP COLUMN IF EXISTS embedding;\n"
        "ALTER TABLE memories ADD COLUMN IF NOT EXISTS embedding vector(384);\n" + RESTORE,
        set(),
        "pass",
    ),
    _case(
        "transaction-wrapped-recreate",
        f"BEGIN;\nDROP INDEX IF EXISTS idx_memories_embedding;\n{RESTORE}\nCOMMIT;",
        set(),
        "pass",
        "the runner drops a file's own BEGIN/COMMIT and runs it in its transaction",
    ),
    _case(
        "transaction-wrapped-drop",
        "BEGIN;\nDROP INDEX IF EXISTS idx_memories_embedding;\nCOMMIT;",
        {"TZ001"},
        "fail",
    ),
    # --- TZ004: recreated or altered with another definition ------------------------------------
    _case(
        "recreate-with-l2-opclass",
        "DROP INDEX IF EXISTS idx_memories_embedding;\n"
        "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories USING ivfflat "
        "(embedding vector_l2_ops) "
        "WITH (lists = 50);",
        {"TZ004"},
        "fail",
    ),
    _case(
        "recreate-with-default-lists",
        "DROP INDEX IF EXISTS idx_memories_embedding;\n"
        "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories USING ivfflat "
        "(embedding vector_cosine_ops);",
        {"TZ004"},
        "fail",
        "no WITH means lists = 100",
    ),
    _case(
        "recreate-as-hnsw",
        "DROP INDEX IF EXISTS idx_memories_embedding;\n"
        "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories USING hnsw "
        "(embedding vector_cosine_ops);",
        {"TZ004"},
        "fail",
    ),
    _case(
        "alter-index-set-lists", "ALTER INDEX idx_memories_embedding SET (lists = 100);", {"TZ004"}, "fail"
    ),
    _case(
        "if-not-exists-with-other-definition-is-a-no-op",
        "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories USING hnsw (embedding vector_l2_ops);",
        {"TZ004"},
        "pass",
        "a no-op where the index exists, but it declares another index (a fresh "
        "database built from this migration alone would get it)",
    ),
    # --- TZ002: lost indirectly -----------------------------------------------------------------
    _case(
        "prisma-drop-column",
        '-- AlterTable\nALTER TABLE "memories" DROP COLUMN "embedding";',
        {"TZ002", "TZ010"},
        "fail",
    ),
    _case(
        "drop-column-upper-case-unquoted",
        "ALTER TABLE MEMORIES DROP COLUMN IF EXISTS EMBEDDING;",
        {"TZ002"},
        "fail",
    ),
    _case(
        "rename-column",
        'ALTER TABLE "memories" RENAME COLUMN "embedding" TO "embedding_v1";',
        {"TZ002"},
        "fail",
    ),
    _case("rename-table", "ALTER TABLE memories RENAME TO memories_v1;", {"TZ002"}, "fail"),
    _case(
        "rename-table-and-back",
        "ALTER TABLE memories RENAME TO memories_tmp;\nALTER TABLE memories_tmp RENAME TO memories;",
        set(),
        "pass",
    ),
    _case("drop-table", 'DROP TABLE "memories";', {"TZ002", "TZ010"}, "fail"),
    _case("drop-extension-cascade", "DROP EXTENSION IF EXISTS vector CASCADE;", {"TZ002"}, "fail"),
    _case(
        "drop-extension-without-cascade",
        "DROP EXTENSION IF EXISTS vector;",
        set(),
        "error",
        "PostgreSQL refuses: the embedding column depends on it",
    ),
    _case(
        "drop-other-table-cascade",
        'DROP TABLE IF EXISTS "personalities" CASCADE;',
        set(),
        "pass",
        "CASCADE only drops the foreign key on memories",
    ),
    _case("quoted-mixed-case-table-is-another-table", 'DROP TABLE IF EXISTS "Memories";', set(), "pass"),
    _case("drop-other-column", 'ALTER TABLE "memories" DROP COLUMN IF EXISTS "persona_id";', set(), "pass"),
    _case(
        "table-rebuilt-and-renamed-into-place",
        "CREATE TABLE IF NOT EXISTS memories_new (LIKE memories INCLUDING DEFAULTS);\n"
        "INSERT INTO memories_new SELECT * FROM memories;\n"
        "DROP TABLE IF EXISTS memories;\n"
        "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories_new USING ivfflat "
        "(embedding vector_cosine_ops) WITH (lists = 50);\n"
        "ALTER TABLE memories_new RENAME TO memories;",
        set(),
        "pass",
        "a table rebuild: the index is built on the new table, which is renamed into place",
    ),
    # --- TZ003: renamed -------------------------------------------------------------------------
    _case(
        "rename-index",
        'ALTER INDEX "idx_memories_embedding" RENAME TO "idx_memories_embedding_old";',
        {"TZ003"},
        "fail",
    ),
    _case(
        "rename-index-and-back",
        "ALTER INDEX idx_memories_embedding RENAME TO idx_tmp;\n"
        "ALTER INDEX idx_tmp RENAME TO idx_memories_embedding;",
        set(),
        "pass",
    ),
    # --- TZ005: opaque statements and retypes ---------------------------------------------------
    _case(
        "do-block-dynamic-drop",
        "DO $$\nBEGIN\n  EXECUTE 'DROP INDEX IF EXISTS ' || quote_ident('idx_memories_embedding');\nEND\n$$;",
        {"TZ005"},
        "fail",
    ),
    _case(
        "do-block-harmless-mention",
        "DO $$ BEGIN RAISE NOTICE 'memories are fine'; END $$;",
        {"TZ005"},
        "pass",
    ),
    _case(
        "function-body-mentions-index",
        "CREATE OR REPLACE FUNCTION reset_memories() RETURNS void LANGUAGE sql AS $fn$\n"
        "  DROP INDEX IF EXISTS idx_memories_embedding;\n$fn$;",
        {"TZ005"},
        "pass",
        "the body only runs when the function is called",
    ),
    _case(
        "retype-column",
        "ALTER TABLE memories ALTER COLUMN embedding TYPE vector(768);",
        {"TZ005"},
        "pass",
        "PostgreSQL rebuilds the index with the same definition",
    ),
    # --- text that must not match ---------------------------------------------------------------
    _case(
        "comments-only",
        '-- DROP INDEX idx_memories_embedding;\n/* DROP INDEX "idx_memories_embedding";\n'
        "   /* nested */ ALTER TABLE memories DROP COLUMN embedding; */\nSELECT 1;",
        set(),
        "pass",
    ),
    _case(
        "string-literal",
        "INSERT INTO personalities (name) VALUES "
        "('DROP INDEX idx_memories_embedding; ALTER TABLE memories DROP COLUMN embedding');",
        set(),
        "pass",
    ),
    _case(
        "dollar-quoted-comment",
        "COMMENT ON TABLE memories IS $c$ DROP INDEX idx_memories_embedding; DROP TABLE memories; $c$;",
        set(),
        "pass",
    ),
    # --- TZ010: idempotency ---------------------------------------------------------------------
    _case(
        "prisma-add-column-and-index",
        '-- AlterTable\nALTER TABLE "memories" ADD COLUMN "importance" INTEGER NOT NULL DEFAULT 0;\n\n'
        '-- CreateIndex\nCREATE INDEX "memories_importance_idx" ON "memories"("importance");',
        {"TZ010"},
        "pass",
    ),
    _case(
        "create-existing-index-without-if-not-exists",
        "CREATE INDEX idx_memories_embedding ON memories USING ivfflat (embedding vector_cosine_ops) "
        "WITH (lists = 50);",
        {"TZ010"},
        "error",
        "relation already exists",
    ),
    _case(
        "function-and-trigger-without-or-replace",
        "CREATE FUNCTION touch_created() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN NEW.created_at := now(); "
        "RETURN NEW; END $$;\nCREATE TRIGGER touch BEFORE UPDATE ON personalities FOR EACH ROW "
        "EXECUTE FUNCTION touch_created();",
        {"TZ010"},
        "pass",
    ),
    _case(
        "trigger-after-drop-if-exists",
        "CREATE OR REPLACE FUNCTION touch_created() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.created_at := now(); RETURN NEW; END $$;\nDROP TRIGGER IF EXISTS touch ON personalities;\n"
        "CREATE TRIGGER touch BEFORE UPDATE ON personalities FOR EACH ROW EXECUTE FUNCTION touch_created();",
        set(),
        "pass",
    ),
    # --- TZ011 / TZ012: CONCURRENTLY and transactions -------------------------------------------
    _case(
        "concurrently-inside-begin-commit",
        "BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_memories_content ON memories (content);\n"
        "COMMIT;",
        {"TZ011"},
        "error",
        "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
    ),
    _case(
        "concurrently-alone",
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_memories_created" ON "memories" ("created_at");',
        set(),
        "pass",
    ),
    _case(
        "concurrently-with-others-no-directive",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_memories_created ON memories (created_at);\n"
        "ALTER TABLE memories ADD COLUMN IF NOT EXISTS summary TEXT;",
        {"TZ012"},
        "pass",
        "tzurot's runner applies it statement by statement; Prisma Migrate would fail",
    ),
    # --- suppression and unparseable SQL --------------------------------------------------------
    _case(
        "suppressed-drop",
        "-- tzurot: ignore TZ001 replaced by idx_memories_embedding_v2 in this release\n"
        "DROP INDEX IF EXISTS idx_memories_embedding;",
        set(),
        "fail",
        "a suppression silences the lint, not the live guard",
    ),
    _case(
        "suppression-without-reason",
        "-- tzurot: ignore TZ001\nDROP INDEX IF EXISTS idx_memories_embedding;",
        {"TZ001", "TZ008"},
        "fail",
    ),
    _case(
        "unparseable-statement", "CREATE INDX idx_memories_content ON memories (content);", {"TZ000"}, "error"
    ),
    _case(
        "unterminated-string", "INSERT INTO personalities (name) VALUES ('unterminated);", {"TZ000"}, "error"
    ),
)
