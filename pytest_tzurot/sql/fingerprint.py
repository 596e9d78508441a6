"""Semantic fingerprint of a migration: equal for cosmetic edits, different for real ones.

Each statement (split as psql does) is read with sqlglot's PostgreSQL
tokenizer and reduced to a canonical token sequence:

- comments, whitespace, blank lines, keyword case and the `;` terminator
  style disappear;
- unquoted words fold to lower case (ASCII only, as PostgreSQL does), quoted
  identifiers stay exact, and `"memories"` equals `memories` only when the
  quoted text is what folding would give (lower case, a plain identifier and
  not a reserved word);
- string literals keep their exact source text (`'a'` and `E'a'` differ, as do
  the spaces inside them), numbers their digits;
- operator characters that touch in the source stay one operator (`<->`
  differs from `< - >`);
- dollar-quoted bodies of `CREATE FUNCTION/PROCEDURE ... LANGUAGE sql|plpgsql`
  and of `DO` blocks are tokenized the same way (their comments and layout do
  not count; their string literals do); bodies in any other language and
  every other dollar-quoted string compare by exact text.

Why tokens and not sqlglot's syntax tree: regenerating SQL from a tree is
lossy wherever sqlglot does not model a clause (it falls back to a `Command`,
or rewrites types and operators), and a lossy canonical form could call a
semantic edit cosmetic. A token sequence keeps every meaningful token by
construction, so equal fingerprints mean equal statements up to layout.
`fingerprint(sql)` raises `FingerprintError` (a ValueError) only for text it
cannot split (an unterminated quote or comment).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pytest_tzurot.sql.split import Statement, UnterminatedError, split, strip_comments

# Bumped whenever the canonical form changes, so fingerprints recorded by an
# older algorithm never compare equal by accident (they differ, and the
# caller falls back to the git history or refuses).
ALGORITHM = "tzurot-fp-1"

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_OPERATOR_STRING = "+-*/<>=~!@#%^&|`?:$"
_ASCII_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_CODE_LANGUAGES = {"sql", "plpgsql"}
# PostgreSQL's reserved key words (Appendix C, "reserved" and "reserved (can be
# function or type)"): quoting one of these is never cosmetic.
_RESERVED_WORDS = (
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast check
    collate collation column concurrently constraint create cross current_catalog current_date
    current_role current_schema current_time current_timestamp current_user default deferrable desc
    distinct do else end except false fetch for foreign freeze from full grant group having ilike in
    initially inner intersect into is isnull join lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
    references returning right select session_user similar some symmetric system_user table tablesample
    then to trailing true union unique user using variadic verbose when where window with"""
)
_RESERVED = frozenset(_RESERVED_WORDS.split())


class FingerprintError(ValueError):
    """The SQL cannot be split into statements (unterminated quote, comment or body)."""


@dataclass(frozen=True)
class StatementPrint:
    """One statement's fingerprint: its 1-based position, where it starts, its text."""

    index: int
    line: int
    text: str
    digest: str


def fingerprint(sql: str, statements: Sequence[Statement] | None = None) -> str:
    """Hex SHA-256 over the canonical statements; raises FingerprintError if unsplittable.
    `statements` is `split(sql)` (BOM removed) when the caller already has it: not split twice."""
    digest = hashlib.sha256(ALGORITHM.encode())
    for stmt in statement_prints(sql, statements):
        digest.update(b"\x00" + stmt.digest.encode())
    return digest.hexdigest()


def statement_prints(sql: str, statements: Sequence[Statement] | None = None) -> list[StatementPrint]:
    """Per-statement fingerprints in file order; statements holding only comments are skipped."""
    if statements is None:
        sql = sql.removeprefix("\ufeff")  # an editor adding or removing a BOM is cosmetic
        try:
            statements = split(sql)
        except UnterminatedError as exc:
            raise FingerprintError(str(exc)) from None
    prints: list[StatementPrint] = []
    for stmt in statements:
        canon, start = _canonical(stmt.text)
        if not canon:
            continue
        blob = json.dumps(canon, ensure_ascii=False, separators=(",", ":"))
        prints.append(
            StatementPrint(
                index=len(prints) + 1,
                line=stmt.line + stmt.text.count("\n", 0, start),
                text=stmt.text[start:].strip(),
                digest=hashlib.sha256(blob.encode()).hexdigest(),
            )
        )
    return prints


def canonical(statement: str) -> list[Any]:
    """The statement's canonical token sequence (see the module docstring)."""
    return _canonical(statement)[0]


def _canonical(statement: str) -> tuple[list[Any], int]:
    """The canonical token sequence and the offset of the statement's first token."""
    tokens = _tokenize(statement)
    if tokens is not None and not _lossless(statement, tokens):
        tokens = None
    if tokens is None:
        # sqlglot cannot tokenize it losslessly: compare the exact text (only the outer layout is ignored).
        stripped = statement.strip()
        return ([["raw", stripped]] if stripped else []), len(statement) - len(statement.lstrip())
    if not tokens:
        return [], 0
    words = [_word(statement, t) for t in tokens]
    code_bodies = _has_code_bodies(words, statement, tokens)
    names = _token_type_names()
    out: list[Any] = []
    prev_end = -2
    for tok, word in zip(tokens, words, strict=True):
        raw = statement[tok.start : tok.end + 1]
        kind = names[tok.token_type]
        if kind == "SEMICOLON" and tok is tokens[-1]:
            continue  # a trailing terminator is layout
        if kind == "HEREDOC_STRING":
            body = canonical(tok.text) if code_bodies else None
            out.append(["body", body] if body is not None else ["dollar", tok.text])
        elif kind == "IDENTIFIER":
            out.append(_quoted(tok.text))
        elif _is_string(kind):
            out.append(["str", kind, raw])
        elif word is not None:
            out.append(["w", word])
        elif not raw.strip(_OPERATOR_STRING):  # only operator characters
            if out and out[-1][0] == "op" and tok.start == prev_end + 1:
                out[-1] = ["op", out[-1][1] + raw]  # touching operator characters are one operator
            else:
                out.append(["op", raw])
        else:
            out.append(["p", raw.translate(_LOWER)])
        prev_end = tok.end
    return out, tokens[0].start


@cache
def _tokenizer() -> Any:
    from sqlglot.dialects.postgres import Postgres

    class _Tokenizer(Postgres.Tokenizer):  # type: ignore[misc,name-defined]
        # sqlglot swallows the rest of `DO ...`, `SHOW ...` as one string; keep real tokens.
        COMMANDS: set[Any] = set()  # noqa: RUF012

    return _Tokenizer(dialect=Postgres())


def _tokenize(text: str) -> list[Any] | None:
    from sqlglot.errors import TokenError

    try:
        return list(_tokenizer().tokenize(text))
    except (TokenError, ValueError, IndexError):
        return None


def _lossless(text: str, tokens: list[Any]) -> bool:
    """Whether everything between the tokens is whitespace or comments (nothing was dropped)."""
    pos = 0
    for tok in [*tokens, None]:
        start = len(text) if tok is None else tok.start
        gap = text[pos:start]
        if start < pos or (gap.strip() and strip_comments(gap).strip()):
            return False
        if tok is not None:
            pos = tok.end + 1
    return True


def _is_string(kind: str) -> bool:
    return kind.endswith("_STRING") or kind == "STRING"


def _word(statement: str, tok: Any) -> str | None:
    """The folded text of an unquoted word (keyword or identifier), else None."""
    raw = statement[tok.start : tok.end + 1]
    if raw.isascii():  # the common case, decided by one regex (same rule as below for ASCII)
        return raw.translate(_LOWER) if _ASCII_WORD.fullmatch(raw) else None
    if raw and (raw[0].isalpha() or raw[0] == "_") and all(c.isalnum() or c in "_$" for c in raw):
        return raw.translate(_LOWER)
    return None


@cache
def _token_type_names() -> dict[Any, str]:
    """sqlglot's token types by value (an enum's `.name` is a slow descriptor lookup)."""
    from sqlglot.tokens import TokenType

    return {member: member.name for member in TokenType}


def _quoted(name: str) -> list[str]:
    """A quoted identifier: equal to the unquoted word only when quoting changes nothing."""
    plain = name and (name[0].isalpha() or name[0] == "_") and all(c.isalnum() or c in "_$" for c in name)
    if plain and name.isascii() and name == name.translate(_LOWER) and name not in _RESERVED:
        return ["w", name]
    return ["q", name]


def _has_code_bodies(words: list[str | None], statement: str, tokens: list[Any]) -> bool:
    """Whether dollar-quoted strings in this statement are SQL or PL/pgSQL code."""
    seq = [w for w in words if w is not None]
    if seq[:1] == ["do"]:
        language = "plpgsql"  # DO's default
    elif seq[:2] in (["create", "function"], ["create", "procedure"]) or seq[:4] in (
        ["create", "or", "replace", "function"],
        ["create", "or", "replace", "procedure"],
    ):
        language = ""
    else:
        return False
    for i, word in enumerate(words):
        if word == "language" and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            value = words[i + 1] if words[i + 1] is not None else nxt.text
            language = str(value).translate(_LOWER)
    return language in _CODE_LANGUAGES
