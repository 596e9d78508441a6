"""The psql-like statement splitter."""

from __future__ import annotations

import pytest

from pytest_tzurot.sql.split import UnterminatedError, split, strip_comments


def texts(sql: str) -> list[str]:
    return [s.text for s in split(sql)]


def test_plain_statements_with_positions():
    sql = "CREATE TABLE a (id int);\n\n  INSERT INTO a VALUES (1);SELECT 1"
    stmts = split(sql)
    assert [s.text for s in stmts] == ["CREATE TABLE a (id int)", "INSERT INTO a VALUES (1)", "SELECT 1"]
    assert [(s.line, s.column) for s in stmts] == [(1, 1), (3, 3), (3, 28)]
    assert sql[stmts[1].start:stmts[1].end] == "INSERT INTO a VALUES (1)"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
        ("SELECT 'it''s;'; SELECT 2", ["SELECT 'it''s;'", "SELECT 2"]),
        ("SELECT E'it\\'s; x'; SELECT 2", ["SELECT E'it\\'s; x'", "SELECT 2"]),
        ("SELECT e'\\\\'; SELECT 2", ["SELECT e'\\\\'", "SELECT 2"]),
        ("SELECT 'no\\'; SELECT 2", ["SELECT 'no\\'", "SELECT 2"]),  # standard strings: \ is a character
        ('CREATE TABLE "we;ird" ("a""b;" int); SELECT 2',
         ['CREATE TABLE "we;ird" ("a""b;" int)', "SELECT 2"]),
        ("SELECT 1 -- c; not a split\n; SELECT 2", ["SELECT 1 -- c; not a split", "SELECT 2"]),
        ("SELECT /* a; /* nested; */ b; */ 1; SELECT 2", ["SELECT /* a; /* nested; */ b; */ 1", "SELECT 2"]),
        ("DO $$ BEGIN PERFORM 1; END $$; SELECT 2", ["DO $$ BEGIN PERFORM 1; END $$", "SELECT 2"]),
        ("CREATE FUNCTION f() RETURNS int AS $fn$ SELECT $$;$$; $fn$ LANGUAGE sql; SELECT 2",
         ["CREATE FUNCTION f() RETURNS int AS $fn$ SELECT $$;$$; $fn$ LANGUAGE sql", "SELECT 2"]),
        ("SELECT a$b$c FROM t; SELECT 2", ["SELECT a$b$c FROM t", "SELECT 2"]),  # $ inside an identifier
        ("PREPARE p AS SELECT $1; SELECT 2", ["PREPARE p AS SELECT $1", "SELECT 2"]),
        ("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY t); SELECT 2",
         ["CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY t)", "SELECT 2"]),
        ("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
         "  SELECT CASE WHEN true THEN 2 END;\nEND;\nSELECT 2",
         ["CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
          "  SELECT CASE WHEN true THEN 2 END;\nEND", "SELECT 2"]),
        ("BEGIN; CREATE TABLE a (id int); COMMIT;", ["BEGIN", "CREATE TABLE a (id int)", "COMMIT"]),
        ("SELECT e <=> '[1,2;3]' FROM t LIMIT 5;", ["SELECT e <=> '[1,2;3]' FROM t LIMIT 5"]),
        ("SELECT 1e5, 2.5; SELECT 2", ["SELECT 1e5, 2.5", "SELECT 2"]),
        ("-- only a comment\n;; /* and */ ;", []),
        ("", []),
    ],
)
def test_split(sql: str, expected: list[str]):
    assert texts(sql) == expected


def test_statement_starts_at_its_first_token_not_its_comment():
    [first, second] = split("-- header\n/* block */\nCREATE TABLE a (id int);\n-- x\nSELECT 1;")
    assert (first.line, first.column, first.text) == (3, 1, "CREATE TABLE a (id int)")
    assert (second.line, second.text) == (5, "SELECT 1")


@pytest.mark.parametrize(
    ("sql", "what", "line", "column"),
    [
        ("SELECT 1;\nSELECT 'open", "string literal", 2, 8),
        ('SELECT "open', "quoted identifier", 1, 8),
        ("SELECT 1; /* open", "/* comment", 1, 11),
        ("SELECT 1;\n\nDO $body$ BEGIN", "dollar-quoted body $body$", 3, 4),
    ],
)
def test_unterminated(sql: str, what: str, line: int, column: int):
    with pytest.raises(UnterminatedError) as raised:
        split(sql)
    assert (raised.value.what, raised.value.line, raised.value.column) == (what, line, column)


def test_strip_comments_keeps_strings():
    assert strip_comments("SELECT '--x' -- gone\n, /* gone */ 1") == "SELECT '--x'  ,   1"


PLAIN_SCRIPTS = [
    "CREATE TABLE \"User\" (\"id\" SERIAL PRIMARY KEY, note text DEFAULT 'a;b');\n-- done; really\nSELECT 1;",
    "INSERT INTO t VALUES ('x', \"y\"); ; SELECT (1; 2); SELECT 3",
    "ALTER TABLE a ADD b int -- trailing comment; no statement\n",
    "  \n-- only a comment\n",
    "SELECT 1 - -2; SELECT 4 / 2;",
]
FULL_ONLY = [
    "SELECT $$a;b$$;",  # dollar body
    "SELECT 1 /* ; */;",  # block comment
    "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;",  # routine body
    "SELECT E'it\\'s;'; SELECT 2;",  # escape string
    "SELECT 'it''s; fine'; SELECT \"a\"\"b\";",  # doubled quotes
    "SELECT 'never closed;",  # unterminated
]


@pytest.mark.parametrize("text", PLAIN_SCRIPTS)
def test_plain_scripts_take_the_fast_path_with_the_full_scanners_result(text: str):
    from pytest_tzurot.sql.split import _split, _split_plain

    assert _split_plain(text) is not None
    assert _split_plain(text) == _split(text)


@pytest.mark.parametrize("text", FULL_ONLY)
def test_anything_else_is_left_to_the_full_scanner(text: str):
    from pytest_tzurot.sql.split import _split_plain

    assert _split_plain(text) is None
