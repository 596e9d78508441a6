"""Which statements cannot run inside a transaction block, detected with sqlglot.

PostgreSQL refuses `CREATE/DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY`
(and `REINDEX DATABASE/SYSTEM`), `VACUUM`, `ALTER SYSTEM`, `CREATE/DROP
DATABASE`, `CREATE/DROP TABLESPACE`, `ALTER TABLE ... DETACH PARTITION ...
CONCURRENTLY` and a bare `CLUSTER` inside a transaction. A migration holding
one runs statement by statement instead. Statements are parsed with
sqlglot's postgres dialect; when it cannot parse one, its leading keywords
(comments and literals skipped) decide.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["NonTransactional", "is_transaction_abort", "is_transaction_control", "leading_words",
           "non_transactional"]

from pytest_tzurot.sql.split import Statement, leading_words

# Only statements mentioning one of these words can be non-transactional: cheap pre-filter.
_CANDIDATE = re.compile(r"\b(concurrently|vacuum|system|database|tablespace|cluster|reindex)\b", re.I)
_CANDIDATE_WORDS = ("concurrently", "vacuum", "system", "database", "tablespace", "cluster", "reindex")


def _is_candidate(text: str) -> bool:
    """The pre-filter: plain substring tests first (much cheaper than the case-insensitive regex
    over every statement), the regex's word boundaries only when one of the words occurs."""
    lowered = text.lower()
    return any(word in lowered for word in _CANDIDATE_WORDS) and bool(_CANDIDATE.search(text))


# psql's transaction-control statements (the runner opens and commits the transaction itself).
TRANSACTION_ABORT = ("ROLLBACK", "ABORT")


@dataclass(frozen=True)
class NonTransactional:
    """A statement that cannot run in a transaction block: what it is and where."""

    what: str
    line: int


def is_transaction_control(words: Sequence[str]) -> bool:
    """BEGIN / START TRANSACTION / COMMIT / END, from a statement's leading words
    (not COMMIT PREPARED, which is two-phase commit and kept as written)."""
    if not words:
        return False
    if list(words[:2]) == ["COMMIT", "PREPARED"]:
        return False
    return words[0] in ("BEGIN", "COMMIT", "END") or list(words[:2]) == ["START", "TRANSACTION"]


def is_transaction_abort(words: Sequence[str]) -> bool:
    """ROLLBACK / ABORT of the whole transaction (not ROLLBACK TO SAVEPOINT, not ROLLBACK PREPARED)."""
    return bool(words) and words[0] in TRANSACTION_ABORT and list(words[1:2]) not in (["TO"], ["PREPARED"])


def _classify_words(words: Sequence[str]) -> str | None:
    """The keyword-level rule: which non-transactional statement `words` start, if any."""
    if not words:
        return None
    head = words[0]
    rest = list(words[1:])
    if head == "VACUUM":
        return "VACUUM"
    if head == "CLUSTER" and len(rest) == 0:
        return "CLUSTER without a table"
    if head == "REINDEX":
        if "CONCURRENTLY" in rest:
            return "REINDEX CONCURRENTLY"
        target = [w for w in rest if w not in ("VERBOSE", "TABLESPACE")]
        if target and target[0] in ("DATABASE", "SYSTEM"):
            return f"REINDEX {target[0]}"
        return None
    if head == "ALTER" and rest[:1] == ["SYSTEM"]:
        return "ALTER SYSTEM"
    if head == "ALTER" and rest[:1] == ["TABLE"] and "DETACH" in rest and "CONCURRENTLY" in words:
        return "ALTER TABLE ... DETACH PARTITION CONCURRENTLY"
    if head in ("CREATE", "DROP"):
        kinds = [w for w in rest if w not in ("UNIQUE", "OR", "REPLACE")]
        if kinds[:1] == ["INDEX"] and "CONCURRENTLY" in kinds[1:3]:
            return f"{head} INDEX CONCURRENTLY"
        if kinds[:1] in (["DATABASE"], ["TABLESPACE"]):
            return f"{head} {kinds[0]}"
    return None


def _classify_parsed(text: str) -> tuple[bool, str | None]:
    """(parsed, reason): sqlglot's verdict; parsed is False when sqlglot could not parse it."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        tree = sqlglot.parse_one(text, read="postgres", error_level=ErrorLevel.RAISE)
    except (SqlglotError, RecursionError, ValueError):
        return False, None
    if isinstance(tree, (exp.Create, exp.Drop)):
        kind = str(tree.args.get("kind") or "").upper()
        verb = "CREATE" if isinstance(tree, exp.Create) else "DROP"
        if kind == "INDEX" and tree.args.get("concurrently"):
            return True, f"{verb} INDEX CONCURRENTLY"
        if kind in ("DATABASE", "TABLESPACE"):
            return True, f"{verb} {kind}"
        return True, None
    # sqlglot keeps VACUUM, REINDEX, ALTER SYSTEM... as opaque commands (and reads a bare CLUSTER
    # as a column): their keywords decide.
    return True, _classify_words(leading_words(text))


def _silence_sqlglot() -> None:
    import logging

    # sqlglot logs a warning for every statement it keeps as an opaque Command.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


def non_transactional(statements: Sequence[Statement]) -> list[NonTransactional]:
    """The statements that cannot run inside a transaction block, in order."""
    found: list[NonTransactional] = []
    candidates = [s for s in statements if _is_candidate(s.text)]
    if candidates:
        _silence_sqlglot()
    for stmt in candidates:
        parsed, reason = _classify_parsed(stmt.text)
        if not parsed:
            reason = _classify_words(leading_words(stmt.text))
        if reason:
            found.append(NonTransactional(what=reason, line=stmt.line))
    return found
