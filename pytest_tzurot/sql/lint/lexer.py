"""A fast PostgreSQL lexer for the lint: one regular-expression pass, no sqlglot.

It knows exactly what `pytest_tzurot.sql.split` knows about quoting (comments,
`'...'` and `E'...'` strings, `"..."` identifiers, `$tag$...$tag$` bodies), so
text inside them never becomes a keyword. Call it on text that `split()`
accepted (terminated quotes); anything it cannot classify becomes an `other`
token instead of an exception.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_PATTERN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*)
  | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*')
  | (?P<string>(?:[bBxXnN]|[uU]&)?'(?:[^']|'')*')
  | (?P<ident>(?:[uU]&)?"(?:[^"]|"")*")
  | (?P<dollar>\$(?P<tag>(?:[^\W\d]\w*)?)\$(?P<body>.*?)\$(?P=tag)\$)
  | (?P<param>\$\d+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d][\w$]*)
  | (?P<punct>::|[(),;.\[\]:])
  | (?P<op>[+\-*/<>=~!@\#%^&|`?]+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


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


def _block_comment_end(text: str, start: int) -> int:
    depth, i = 1, start + 2
    while depth:
        close = text.find("*/", i)
        if close < 0:
            return len(text)
        opened = text.find("/*", i, close)
        if opened >= 0:
            depth, i = depth + 1, opened + 2
        else:
            depth, i = depth - 1, close + 2
    return i


def lex(text: str) -> tuple[list[Token], list[Comment]]:
    """All tokens (comments and whitespace left out) and all comments of `text`."""
    tokens: list[Token] = []
    comments: list[Comment] = []
    pos, n = 0, len(text)
    match = _PATTERN.match
    while pos < n:
        m = match(text, pos)
        assert m is not None  # the `other` branch matches any character
        kind = m.lastgroup
        end = m.end()
        if kind == "space":
            pass
        elif kind == "comment":
            if m.group(0) == "/*":
                end = _block_comment_end(text, pos)
            comments.append(Comment(text[pos:end], pos, end))
        elif kind == "word":
            tokens.append(Token("word", m.group(0), pos, end))
        elif kind == "ident":
            raw = m.group(0)
            body = raw[raw.index('"') + 1 : -1]
            tokens.append(Token("ident", body.replace('""', '"'), pos, end))
        elif kind in ("string", "estring"):
            raw = m.group(0)
            tokens.append(Token("string", raw[raw.index("'") + 1 : -1].replace("''", "'"), pos, end))
        elif kind == "dollar":
            tokens.append(Token("dollar", m.group("body"), pos, end))
        else:
            tokens.append(Token(kind, m.group(0), pos, end))  # type: ignore[arg-type]
        pos = end
    return tokens, comments


class Positions:
    """Offset -> 1-based (line, column) for one text."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def of(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1
