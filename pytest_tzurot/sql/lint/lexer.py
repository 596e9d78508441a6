"""A fast PostgreSQL lexer for the lint: one regular-expression pass, no sqlglot.

It follows the same rules as `pytest_tzurot.sql.split` (the runner's splitter):
comments (nested `/* */` too), `'...'` and `E'...'` strings, `"..."`
identifiers and `$tag$...$tag$` bodies, so text inside them never becomes a
keyword, and `statements()` cuts the script where psql (and the runner) does.
It is separate from `split` for speed: one regex call per token instead of a
character loop, which keeps a pre-commit run of `tzurot lint` short.
tests/unit/test_lint_lexer.py checks that both always agree.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from pytest_tzurot.sql.split import RoutineBody, block_comment_end

# Leading whitespace is part of every match: one regex call per token.
_PATTERN = re.compile(
    r"""
    \s*(?:
      (?P<comment>--[^\n]*|/\*)
    | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*')
    | (?P<string>(?:[bBxXnN]|[uU]&)?'(?:[^']|'')*')
    | (?P<ident>(?:[uU]&)?"(?:[^"]|"")*")
    | (?P<dollar>\$(?P<tag>(?:[^\W\d]\w*)?)\$(?P<body>.*?)\$(?P=tag)\$)
    | (?P<param>\$\d+)
    | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<word>[^\W\d][\w$]*)
    | (?P<punct>::|[(),;.\[\]:])
    | (?P<op>[+\-*/<>=~!@\#%^&|`?]+)
    | (?P<other>\S)
    )
    """,
    re.VERBOSE | re.DOTALL,
)
_DOLLAR_OPEN = re.compile(r"\$(?:[^\W\d]\w*)?\$")


class Unterminated(ValueError):
    """A quote, comment or dollar body never closes; `offset` is where it opens."""

    def __init__(self, what: str, offset: int, text: str) -> None:
        line, column = Positions(text).of(offset)
        super().__init__(f"unterminated {what} starting at line {line}, column {column}")
        self.offset = offset
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Token:
    """`kind` is word, ident (quoted), string, dollar, param, number, punct, op or other.

    `value` is the unquoted content for ident/string/dollar, the text otherwise;
    `start`/`end` are offsets in the lexed text.
    """

    kind: str
    value: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        """The keyword spelling (words only; quoted identifiers are never keywords)."""
        return self.value.upper() if self.kind == "word" else ""


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    start: int
    end: int


def lex(text: str) -> tuple[list[Token], list[Comment]]:
    """All tokens (comments and whitespace left out) and all comments of `text`.

    Raises Unterminated for a quote, comment or dollar body that never closes.
    """
    tokens: list[Token] = []
    comments: list[Comment] = []
    append = tokens.append
    pos, n = 0, len(text)
    match = _PATTERN.match
    while pos < n:
        m = match(text, pos)
        if m is None:  # only whitespace left
            break
        kind = m.lastgroup
        begin = m.start(kind)  # type: ignore[arg-type]
        end = m.end()
        if kind == "word":
            word = m.group(kind)
            if (word == "E" or word == "e") and text.startswith("'", end):  # E'... never closed
                raise Unterminated("string literal", end, text)
            append(Token("word", word, begin, end))
        elif kind == "punct" or kind == "op" or kind == "number" or kind == "param":
            append(Token(kind, m.group(kind), begin, end))  # type: ignore[arg-type]
        elif kind == "ident":
            raw = m.group(kind)
            append(Token("ident", raw[raw.index('"') + 1 : -1].replace('""', '"'), begin, end))
        elif kind == "string" or kind == "estring":
            raw = m.group(kind)
            append(Token("string", raw[raw.index("'") + 1 : -1].replace("''", "'"), begin, end))
        elif kind == "dollar":
            append(Token("dollar", m.group("body"), begin, end))
        elif kind == "comment":
            if text.startswith("/*", begin):
                end = block_comment_end(text, begin)
                if end < 0:
                    raise Unterminated("/* comment", begin, text)
            comments.append(Comment(text[begin:end], begin, end))
        else:
            char = text[begin]
            if char == "'":
                raise Unterminated("string literal", begin, text)
            if char == '"':
                raise Unterminated("quoted identifier", begin, text)
            dollar = _DOLLAR_OPEN.match(text, begin) if char == "$" else None
            if dollar:
                raise Unterminated(f"dollar-quoted body {dollar.group(0)}", begin, text)
            append(Token("other", char, begin, end))
        pos = end
    return tokens, comments


@dataclass(frozen=True, slots=True)
class Chunk:
    """One statement: its tokens (without the `;`), and where it starts and ends in the text."""

    tokens: list[Token]
    start: int
    end: int


def statements(tokens: list[Token], text_length: int) -> list[Chunk]:
    """Split tokens into statements exactly as `pytest_tzurot.sql.split` (psql) does: `;` ends a
    statement outside parentheses and outside an SQL-standard routine body (`BEGIN ... END` in
    CREATE [OR REPLACE] FUNCTION/PROCEDURE). Statements without tokens are left out."""
    chunks: list[Chunk] = []
    current: list[Token] = []
    parens = 0
    routine = RoutineBody()
    for token in tokens:
        kind = token.kind
        if kind == "punct":
            value = token.value
            if value == ";" and parens == 0 and routine.depth == 0:
                if current:
                    chunks.append(Chunk(current, current[0].start, token.start))
                current, routine = [], RoutineBody()
                continue
            if value == "(":
                parens += 1
            elif value == ")":
                parens = max(0, parens - 1)
        elif kind == "word":
            routine.word(token.value, parens)
        current.append(token)
    if current:
        chunks.append(Chunk(current, current[0].start, text_length))
    return chunks


def without_comments(text: str) -> str:
    """`text` with comments replaced by a space (bodies of DO blocks and functions); best effort."""
    try:
        _, comments = lex(text)
    except Unterminated:
        return text
    out, pos = [], 0
    for comment in comments:
        out.append(text[pos : comment.start])
        out.append(" ")
        pos = comment.end
    out.append(text[pos:])
    return "".join(out)


class Positions:
    """Offset -> 1-based (line, column) for one text."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def of(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1
