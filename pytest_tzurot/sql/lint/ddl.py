"""PostgreSQL text for the fix hints: identifier quoting and a protected index's CREATE INDEX."""

from __future__ import annotations

import re

from pytest_tzurot.config import ProtectedIndex

_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
# PostgreSQL's reserved key words (cannot be bare identifiers).
_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "system_user",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ]
)


def quote(identifier: str) -> str:
    """`identifier` as PostgreSQL needs it written: bare when it folds to itself, else double-quoted."""
    if _PLAIN.match(identifier) and identifier not in _RESERVED:
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def create_index_sql(index: ProtectedIndex) -> str:
    """The exact statement that (re)creates `index` as the manifest declares it."""
    options = ", ".join(f"{key} = {value}" for key, value in index.with_options.items())
    with_clause = f" WITH ({options})" if options else ""
    return (
        f"CREATE INDEX IF NOT EXISTS {quote(index.name)} ON {quote(index.schema)}.{quote(index.table)}"
        f" USING {index.method} ({quote(index.column)} {index.opclass}){with_clause};"
    )
