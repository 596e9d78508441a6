"""The lint's lexer: tokens, and statement boundaries identical to pytest_tzurot.sql.split."""

from __future__ import annotations

import pytest

from pytest_tzurot.sql import split as splitter
from pytest_tzurot.sql.lint.lexer import Unterminated, lex, statements, without_comments

SCRIPTS = [
    "SELECT 1; SELECT 2",
    "-- c; still comment\nSELECT ';' AS a; /* x; /* nested; */ y; */ SELECT \"a;b\";",
    "SELECT E'it\\'s; fine'; SELECT 'it''s; fine';",
    "DO $$ BEGIN PERFORM 1; END $$; DO $tag$ x; $$ y; $tag$;",
    "CREATE RULE r AS ON INSERT TO t DO INSTEAD (INSERT INTO u VALUES (1); INSERT INTO v VALUES (2));\n"
    "SELECT 1;",
    "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true "
    "THEN 1 END; END;\nSELECT 2;",
    "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END; CALL p();",
    "SELECT $1, a$b$c FROM t;;;  ;\n-- only a comment\n",
    "",
    "   \n  ",
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_statement_boundaries_agree_with_the_runners_splitter(script):
    tokens, _ = lex(script)
    mine = [(chunk.start, chunk.end) for chunk in statements(tokens, len(script))]
    theirs = [(s.start, s.end) for s in splitter.split(script)]
    assert mine == theirs


@pytest.mark.parametrize(
    "script",
    ["SELECT 'x", 'SELECT "x', "DO $$ x", "DO $a$ x $b$", "SELECT 1; /* x", "SELECT E'\\'"],
)
def test_unterminated_positions_agree(script):
    with pytest.raises(splitter.UnterminatedError) as theirs:
        splitter.split(script)
    with pytest.raises(Unterminated) as mine:
        lex(script)
    assert (mine.value.line, mine.value.column) == (theirs.value.line, theirs.value.column)
    assert str(mine.value) == str(theirs.value)


def test_tokens_unquote_and_keep_positions():
    tokens, comments = lex('DROP INDEX "Odd""Name", b -- tail\n')
    assert [(t.kind, t.value, t.start) for t in tokens] == [
        ("word", "DROP", 0),
        ("word", "INDEX", 5),
        ("ident", 'Odd"Name', 11),
        ("punct", ",", 22),
        ("word", "b", 24),
    ]
    assert [c.text for c in comments] == ["-- tail"]
    assert tokens[2].upper == ""  # a quoted identifier is never a keyword


def test_without_comments_keeps_strings():
    assert without_comments("a -- x\n'-- y' /* z */ b") == "a  \n'-- y'   b"
