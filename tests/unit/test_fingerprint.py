"""The semantic fingerprint: equal for cosmetic edits, different for every edit that changes meaning."""

from __future__ import annotations

import pytest

from pytest_tzurot.sql.fingerprint import FingerprintError, canonical, fingerprint, statement_prints

INDEX = (
    '-- Prisma cannot model this index.\n'
    'CREATE INDEX IF NOT EXISTS "idx_memories_embedding"\n'
    '    ON "memories" USING ivfflat ("embedding" vector_cosine_ops) WITH (lists = 50);\n'
)
TABLE = (
    'CREATE TABLE "memories" (\n'
    '    "id" UUID NOT NULL DEFAULT gen_random_uuid(),\n'
    '    "content" TEXT NOT NULL DEFAULT \'none yet\',\n'
    '    "embedding" vector(384),\n'
    '    CONSTRAINT "memories_pkey" PRIMARY KEY ("id")\n'
    ');\n'
    'CREATE INDEX "memories_content_idx" ON "memories" ("content");\n'
)
FUNCTION = (
    "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  -- keep updated_at current\n"
    "  NEW.updated_at := now();\n"
    "  RAISE NOTICE 'touched  %', NEW.id;\n"
    "  RETURN NEW;\n"
    "END;\n"
    "$$;\n"
)
DO_BLOCK = (
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN CREATE ROLE app; "
    "END IF; END $$;\n"
)

COSMETIC = {
    "comment added": (INDEX, "-- reviewed 2025-03-01\n" + INDEX.replace("WITH", "/* tuned */ WITH")),
    "comment removed": (INDEX, INDEX.split("\n", 1)[1]),
    "whitespace and blank lines": (TABLE, "\n\n" + TABLE.replace("    ", "\t").replace(");\n", ");\n\n\n")),
    "CRLF line endings": (TABLE, TABLE.replace("\n", "\r\n")),
    "keyword case": (INDEX, INDEX.replace("CREATE INDEX IF NOT EXISTS", "create index if not exists")
                     .replace("USING", "using").replace("WITH", "with")),
    "unquoted identifier case": ("CREATE TABLE t (a int);", 'CREATE TABLE T (A INT);'),
    "spacing inside a keyword pair sqlglot reads as one token": (
        "CREATE TABLE t (a int PRIMARY KEY); SELECT a FROM t GROUP BY a ORDER BY a;",
        "CREATE TABLE t (a int PRIMARY\n    KEY); SELECT a FROM t GROUP  BY a ORDER /* by a */ BY a;"),
    "needless quotes": ("CREATE TABLE memories (id int);", 'CREATE TABLE "memories" ("id" int);'),
    "trailing semicolon": (INDEX.rstrip().rstrip(";"), INDEX),
    "terminator on its own line": (TABLE, TABLE.replace(");\nCREATE", ")\n;\nCREATE")),
    "prettier-style reformatting": (
        INDEX,
        'CREATE INDEX IF NOT EXISTS "idx_memories_embedding" ON "memories" USING ivfflat (\n'
        '  "embedding" vector_cosine_ops\n)\nWITH\n  (lists = 50);\n',
    ),
    "prettier-style table": (
        TABLE,
        'create table "memories" (\n  "id" uuid not null default gen_random_uuid (),\n'
        "  \"content\" text not null default 'none yet',\n  \"embedding\" VECTOR (384),\n"
        '  constraint "memories_pkey" primary key ("id")\n);\n\n'
        'create index "memories_content_idx" on "memories" ("content");',
    ),
    "function body layout and comments": (
        FUNCTION,
        FUNCTION.replace("  -- keep updated_at current\n", "").replace("  NEW", "\tnew")
        .replace("RETURN NEW", "return new"),
    ),
    "DO block layout": (
        DO_BLOCK, DO_BLOCK.replace(" THEN ", "\n  THEN\n    ").replace("BEGIN", "begin -- x\n")
    ),
    "byte order mark": (INDEX, "\ufeff" + INDEX),
    "comment-only trailer": (INDEX, INDEX + "\n-- end of migration\n"),
}

SEMANTIC = {
    "lists 50 -> 100": (INDEX, INDEX.replace("lists = 50", "lists = 100")),
    "column type": (TABLE, TABLE.replace("vector(384)", "vector(768)")),
    "column type name": (TABLE, TABLE.replace('"content" TEXT', '"content" VARCHAR')),
    "quoted identifier case": (INDEX, INDEX.replace('"memories"', '"Memories"')),
    "quoted vs unquoted mixed case": ('CREATE TABLE "Memories" (id int);', "CREATE TABLE Memories (id int);"),
    "added statement": (INDEX, INDEX + "ANALYZE memories;\n"),
    "removed statement": (TABLE, TABLE.split(");\n", 1)[0] + ");\n"),
    "reordered statements": ("CREATE TABLE a (id int);\nCREATE TABLE b (id int);",
                             "CREATE TABLE b (id int);\nCREATE TABLE a (id int);"),
    "string literal": (TABLE, TABLE.replace("'none yet'", "'nothing yet'")),
    "whitespace inside a string literal": (TABLE, TABLE.replace("'none yet'", "'none  yet'")),
    "escape string prefix": ("SELECT 'a\\n';", "SELECT E'a\\n';"),
    "function body": (FUNCTION, FUNCTION.replace("now()", "clock_timestamp()")),
    "string inside a function body": (FUNCTION, FUNCTION.replace("'touched  %'", "'touched %'")),
    "DO block body": (DO_BLOCK, DO_BLOCK.replace("'app'", "'api'")),
    "opclass": (INDEX, INDEX.replace("vector_cosine_ops", "vector_l2_ops")),
    "index method": (INDEX, INDEX.replace("ivfflat", "hnsw")),
    "IF NOT EXISTS removed": (INDEX, INDEX.replace(" IF NOT EXISTS", "")),
    "operator split by spaces": ("SELECT a <-> b;", "SELECT a < - > b;"),
    "distance operator": ("SELECT a <-> b;", "SELECT a <=> b;"),
    "number": ("ALTER TABLE t ALTER a SET DEFAULT 1;", "ALTER TABLE t ALTER a SET DEFAULT 1.0;"),
    "plpython body whitespace": (
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$\nif True:\n    return 1\n$$;",
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$\nif True:\n  return 1\n$$;",
    ),
    "dollar-quoted string, not code": ("COMMENT ON TABLE t IS $$a  b$$", "COMMENT ON TABLE t IS $$a b$$"),
    "quoted reserved word": ('CREATE TABLE t ("user" int);', "CREATE TABLE t (usr int);"),
    "non-ASCII unquoted identifier case": ("CREATE TABLE Ärger (a int);", "CREATE TABLE ärger (a int);"),
}


@pytest.mark.parametrize("before, after", COSMETIC.values(), ids=COSMETIC.keys())
def test_cosmetic_edits_keep_the_fingerprint(before: str, after: str) -> None:
    assert before != after
    assert fingerprint(before) == fingerprint(after)


@pytest.mark.parametrize("before, after", SEMANTIC.values(), ids=SEMANTIC.keys())
def test_semantic_edits_change_the_fingerprint(before: str, after: str) -> None:
    assert fingerprint(before) != fingerprint(after)


def test_postgres_identifier_rules() -> None:
    assert canonical("SELECT Memories") == canonical('SELECT "memories"') == canonical("SELECT memories")
    assert canonical('SELECT "Memories"') != canonical("SELECT memories")
    assert canonical('SELECT "select"') != canonical("SELECT select")


def test_statement_prints_locate_each_statement() -> None:
    prints = statement_prints("-- header\nCREATE TABLE a (id int);\n\n-- about b\nCREATE TABLE b (id int);\n")
    assert [(p.index, p.line, p.text) for p in prints] == [
        (1, 2, "CREATE TABLE a (id int)"),
        (2, 5, "CREATE TABLE b (id int)"),
    ]
    assert prints[0].digest != prints[1].digest


def test_unterminated_text_is_an_error_not_a_guess() -> None:
    with pytest.raises(FingerprintError, match="unterminated string literal"):
        fingerprint("SELECT 'oops;")


def test_fingerprint_is_the_algorithm_and_a_hex_digest() -> None:
    from pytest_tzurot.sql.fingerprint import ALGORITHM, is_current

    value = fingerprint(INDEX)
    algorithm, _, digest = value.partition(":")
    assert algorithm == ALGORITHM and len(digest) == 64 and int(digest, 16) >= 0
    assert is_current(value)
    assert not is_current(digest)  # a bare hex value is tzurot-fp-1's: never compared
