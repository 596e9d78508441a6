"""Split a SQL script into statements the way PostgreSQL's psql reads them.

Semicolons inside `--` and nested `/* */` comments, single-quoted strings
(with `''` and, for `E'...'`, backslash escapes), double-quoted identifiers
and dollar-quoted bodies (`$$...$$`, `$tag$...$tag$`) never end a statement;
neither do semicolons inside parentheses or inside the `BEGIN ATOMIC ... END`
body of a `CREATE [OR REPLACE] FUNCTION/PROCEDURE` (psql's own rules).
Each statement keeps its 1-based line and column in the original text, so
errors and lint findings can point at `file:line:column`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
_WORD = re.compile(r"[A-Za-z_\x80-\uffff][A-Za-z0-9_$\x80-\uffff]*")
_NUMBER = re.compile(r"[0-9][A-Za-z0-9_.]*")
# The rest of a string literal after its opening quote, up to and including the closing one:
# `''` is a quote inside it; in an E'...' string a backslash escapes the next character.
_STRING_REST = re.compile(r"[^']*(?:''[^']*)*'")
_ESCAPE_STRING_REST = re.compile(r"(?:[^'\\]|\\.|'')*'", re.S)


@dataclass(frozen=True)
class Statement:
    """One statement: its text without the terminating `;`, and where it starts."""

    text: str
    line: int
    column: int
    start: int
    end: int


class UnterminatedError(ValueError):
    """A quote, comment or dollar body is never closed; `offset` is where it opens."""

    def __init__(self, what: str, offset: int, line: int, column: int) -> None:
        super().__init__(f"unterminated {what} starting at line {line}, column {column}")
        self.what = what
        self.offset = offset
        self.line = line
        self.column = column


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def block_comment_end(text: str, start: int) -> int:
    """The offset just past the (nested) `/* */` comment opening at `start`, or -1 if unclosed."""
    depth, i = 1, start + 2
    while depth:
        close = text.find("*/", i)
        if close < 0:
            return -1
        opened = text.find("/*", i, close)
        if opened >= 0:
            depth, i = depth + 1, opened + 2
        else:
            depth, i = depth - 1, close + 2
    return i


def skip_quoted(text: str, i: int) -> int:
    """If a comment, string, quoted identifier or dollar body starts at i, return its end."""
    ch = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch == "-" and nxt == "-":
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if ch == "/" and nxt == "*":
        end = block_comment_end(text, i)
        if end < 0:
            raise UnterminatedError("/* comment", i, *_position(text, i))
        return end
    if ch == "'":
        before = text[i - 2] if i >= 2 else ""
        escapes = i > 0 and text[i - 1] in "eE" and not (before.isalnum() or before == "_")
        rest = (_ESCAPE_STRING_REST if escapes else _STRING_REST).match(text, i + 1)
        # A match ending on the first quote of a `''` pair only came from backtracking: the
        # literal never closes.
        if rest is None or text.startswith("'", rest.end()):
            raise UnterminatedError("string literal", i, *_position(text, i))
        return rest.end()
    if ch == '"':
        j = i + 1
        while True:
            close = text.find('"', j)
            if close < 0:
                raise UnterminatedError("quoted identifier", i, *_position(text, i))
            if close + 1 < len(text) and text[close + 1] == '"':
                j = close + 2
                continue
            return close + 1
    if ch == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_$")):
        match = _DOLLAR_TAG.match(text, i)
        if match:
            tag = match.group(0)
            close = text.find(tag, match.end())
            if close < 0:
                raise UnterminatedError(f"dollar-quoted body {tag}", i, *_position(text, i))
            return close + len(tag)
    return i


class RoutineBody:
    """psql's heuristic for SQL-standard routine bodies: in a statement starting with
    CREATE [OR REPLACE] FUNCTION/PROCEDURE, BEGIN (and CASE inside it) ... END nest.

    Feed it a statement's words in order (`word`); a `;` ends the statement only while
    `depth` is 0. Shared by the splitter and the lint lexer, so both cut where psql does."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.depth = 0
        self.inside = False  # the statement is a CREATE FUNCTION/PROCEDURE
        self.tracking = True  # words still matter: the first four, or all of a routine's

    def word(self, word: str, parens: int) -> None:
        lower = word.lower()
        if len(self.words) < 4:
            self.words.append(lower)
            head = self.words
            self.inside = head[:1] == ["create"] and (
                head[1:2] in (["function"], ["procedure"])
                or (head[1:3] == ["or", "replace"] and head[3:4] in (["function"], ["procedure"]))
            )
            self.tracking = len(self.words) < 4 or self.inside
        if not self.inside or parens:
            return
        if lower == "begin" or (lower == "case" and self.depth >= 1):
            self.depth += 1
        elif lower == "end" and self.depth > 0:
            self.depth -= 1


# Characters that can start a comment, quote or body, change the nesting, or end a statement;
# and the same plus the start of a word or number, while words still matter.
_SPECIAL = re.compile(r"""[-/'"$();]""")
_SPECIAL_OR_WORD = re.compile(r"""[-/'"$();0-9A-Za-z_\x80-\uffff]""")
_QUOTE_STARTS = frozenset("-/'\"$")  # where `skip_quoted` may find a comment, quote or body
_DIGITS = frozenset("0123456789")  # a number (not str.isdigit: other scripts' digits are word characters)


# A script's tokens as far as splitting a plain script goes (`_split_plain`): runs of ordinary
# text, complete quoted identifiers and string literals, `--` comments, parentheses and `;`.
_PLAIN_TOKEN = re.compile(r"""[^"'();/$-]+|"[^"]*"|'[^']*'|--[^\n]*|[();]|[-/]|["']""")


def split(text: str) -> list[Statement]:
    """The script's statements in order, empty ones (only comments) left out.

    Raises UnterminatedError when a quote, comment or dollar body never closes.
    """
    plain = _split_plain(text)
    return plain if plain is not None else _split(text)


def _split_plain(text: str) -> list[Statement] | None:
    """`split(text)` for the common script, one regex call per token; None when the script holds
    anything that needs the full scanner: a dollar sign, a block comment, a routine (whose
    `BEGIN ATOMIC` body nests), an E'...' string, a doubled or unterminated quote."""
    lowered = text.lower()
    if "$" in text or "/*" in text or "function" in lowered or "procedure" in lowered:
        return None
    statements: list[Statement] = []
    start = 0
    parens = 0
    for token in _PLAIN_TOKEN.finditer(text):
        begin, end = token.span()
        ch = text[begin]
        if ch == ";":
            if parens == 0:
                _append(statements, text, start, begin)
                start = end
        elif ch == "(":
            parens += 1
        elif ch == ")":
            parens = max(0, parens - 1)
        elif (ch == "'" or ch == '"') and (
            end - begin == 1  # never closed
            or text.startswith(ch, end)  # a doubled quote inside
            or (ch == "'" and text[begin - 1 : begin] in ("e", "E"))  # maybe E'...', with escapes
        ):
            return None
    _append(statements, text, start, len(text))
    return statements


def _split(text: str) -> list[Statement]:
    """The full scanner behind `split`."""
    statements: list[Statement] = []
    start = 0
    i = 0
    parens = 0
    routine = RoutineBody()
    while True:
        found = (_SPECIAL_OR_WORD if routine.tracking else _SPECIAL).search(text, i)
        if found is None:
            break
        i = found.start()
        ch = text[i]
        if ch in _QUOTE_STARTS:
            j = skip_quoted(text, i)
            i = j if j != i else i + 1
            continue
        if ch in _DIGITS:
            i = _NUMBER.match(text, i).end()  # type: ignore[union-attr]
            continue
        if ch == "(":
            parens += 1
        elif ch == ")":
            parens = max(0, parens - 1)
        elif ch == ";":
            if parens == 0 and routine.depth == 0:
                _append(statements, text, start, i)
                start = i + 1
                routine = RoutineBody()
        else:  # the start of a word (the pattern matched nothing else)
            word = _WORD.match(text, i)
            routine.word(word.group(0), parens)  # type: ignore[union-attr]
            i = word.end()  # type: ignore[union-attr]
            continue
        i += 1
    _append(statements, text, start, len(text))
    return statements


def _append(statements: list[Statement], text: str, start: int, end: int) -> None:
    """Record text[start:end] as a statement, starting at its first token (not a comment)."""
    i = start
    while i < end:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i) or text.startswith("/*", i):
            i = skip_quoted(text, i)
        else:
            break
    if i >= end:
        return
    line, column = _position(text, i)
    statements.append(Statement(text=text[i:end].rstrip(), line=line, column=column, start=i, end=end))


def strip_comments(text: str) -> str:
    """`text` with its comments removed (strings and dollar bodies kept as they are)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if (ch == "-" and nxt == "-") or (ch == "/" and nxt == "*"):
            j = skip_quoted(text, i)
            out.append(" ")
            i = j
            continue
        j = skip_quoted(text, i)
        if j != i:
            out.append(text[i:j])
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def leading_words(text: str, limit: int = 8) -> list[str]:
    """The first `limit` words of `text`, upper-cased, skipping comments, literals and quoted
    identifiers; reads only as far as it needs (an unterminated quote ends the scan)."""
    words: list[str] = []
    i = 0
    while len(words) < limit:
        found = _SPECIAL_OR_WORD.search(text, i)  # whatever else lies between is skipped
        if found is None:
            break
        i = found.start()
        ch = text[i]
        if ch in _QUOTE_STARTS:
            try:
                j = skip_quoted(text, i)
            except UnterminatedError:
                break
            i = j if j != i else i + 1
        elif ch in _DIGITS:
            i = _NUMBER.match(text, i).end()  # type: ignore[union-attr]
        elif ch in "();":
            i += 1
        else:
            word = _WORD.match(text, i)
            words.append(word.group(0).upper())  # type: ignore[union-attr]
            i = word.end()  # type: ignore[union-attr]
    return words
