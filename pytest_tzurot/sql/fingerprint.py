"""Semantic fingerprint of a migration: equal for cosmetic edits, different for real ones.

Each statement (split as psql does) is read with sqlglot's PostgreSQL
tokenizer and reduced to a canonical token sequence:

- comments, whitespace, blank lines, keyword case and the `;` terminator
  style disappear (also inside the keyword pairs sqlglot reads as one token,
  such as `ORDER BY` or `PRIMARY KEY`);
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
from json.encoder import encode_basestring as _json_string  # json.dumps's, ensure_ascii=False
from typing import Any

from pytest_tzurot.sql.split import Statement, UnterminatedError, split, strip_comments

# Bumped whenever the canonical form changes. A fingerprint starts with it, so one recorded by
# another algorithm is recognised as such (`is_current`) and never compared.
ALGORITHM = "tzurot-fp-2"  # 2: keyword pairs sqlglot reads as one token count as words

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_OPERATOR_STRING = "+-*/<>=~!@#%^&|`?:$"
# An unquoted ASCII word once folded to lower case; also exactly the quoted identifiers whose
# quotes are cosmetic (apart from reserved words).
_FOLDED_WORD = re.compile(r"[a-z_][a-z0-9_$]*")
# Categories of sqlglot's token types (see _token_kinds); _PLAIN (0, falsy, the common case) is
# keywords, names, numbers, operators and punctuation.
_PLAIN, _SEMICOLON, _IDENTIFIER, _STRING, _DOLLAR = range(5)
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
    """`ALGORITHM:hex SHA-256` over the canonical statements; raises FingerprintError if
    unsplittable. `statements` is `split(sql)` (BOM removed) when the caller already has it:
    not split twice. The prefix tells a value of another algorithm (`is_current`)."""
    digest = hashlib.sha256(ALGORITHM.encode())
    for stmt in statement_prints(sql, statements):
        digest.update(b"\x00" + stmt.digest.encode())
    return f"{ALGORITHM}:{digest.hexdigest()}"


def is_current(value: str) -> bool:
    """Whether a recorded fingerprint was computed by this ALGORITHM (`tzurot-fp-1` values are
    bare hex): one of another algorithm proves nothing, either way, about an edit."""
    return value.startswith(ALGORITHM + ":")


def statement_prints(sql: str, statements: Sequence[Statement] | None = None) -> list[StatementPrint]:
    """Per-statement fingerprints in file order; statements holding only comments are skipped."""
    if statements is None:
        sql = sql.removeprefix("\ufeff")  # an editor adding or removing a BOM is cosmetic
        try:
            statements = split(sql)
        except UnterminatedError as exc:
            raise FingerprintError(str(exc)) from None
    prints: list[StatementPrint] = []
    sha256 = hashlib.sha256
    for stmt in statements:
        text = stmt.text
        blob, start = _canonical(text)
        if blob == "[]":
            continue
        prints.append(
            StatementPrint(
                index=len(prints) + 1,
                line=stmt.line + text.count("\n", 0, start),
                text=text[start:].strip(),
                digest=sha256(blob.encode()).hexdigest(),
            )
        )
    return prints


def canonical(statement: str) -> list[Any]:
    """The statement's canonical token sequence (see the module docstring)."""
    return json.loads(_canonical(statement)[0])


def _canonical(statement: str) -> tuple[str, int]:
    """The canonical token sequence as JSON text, and the offset of the statement's first token.

    The text is exactly `json.dumps(sequence, ensure_ascii=False, separators=(",", ":"))`
    (the form the digest is taken over), written item by item as the tokens are read instead
    of building lists for an encoder. One pass over sqlglot's tokens checks that nothing but
    whitespace and comments lies between them (else the exact text is compared) and writes
    the items; dollar-quoted strings are settled after it, since `LANGUAGE` may follow them.
    """
    tokens = _tokenize(statement)
    if tokens is None:
        return _raw(statement)  # sqlglot cannot tokenize it
    kinds = _token_kinds()
    # Folded once for the whole statement and sliced per token: position for position equal
    # to folding each token (str.lower is ASCII-only on ASCII text; _LOWER maps 1:1).
    ascii_text = statement.isascii()
    lowered = statement.lower() if ascii_text else statement.translate(_LOWER)
    is_word = _FOLDED_WORD.fullmatch
    quote = _json_string
    last = tokens[-1] if tokens else None
    items: list[str] = []  # each item's JSON text
    append = items.append
    dollars: list[tuple[int, Any]] = []  # (index in items, token) of dollar-quoted strings
    op_index, op_text = -2, ""  # the last operator item, to extend with a touching one
    pos = 0  # just past the previous token
    for tok in tokens:
        start = tok.start
        # The common gaps (none, or only whitespace) are decided without strip_comments.
        if start != pos and not statement[pos:start].isspace() and _dropped(statement, pos, start):
            return _raw(statement)
        end = tok.end + 1
        kind = kinds[tok.token_type]
        if not kind or (kind == _SEMICOLON and tok is not last):
            low = lowered[start:end]
            if ascii_text or low.isascii():
                # On folded ASCII text str.isidentifier (a C method, no regex call) is
                # _FOLDED_WORD without `$`; the regex decides the rare words holding one.
                word = low.isidentifier() or ("$" in low and is_word(low) is not None)
            else:
                word = _unicode_word(low)
            if word:  # letters, digits, `_` and `$`: nothing JSON escapes
                append(f'["w","{low}"]')
            elif not low.strip(_OPERATOR_STRING):  # only operator characters (none JSON escapes)
                if start == pos and op_index == len(items) - 1:
                    op_text += low  # touching operator characters are one operator
                    items[-1] = f'["op","{op_text}"]'
                else:
                    op_index, op_text = len(items), low
                    append(f'["op","{low}"]')
            elif len(parts := low.split()) > 1 and all(part.isidentifier() for part in parts):
                # sqlglot reads some keyword pairs (ORDER BY, PRIMARY KEY, DOUBLE PRECISION) as one
                # token, whitespace included: as separate words, their spacing stays layout.
                items.extend(f'["w","{part}"]' for part in parts)
            else:
                append(f'["p",{quote(low)}]')
        elif kind == _IDENTIFIER:
            append(_quoted(tok.text))
        elif kind == _STRING:
            append(f'["str","{_token_type_names()[tok.token_type]}",{quote(statement[start:end])}]')
        elif kind == _DOLLAR:
            dollars.append((len(items), tok))
            append(f'["dollar",{quote(tok.text)}]')  # replaced below if the bodies are code
        # else: the statement's trailing semicolon, which is layout
        pos = end
    end = len(statement)  # and after the last token
    if pos != end and not statement[pos:end].isspace() and _dropped(statement, pos, end):
        return _raw(statement)
    if not tokens:
        return "[]", 0
    if dollars and _has_code_bodies(_words(lowered, tokens), tokens):
        for index, tok in dollars:
            items[index] = f'["body",{_canonical(tok.text)[0]}]'
    return "[" + ",".join(items) + "]", tokens[0].start


def _dropped(statement: str, pos: int, start: int) -> bool:
    """Whether the gap before a token (at `start`, the previous one ending before `pos`) holds
    more than comments and whitespace, or the tokens overlap: then sqlglot's reading is not
    faithful to the text."""
    return start < pos or bool(strip_comments(statement[pos:start]).strip())


def _raw(statement: str) -> tuple[str, int]:
    """The fallback canonical form (JSON text, first offset): the exact text, only the outer
    layout ignored."""
    stripped = statement.strip()
    offset = len(statement) - len(statement.lstrip())
    return (f'[["raw",{_json_string(stripped)}]]' if stripped else "[]"), offset


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


@cache
def _token_kinds() -> dict[Any, int]:
    """Every sqlglot token type's category (a dict lookup instead of name comparisons)."""
    kinds: dict[Any, int] = {}
    for member, name in _token_type_names().items():
        if name == "HEREDOC_STRING":
            kinds[member] = _DOLLAR
        elif name == "IDENTIFIER":
            kinds[member] = _IDENTIFIER
        elif name.endswith("_STRING") or name == "STRING":
            kinds[member] = _STRING
        elif name == "SEMICOLON":
            kinds[member] = _SEMICOLON
        else:
            kinds[member] = _PLAIN
    return kinds


@cache
def _token_type_names() -> dict[Any, str]:
    """sqlglot's token types by value (an enum's `.name` is a slow descriptor lookup)."""
    from sqlglot.tokens import TokenType

    return {member: member.name for member in TokenType}


def _unicode_word(low: str) -> bool:
    """Whether a token's text is a word by Unicode's letters and digits: the rule for non-ASCII
    words (on ASCII text it is `[A-Za-z_][A-Za-z0-9_$]*`, so `_FOLDED_WORD` once folded)."""
    return bool(low) and (low[0].isalpha() or low[0] == "_") and all(c.isalnum() or c in "_$" for c in low)


def _words(lowered: str, tokens: list[Any]) -> list[str | None]:
    """Each token's folded text if it is an unquoted word (keyword or identifier), else None,
    by the same rule as `_canonical`'s loop, whatever the token's type; `lowered` is the
    statement folded by `_canonical`. Only needed for statements holding dollar quotes."""
    words: list[str | None] = []
    for tok in tokens:
        low = lowered[tok.start : tok.end + 1]
        word = _FOLDED_WORD.fullmatch(low) or (not low.isascii() and _unicode_word(low))
        words.append(low if word else None)
    return words


def _quoted(name: str) -> str:
    """A quoted identifier's item (JSON text): equal to the unquoted word only when quoting
    changes nothing (a plain ASCII identifier, already lower case, not a reserved word)."""
    if _FOLDED_WORD.fullmatch(name) and name not in _RESERVED:
        return f'["w","{name}"]'  # [a-z0-9_$] only: nothing to escape
    return f'["q",{_json_string(name)}]'


def _has_code_bodies(words: list[str | None], tokens: list[Any]) -> bool:
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
