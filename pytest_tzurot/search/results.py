"""Run the query for many query vectors and judge its answers against exact search.

For each query vector the application's query runs twice under the
manifest's settings: as is (the index) and with `enable_indexscan = off`
(exact: every row read and sorted, as pgvector's own recall tests compute
ground truth). Then, independently of PostgreSQL's arithmetic, numpy
recomputes each returned row's distance from its stored embedding and checks:

- no returned row has a NULL embedding;
- rows come in non-decreasing distance order;
- selected distance / similarity columns equal the recomputed values (1e-5);
- the indexed query returns as many rows as exact search (a filter applied
  after the index scan can leave fewer than k);
- recall@k, tie-aware: a returned row counts when its distance is within
  1e-6 of the k-th exact distance, so equal-distance rows are interchangeable.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from pytest_tzurot.errors import GuardFailure
from pytest_tzurot.search.plan import planner_settings
from pytest_tzurot.search.shape import LabelledColumn

TOLERANCE = 1e-5
TIE_TOLERANCE = 1e-6


def distance(op: str, a: np.ndarray, b: np.ndarray) -> float:
    """pgvector's distance `a op b`, computed in float64 (`<#>` is the negative inner product)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if op == "<->":
        return float(np.linalg.norm(a64 - b64))
    if op == "<#>":
        return float(-np.dot(a64, b64))
    if op == "<=>":
        denom = float(np.linalg.norm(a64) * np.linalg.norm(b64))
        return float("nan") if denom == 0 else 1.0 - float(np.dot(a64, b64)) / denom
    if op == "<+>":
        return float(np.abs(a64 - b64).sum())
    raise ValueError(f"no numpy reference for {op}")


def as_array(value: Any) -> np.ndarray:
    """A stored embedding (pgvector's Vector / HalfVector or a numpy array) as a float32 array."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


def labelled_value(column: LabelledColumn, d: float) -> float:
    """The value a labelled column must hold for distance `d`."""
    return {"distance": d, "one_minus": 1.0 - d, "negated": -d}[column.form]


@dataclass
class QueryOutcome:
    """One query vector's result: ids returned by the index and by exact search, and recall."""

    returned: int
    expected: int
    recall: float
    indexed_ms: float
    exact_ms: float


@dataclass
class ResultsReport:
    """All query vectors together."""

    k: int
    outcomes: list[QueryOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return statistics.fmean(o.recall for o in self.outcomes) if self.outcomes else 0.0

    @property
    def min_recall(self) -> float:
        return min((o.recall for o in self.outcomes), default=0.0)

    @property
    def median_indexed_ms(self) -> float:
        return statistics.median(o.indexed_ms for o in self.outcomes)

    @property
    def median_exact_ms(self) -> float:
        return statistics.median(o.exact_ms for o in self.outcomes)

    @property
    def short(self) -> list[QueryOutcome]:
        """Query vectors for which the index returned fewer rows than exact search."""
        return [o for o in self.outcomes if o.returned < o.expected]


def _run(
    conn: psycopg.Connection[Any], text: str, params: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]], float]:
    with planner_settings(conn, settings):
        started = time.perf_counter()
        try:
            cur = conn.execute(text, params)  # type: ignore[arg-type]
            rows = cur.fetchall()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise GuardFailure(
                f"the search query failed on the seeded database: {first}; fix the query or its params"
            ) from None
        elapsed = (time.perf_counter() - started) * 1000
        names = [d.name for d in cur.description or ()]
    return names, rows, elapsed


def primary_key(conn: psycopg.Connection[Any], schema: str, table: str) -> str | None:
    """The single-column primary key of the table, or None."""
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (f'"{schema}"."{table}"',),
    ).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def evaluate(
    conn: psycopg.Connection[Any],
    *,
    sql_text: str,
    bind: Any,
    vectors: Sequence[np.ndarray],
    operator: str,
    schema: str,
    table: str,
    column: str,
    k: int,
    labelled: Sequence[LabelledColumn],
    settings: Mapping[str, Any],
) -> ResultsReport:
    """Run the query for every vector in `vectors`; `bind(vector)` gives the query's parameters.

    Problems (NULL embeddings, order, values, short results) are collected in the report;
    raises GuardFailure when the rows cannot be identified (no primary key selected).
    """
    pk = primary_key(conn, schema, table)
    report = ResultsReport(k=k)
    exact_settings = {**settings, "enable_indexscan": "off"}
    lookup = sql.SQL("SELECT {pk}, {col} FROM {t} WHERE {pk} = ANY(%s)").format(
        pk=sql.Identifier(pk or "id"), col=sql.Identifier(column), t=sql.Identifier(schema, table)
    )
    for number, vector in enumerate(vectors, start=1):
        params = bind(vector)
        names, rows, indexed_ms = _run(conn, sql_text, params, settings)
        _, exact_rows, exact_ms = _run(conn, sql_text, params, exact_settings)
        if pk is None or pk not in names:
            raise GuardFailure(
                f"the search query does not select the primary key of {schema}.{table} "
                f"({pk or 'none: the table needs a single-column primary key'}); select it so each returned "
                "row can be checked against its stored embedding"
            )
        at = names.index(pk)
        ids = [row[at] for row in rows]
        exact_ids = [row[at] for row in exact_rows]
        stored = dict(conn.execute(lookup, (list({*ids, *exact_ids}),)).fetchall())
        conn.rollback()

        def dist(row_id: Any, vector: np.ndarray = vector, stored: dict[Any, Any] = stored) -> float:
            emb = stored.get(row_id)
            return float("nan") if emb is None else distance(operator, as_array(emb), vector)

        got = [dist(i) for i in ids]
        exact = [dist(i) for i in exact_ids if stored.get(i) is not None]
        where = f"query vector {number}"
        if any(stored.get(i) is None for i in ids):
            report.problems.append(
                f"{where}: a returned row has a NULL embedding; add "
                f"`WHERE {column} IS NOT NULL` (NULL distances sort last and are no neighbours)"
            )
        finite = [d for d in got if d == d]
        if any(b < a - TIE_TOLERANCE for a, b in itertools.pairwise(finite)):
            report.problems.append(
                f"{where}: rows are not in non-decreasing {operator} distance order "
                f"({', '.join(f'{d:.6f}' for d in finite[:k])}); ORDER BY the distance ascending"
            )
        for lab in labelled:
            if lab.name not in names or lab.operator not in ("<->", "<#>", "<=>", "<+>"):
                continue
            col = names.index(lab.name)
            for row, row_id in zip(rows, ids, strict=True):
                emb = stored.get(row_id)
                if emb is None or row[col] is None:
                    continue
                want = labelled_value(lab, distance(lab.operator, as_array(emb), vector))
                if abs(float(row[col]) - want) > TOLERANCE:
                    report.problems.append(
                        f"{where}: column {lab.name} = {float(row[col]):.6f} for row {row_id}, but the "
                        f"exact value computed from its embedding is {want:.6f}; compute it from "
                        f"{lab.operator} as the index's distance"
                    )
                    break
        threshold = exact[-1] if exact else float("inf")
        # Tie-aware: any row as close as the k-th exact neighbour is a right answer.
        unique = dict(zip(ids, got, strict=True))
        correct = sum(1 for d in unique.values() if d == d and d <= threshold + TIE_TOLERANCE)
        expected = len(exact)
        recall = 1.0 if expected == 0 else min(correct, expected) / expected
        report.outcomes.append(
            QueryOutcome(
                returned=len(ids), expected=expected, recall=recall, indexed_ms=indexed_ms, exact_ms=exact_ms
            )
        )
    return report
