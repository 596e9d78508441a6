"""Which statements force a migration out of a transaction."""

from __future__ import annotations

import pytest

from pytest_tzurot.migrations.transactions import (
    is_transaction_abort,
    is_transaction_control,
    leading_words,
    non_transactional,
)
from pytest_tzurot.sql.split import split


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ('create unique index concurrently if not exists "i" on a using hnsw (e vector_cosine_ops)',
         "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY IF EXISTS i", "DROP INDEX CONCURRENTLY"),
        ("REINDEX (VERBOSE) INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"),
        ("REINDEX DATABASE app", "REINDEX DATABASE"),
        ("vacuum (analyze) a", "VACUUM"),
        ("ALTER SYSTEM SET work_mem = '4MB'", "ALTER SYSTEM"),
        ("CREATE DATABASE other", "CREATE DATABASE"),
        ("DROP DATABASE IF EXISTS other", "DROP DATABASE"),
        ("CREATE TABLESPACE t LOCATION '/x'", "CREATE TABLESPACE"),
        ("CLUSTER", "CLUSTER without a table"),
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "ALTER TABLE ... DETACH PARTITION CONCURRENTLY"),
        ("/* lead */ CREATE INDEX CONCURRENTLY i ON a (e)", "CREATE INDEX CONCURRENTLY"),
    ],
)
def test_detected(statement: str, what: str):
    [found] = non_transactional(split(f"SELECT 1;\n{statement};\n"))
    assert (found.what, found.line) == (what, 2)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE INDEX concurrently_idx ON a (id)",
        "CREATE INDEX i ON a (id)",
        "REINDEX TABLE a",
        "CLUSTER a USING i",
        "INSERT INTO a VALUES ('vacuum')",
        "COMMENT ON TABLE a IS 'create index concurrently'",
        "DO $$ BEGIN PERFORM 1; END $$ -- VACUUM",
        "ALTER TABLE a ADD COLUMN database int",
        'CREATE TABLE "vacuum" (system int)',
        "SELECT e <=> '[1,2,3]' FROM items ORDER BY 1 LIMIT 5",
    ],
)
def test_transactional(statement: str):
    assert non_transactional(split(statement)) == []


def test_transaction_control_words():
    assert is_transaction_control(leading_words("BEGIN"))
    assert is_transaction_control(leading_words("start transaction isolation level serializable"))
    assert is_transaction_control(leading_words("COMMIT"))
    assert is_transaction_control(leading_words("-- x\nEND"))
    assert not is_transaction_control(leading_words("DO $$ BEGIN END $$"))
    assert not is_transaction_control(leading_words("SELECT 'BEGIN'"))
    assert not is_transaction_control(leading_words("COMMIT PREPARED 'x'"))


def test_transaction_abort_words():
    assert is_transaction_abort(leading_words("ROLLBACK"))
    assert is_transaction_abort(leading_words("abort work"))
    assert not is_transaction_abort(leading_words("ROLLBACK TO SAVEPOINT before_data"))
    assert not is_transaction_abort(leading_words("ROLLBACK PREPARED 'x'"))
