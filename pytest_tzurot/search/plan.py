"""Run the query under the manifest's planner settings and read its EXPLAIN plan.

Settings are applied with `set_config(name, value, true)` inside the
transaction (SET LOCAL semantics, values bound, never formatted into SQL);
names are checked against PostgreSQL's setting-name syntax first, and the
server's own error for an unknown name or a bad value becomes a one-line
GuardFailure. `explain()` returns the JSON plan's facts: whether the declared
index serves the ORDER BY (an Index Scan with Order By) and whether a Sort on
a distance remains.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pytest_tzurot.errors import GuardFailure
from pytest_tzurot.sql.dialect import METRICS

SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_VECTOR_LITERAL = re.compile(r"'\[[^'\]]{24,}\]'")
_DISTANCE = re.compile("|".join(re.escape(op) for op in METRICS))


def setting_value(value: Any) -> str:
    """A manifest value as PostgreSQL's text form (true -> on)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


@contextmanager
def planner_settings(conn: psycopg.Connection[Any], settings: Mapping[str, Any]) -> Iterator[None]:
    """A transaction with `settings` applied locally; rolled back afterwards (nothing persists)."""
    for name in settings:
        if not SETTING_NAME.match(str(name)):
            raise GuardFailure(f"settings: {name!r} is not a PostgreSQL setting name (e.g. ivfflat.probes)")
    try:
        # Load pgvector first so its settings (ivfflat.probes, ...) are validated, not taken as placeholders.
        conn.execute("SELECT '[1]'::vector")
        for name, value in settings.items():
            try:
                conn.execute("SELECT set_config(%s, %s, true)", (str(name), setting_value(value)))
            except psycopg.Error as exc:
                first = str(exc).strip().splitlines()[0]
                raise GuardFailure(
                    f"settings: {name} = {value!r}: {first}; fix it under settings: of the search check"
                ) from None
        yield
    finally:
        conn.rollback()


@dataclass
class PlanFacts:
    """What EXPLAIN says about the query."""

    plan: dict[str, Any]
    uses_index: bool = False  # an Index Scan on the declared index
    ordered_by_index: bool = False  # ... with an Order By (the index yields rows in distance order)
    distance_sorts: list[str] = field(default_factory=list)  # Sort keys that contain a distance
    outline: str = ""  # one line: Limit > Sort (...) > Seq Scan on memories

    @property
    def ok(self) -> bool:
        return self.uses_index and self.ordered_by_index and not self.distance_sorts


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _walk(child)


def _describe(node: dict[str, Any]) -> str:
    text = node["Node Type"]
    if "Index Name" in node:
        text += f" using {node['Index Name']}"
    if "Relation Name" in node:
        text += f" on {node['Relation Name']}"
    if "Sort Key" in node:
        text += f" ({', '.join(node['Sort Key'])})"
    # The bound query vector appears as a long literal; one line must stay readable.
    return _VECTOR_LITERAL.sub("'[...]'", text)


def facts(plan: dict[str, Any], index: str) -> PlanFacts:
    """Read a `EXPLAIN (FORMAT JSON)` plan's root node for the declared index."""
    result = PlanFacts(plan=plan)
    for node in _walk(plan):
        if node.get("Index Name") == index and node["Node Type"] in ("Index Scan", "Index Only Scan"):
            result.uses_index = True
            if node.get("Order By"):
                result.ordered_by_index = True
        if "Sort" in node["Node Type"]:
            keys = [key for key in node.get("Sort Key", ()) if _DISTANCE.search(key)]
            result.distance_sorts.extend(keys)
    result.outline = " > ".join(_describe(node) for node in _walk(plan))
    return result


def explain(
    conn: psycopg.Connection[Any],
    sql_text: str,
    params: Mapping[str, Any],
    settings: Mapping[str, Any],
    index: str,
) -> PlanFacts:
    """EXPLAIN (FORMAT JSON) of the query with its parameters bound, under `settings`."""
    with planner_settings(conn, settings):
        try:
            row = conn.execute("EXPLAIN (FORMAT JSON) " + sql_text, params).fetchone()  # type: ignore[arg-type]
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise GuardFailure(
                f"EXPLAIN of the search query failed on the migrated database: {first}; "
                "fix the query (it must run against the schema the migrations build)"
            ) from None
    assert row is not None
    document = row[0]
    return facts(document[0]["Plan"], index)
