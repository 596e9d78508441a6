"""Pinned `tzurot-fp-2` output: fingerprints already recorded in history tables must keep matching.

The expected values were produced by the implementation before it was optimized (`tzurot-fp-1`,
whose statement digests fp-2 keeps for every statement without a keyword pair such as ORDER BY);
any change to them is a change of the canonical form (and needs a new ALGORITHM), never a
refactoring.
"""

from __future__ import annotations

import pytest

from pytest_tzurot.sql.fingerprint import ALGORITHM, canonical, fingerprint, statement_prints

CANONICAL = {
    "operators touching or not": (
        "SELECT a <-> b, c < - > d, e <=> f, g #>> '{a,b}' FROM T;",
        [["w", "select"], ["w", "a"], ["op", "<->"], ["w", "b"], ["p", ","], ["w", "c"], ["op", "<"],
         ["op", "-"], ["op", ">"], ["w", "d"], ["p", ","], ["w", "e"], ["op", "<=>"], ["w", "f"],
         ["p", ","], ["w", "g"], ["op", "#>>"], ["str", "STRING", "'{a,b}'"], ["w", "from"], ["w", "t"]],
    ),
    "literals and quoted identifiers": (
        "SELECT E'a\\n', 'it''s', $q$ Lit $q$, 1.5e3, \"Mixed\", \"lower\", \"user\", a$b",
        [["w", "select"], ["str", "BYTE_STRING", "E'a\\n'"], ["p", ","], ["str", "STRING", "'it''s'"],
         ["p", ","], ["dollar", " Lit "], ["p", ","], ["p", "1.5e3"], ["p", ","], ["q", "Mixed"],
         ["p", ","], ["w", "lower"], ["p", ","], ["q", "user"], ["p", ","], ["w", "a$b"]],
    ),
    "non-ASCII words fold only ASCII letters": (
        "CREATE TABLE Ärger (Äa int, \"naïve\" text DEFAULT 'ü')",
        [["w", "create"], ["w", "table"], ["w", "Ärger"], ["p", "("], ["w", "Äa"], ["w", "int"], ["p", ","],
         ["q", "naïve"], ["w", "text"], ["w", "default"], ["str", "STRING", "'ü'"], ["p", ")"]],
    ),
    "SQL function body, LANGUAGE after it": (
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; -- one\n $$ LANGUAGE SQL",
        [["w", "create"], ["w", "function"], ["w", "f"], ["p", "("], ["p", ")"], ["w", "returns"],
         ["w", "int"], ["w", "as"], ["body", [["w", "select"], ["p", "1"]]], ["w", "language"], ["w", "sql"]],
    ),
    "DO block": (
        "DO $$ BEGIN RAISE NOTICE 'x'; END $$",
        [["w", "do"], ["body", [["w", "begin"], ["w", "raise"], ["w", "notice"], ["str", "STRING", "'x'"],
                                ["p", ";"], ["w", "end"]]]],
    ),
    "keyword pairs sqlglot reads as one token are separate words": (
        "CREATE TABLE t (id int PRIMARY   KEY, x DOUBLE\n PRECISION)",
        [["w", "create"], ["w", "table"], ["w", "t"], ["p", "("], ["w", "id"], ["w", "int"], ["w", "primary"],
         ["w", "key"], ["p", ","], ["w", "x"], ["w", "double"], ["w", "precision"], ["p", ")"]],
    ),
    "text sqlglot skips falls back to the exact text": (
        "SELECT 1 {# sqlglot drops this #} + 2",
        [["raw", "SELECT 1 {# sqlglot drops this #} + 2"]],
    ),
}

SCRIPT = (
    "-- header\nCREATE TABLE a (id int);\n"
    "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $b$ BEGIN RETURN 1; END $b$;\n"
    "SELECT a <-> b;\n"
)


@pytest.mark.parametrize("statement, expected", CANONICAL.values(), ids=CANONICAL.keys())
def test_canonical_form_is_pinned(statement: str, expected: list[object]) -> None:
    assert canonical(statement) == expected


def test_digests_are_pinned() -> None:
    assert ALGORITHM == "tzurot-fp-2"
    assert [(p.index, p.line, p.text, p.digest) for p in statement_prints(SCRIPT)] == [
        (1, 2, "CREATE TABLE a (id int)", "c30bb6e88d40a2372a8622d1ff7b36aaadcf74362eeeda7bffc77b5d0fa3ac5d"),
        (2, 3, "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $b$ BEGIN RETURN 1; END $b$",
         "37529c3120f51093d2e4daee10a1a0362a82af06253c0090b985aafae5c22c77"),
        (3, 4, "SELECT a <-> b", "702fc823561bda0a41447de780b48ba6ff48ec390b1211b4ffa7935dc89cc37c"),
    ]
    assert fingerprint(SCRIPT) == (
        "tzurot-fp-2:921329a0ce1b769ccc49d987840037889c43aa241b1a94a84af7b576084d61a7"
    )
