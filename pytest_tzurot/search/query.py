"""The application's similarity query file: one SELECT with named parameters.

Accepted parameter styles (one per file), so the query can be copied from the
application as it is:

- `:name`            SQLAlchemy, many SQL tools (`::type` casts are not parameters)
- `%(name)s`         psycopg / psycopg2
- `$1`, `$2`         Prisma `$queryRaw` / `$queryRawUnsafe`, node-postgres, asyncpg
- `${name}`          a Prisma `$queryRaw` tagged template pasted as it is

Placeholders inside strings, quoted identifiers, comments and dollar bodies
are text, not parameters. The query is turned into psycopg's `%(key)s` form
for execution and into sqlglot's `:key` form for analysis; `label()` gives a
placeholder back as the user wrote it, for messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tzurot.errors import ConfigError
from pytest_tzurot.sql.split import (
    UnterminatedError,
    skip_quoted,  # the shared lexer: strings, comments, bodies
    split,
)

STYLES = {"colon": ":name", "pyformat": "%(name)s", "dollar": "$1", "template": "${name}"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PYFORMAT = re.compile(r"%\(([^()]+)\)s")
_TEMPLATE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}")
_DOLLAR = re.compile(r"\$([0-9]+)")


@dataclass(frozen=True)
class Placeholder:
    """One occurrence of a parameter: its name (`1` for `$1`), style and place in the file."""

    name: str
    style: str
    start: int
    end: int
    line: int

    @property
    def label(self) -> str:
        return label(self.name, self.style)


def label(name: str, style: str) -> str:
    """The parameter as the user writes it, e.g. `$1`, `:embedding`, `%(embedding)s`."""
    return {"colon": f":{name}", "pyformat": f"%({name})s", "dollar": f"${name}", "template": f"${{{name}}}"}[
        style
    ]


def param_key(name: str) -> str:
    """How the manifest's `params:` names a parameter: `personality_id`, or `2` for `$2`."""
    return name[1:] if re.fullmatch(r"\$[0-9]+", name) else name


@dataclass(frozen=True)
class QueryText:
    """The query file's single statement and its parameters."""

    path: Path
    text: str
    line: int  # line of the statement in the file
    placeholders: tuple[Placeholder, ...]

    @property
    def style(self) -> str | None:
        return self.placeholders[0].style if self.placeholders else None

    @property
    def names(self) -> tuple[str, ...]:
        """Distinct parameter names in order of first use."""
        return tuple(dict.fromkeys(p.name for p in self.placeholders))

    def key(self, name: str) -> str:
        """The identifier a parameter gets in the generated SQL (`tzp_0`, `tzp_1`, ...)."""
        return f"tzp_{self.names.index(name)}"

    def name_of_key(self, key: str) -> str | None:
        """The parameter name behind a generated identifier, if it is one."""
        match = re.fullmatch(r"tzp_([0-9]+)", key)
        if match and int(match.group(1)) < len(self.names):
            return self.names[int(match.group(1))]
        return None

    def label(self, name: str) -> str:
        return label(name, self.style or "colon")

    def _render(self, placeholder: str, escape_percent: bool) -> str:
        out, pos = [], 0
        for p in self.placeholders:
            chunk = self.text[pos : p.start]
            out.append(chunk.replace("%", "%%") if escape_percent else chunk)
            out.append(placeholder.format(self.key(p.name)))
            pos = p.end
        tail = self.text[pos:]
        out.append(tail.replace("%", "%%") if escape_percent else tail)
        return "".join(out)

    def psycopg_sql(self) -> str:
        """The statement with `%(tzp_N)s` placeholders (literal `%` doubled) for psycopg."""
        return self._render("%({})s", escape_percent=True)

    def sqlglot_sql(self) -> str:
        """The statement with `:tzp_N` placeholders, which sqlglot parses as Placeholder nodes."""
        return self._render(":{}", escape_percent=False)

    def bind(self, values: dict[str, Any]) -> dict[str, Any]:
        """psycopg parameters from values by parameter name; KeyError names a missing one."""
        return {self.key(name): values[name] for name in self.names}


def _find_placeholders(text: str, path: Path, base_line: int) -> list[Placeholder]:
    found: list[Placeholder] = []
    i, n = 0, len(text)
    while i < n:
        try:
            j = skip_quoted(text, i)
        except UnterminatedError as exc:
            raise ConfigError(f"{path}:{base_line + exc.line - 1}: {exc}") from None
        if j != i:
            i = j
            continue
        ch = text[i]
        prev = text[i - 1] if i else ""
        line = base_line + text.count("\n", 0, i)
        if ch == ":" and text.startswith("::", i):
            i += 2  # a cast, never a parameter
            continue
        if ch == ":" and prev != ":" and (m := _NAME.match(text, i + 1)):
            found.append(Placeholder(m.group(0), "colon", i, m.end(), line))
            i = m.end()
            continue
        if ch == "%" and (m := _PYFORMAT.match(text, i)):
            found.append(Placeholder(m.group(1).strip(), "pyformat", i, m.end(), line))
            i = m.end()
            continue
        if ch == "%" and text.startswith("%s", i):
            raise ConfigError(
                f"{path}:{line}: positional %s placeholders have no names; "
                "write %(name)s (e.g. %(embedding)s) so the guard can bind each one"
            )
        if ch == "$" and (m := _TEMPLATE.match(text, i)):
            found.append(Placeholder(m.group(1), "template", i, m.end(), line))
            i = m.end()
            continue
        if ch == "$" and not (prev.isalnum() or prev == "_") and (m := _DOLLAR.match(text, i)):
            found.append(Placeholder(m.group(1), "dollar", i, m.end(), line))
            i = m.end()
            continue
        i += 1
    styles = {p.style for p in found}
    if len(styles) > 1:
        shown = ", ".join(sorted(STYLES[s] for s in styles))
        raise ConfigError(f"{path}: the query mixes parameter styles ({shown}); use one style")
    return found


def load(path: Path) -> QueryText:
    """Read the query file; ConfigError (file:line) unless it holds exactly one SELECT statement."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the search query: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        statements = split(raw)
    except UnterminatedError as exc:
        raise ConfigError(f"{path}:{exc.line}: {exc}") from None
    if not statements:
        raise ConfigError(f"{path}: the search query file is empty; write the application's SELECT")
    if len(statements) > 1:
        raise ConfigError(
            f"{path}:{statements[1].line}: the search query file holds "
            f"{len(statements)} statements; keep only the similarity SELECT"
        )
    stmt = statements[0]
    return QueryText(
        path=path,
        text=stmt.text,
        line=stmt.line,
        placeholders=tuple(_find_placeholders(stmt.text, path, stmt.line)),
    )
