"""The search guard: per manifest `search:` entry, three built-in items.

- `search_shape[<name>]` (no database): the query parses, orders by a bare
  distance operator ascending with a LIMIT, the operator matches the index's
  opclass, similarities come from the matching distance, and an HNSW LIMIT
  fits hnsw.ef_search.
- `search_plan[<name>]`: on a fresh migrated database seeded with synthetic
  data and the index rebuilt, EXPLAIN shows an Index Scan using the index
  with an Order By and no Sort on the distance.
- `search_results[<name>]`: over >= 20 query vectors, results are ordered,
  free of NULL embeddings, carry exact distances/similarities, are as many as
  exact search finds, and reach min_recall (tie-aware recall@k).

Each check is a function of (manifest, check[, dsn]) so tests can call it on
their own database; `collect()` wraps them into GuardSpecs. The module also
provides the `tzurot_vectors` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tzurot.guards.base import GuardContext, GuardSpec, PluginSettings, fail

if TYPE_CHECKING:
    import numpy as np

    from pytest_tzurot.config import Manifest, SearchCheck
    from pytest_tzurot.search.query import QueryText
    from pytest_tzurot.search.shape import Shape
    from pytest_tzurot.search.target import IndexTarget
    from pytest_tzurot.search.vectors import VectorFactory

MIN_QUERY_VECTORS = 20
SECTION = "search"


@dataclass(frozen=True)
class Prepared:
    """The query, the index it must use (static definition) and its shape."""

    query: QueryText
    target: IndexTarget
    shape: Shape
    params: dict[str, Any]


def prepare(manifest: Manifest, check: SearchCheck) -> Prepared:
    """Read the query and analyse it; ConfigError / GuardFailure if the file or index cannot be read."""
    from pytest_tzurot.search import query as query_mod
    from pytest_tzurot.search.shape import analyse
    from pytest_tzurot.search.target import static_target

    text = query_mod.load(check.query)
    target = static_target(manifest, check.index)
    params = {query_mod.param_key(str(key)): value for key, value in check.params.items()}
    shape = analyse(text, target, k=check.k, settings=dict(check.settings), params=params)
    return Prepared(query=text, target=target, shape=shape, params=params)


def _problems(name: str, problems: list[str], limit: int = 4) -> str:
    shown = "; ".join(problems[:limit])
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return f"search check {name}: {shown}{more}"


def check_shape(manifest: Manifest, check: SearchCheck) -> Prepared:
    """search_shape: GuardFailure listing every broken rule, each with its fix."""
    prepared = prepare(manifest, check)
    if prepared.shape.problems:
        raise fail(_problems(check.name, prepared.shape.problems))
    return prepared


def _require_values(prepared: Prepared, check: SearchCheck) -> None:
    """Fail before any seeding when a query parameter has no value in the manifest."""
    shape = prepared.shape
    given = {*prepared.params, shape.vector_param, shape.limit_param}
    if shape.vector_param is None or any(name not in given for name in prepared.query.names):
        wanted = [p for p in shape.problems if "has no value" in p or "no parameter" in p]
        raise fail(_problems(check.name, wanted or ["the query has no vector parameter"]))


def _bind(prepared: Prepared, target: IndexTarget, check: SearchCheck) -> Any:
    """A function: query vector -> psycopg parameters for the query."""
    from pgvector import HalfVector, Vector

    shape = prepared.shape
    if shape.vector_param is None:
        raise fail(_problems(check.name, prepared.shape.problems or ["the query has no vector parameter"]))
    values = dict(prepared.params)
    if shape.limit_param is not None:
        values.setdefault(shape.limit_param, check.k)
    wrap = HalfVector if target.base_type == "halfvec" else Vector

    def bind(vector: np.ndarray) -> dict[str, Any]:
        return prepared.query.bind({**values, shape.vector_param: wrap(vector)})

    return bind


def seed_database(manifest: Manifest, check: SearchCheck, dsn: str, prepared: Prepared | None = None) -> None:
    """Load the check's synthetic rows into the migrated database `dsn` and rebuild the index.

    GuardFailure when a parameter has no value, the index is missing, or the rebuild reports little data.
    """
    from pytest_tzurot.connect import connect
    from pytest_tzurot.search.seed import seed
    from pytest_tzurot.search.target import live_target

    prepared = prepared or prepare(manifest, check)
    _require_values(prepared, check)
    with connect(dsn) as conn:
        live = live_target(conn, check.index, prepared.target.schema)
        conn.rollback()
        filters = {
            column: prepared.params[param]
            for param, column in prepared.shape.filters.items()
            if param in prepared.params
        }
        seed(conn, live, check.rows, filters=filters)


def _open(dsn: str, prepared: Prepared, check: SearchCheck) -> tuple[Any, IndexTarget]:
    """A connection (pgvector types registered) to the seeded database, and the live index."""
    from pgvector.psycopg import register_vector

    from pytest_tzurot.connect import connect
    from pytest_tzurot.search.target import live_target

    conn = connect(dsn)
    try:
        register_vector(conn)
        live = live_target(conn, check.index, prepared.target.schema)
        conn.rollback()
    except BaseException:
        conn.close()
        raise
    return conn, live


def _query_vectors(live: IndexTarget, check: SearchCheck, count: int) -> np.ndarray:
    """The query vectors of the seeded data (the same generator, seed and clusters)."""
    from pytest_tzurot.search.seed import normalizes
    from pytest_tzurot.search.vectors import query_vectors

    return query_vectors(check.rows, live.dimensions or 1, count, normalize=normalizes(live))


def check_plan(manifest: Manifest, check: SearchCheck, dsn: str, *, seeded: bool = False) -> Any:
    """search_plan on the migrated database `dsn` (seeded first unless `seeded`); returns the PlanFacts."""
    from pytest_tzurot.search.plan import explain

    prepared = prepare(manifest, check)
    _require_values(prepared, check)
    if not seeded:
        seed_database(manifest, check, dsn, prepared)
    conn, live = _open(dsn, prepared, check)
    try:
        bind = _bind(prepared, live, check)
        probe = _query_vectors(live, check, 1)[0]
        facts = explain(conn, prepared.query.psycopg_sql(), bind(probe), dict(check.settings), live.name)
    finally:
        conn.close()
    if not facts.ok:
        if not facts.uses_index:
            what = f"EXPLAIN shows no Index Scan using {live.name} ({live.method}, {live.opclass})"
        elif not facts.ordered_by_index:
            what = f"EXPLAIN uses {live.name} but not for the ORDER BY (no Order By on the index scan)"
        else:
            what = (
                f"EXPLAIN still sorts on the distance ({', '.join(facts.distance_sorts)}) above {live.name}"
            )
        hints = prepared.shape.problems or [
            "the planner prefers another plan with these settings and data; check the settings "
            "(e.g. ivfflat.probes close to lists makes the index no cheaper than a scan) and the filters"
        ]
        raise fail(f"search check {check.name}: {what}; plan: {facts.outline}; " + "; ".join(hints[:3]))
    return facts


def check_results(
    manifest: Manifest,
    check: SearchCheck,
    dsn: str,
    on_summary: Callable[[str], None] | None = None,
    *,
    seeded: bool = False,
) -> Any:
    """search_results on the migrated database `dsn` (seeded first unless `seeded`); returns the report.

    `on_summary` gets the figures (recall, latencies) before the verdict, so a failure reports them too.
    """
    from pytest_tzurot.search.results import evaluate

    prepared = prepare(manifest, check)
    _require_values(prepared, check)
    operator = prepared.shape.operator
    if operator is None:
        raise fail(_problems(check.name, prepared.shape.problems))
    if not seeded:
        seed_database(manifest, check, dsn, prepared)
    conn, live = _open(dsn, prepared, check)
    try:
        report = evaluate(
            conn,
            sql_text=prepared.query.psycopg_sql(),
            bind=_bind(prepared, live, check),
            vectors=_query_vectors(live, check, max(check.queries, MIN_QUERY_VECTORS)),
            operator=operator,
            schema=live.schema,
            table=live.table,
            column=live.column,
            k=check.k,
            labelled=prepared.shape.labelled,
            settings=dict(check.settings),
        )
    finally:
        conn.close()
    if on_summary is not None and report.outcomes:
        on_summary(summary_line(check, report))
    judge_results(check, live, report)
    return report


def summary_line(check: SearchCheck, report: Any) -> str:
    """recall@k and median latencies, for the run summary."""
    ratio = report.median_exact_ms / report.median_indexed_ms if report.median_indexed_ms else 0.0
    return (
        f"{check.name}: recall@{check.k} {report.recall:.3f} (worst query {report.min_recall:.2f}, "
        f"{len(report.outcomes)} queries, {check.rows} rows, {_settings_text(check)}); "
        f"median latency {report.median_indexed_ms:.2f} ms indexed vs {report.median_exact_ms:.2f} ms "
        f"exact ({ratio:.1f}x)"
    )


def _tuning_hint(target: IndexTarget, settings: dict[str, Any], filtered: bool) -> str:
    """What to change: search wider; for a filter that starves the scan, iterative scans too."""
    if target.method == "hnsw":
        ef = settings.get("hnsw.ef_search", 40)
        wider = f"raise hnsw.ef_search (now {ef}) under settings and in the application"
        iterative = "hnsw.iterative_scan: strict_order"
    else:
        probes = settings.get("ivfflat.probes", 1)
        lists = target.options.get("lists", "100")
        wider = (
            f"raise ivfflat.probes (now {probes}, lists = {lists}; e.g. sqrt(lists)) under settings "
            "and in the application"
        )
        iterative = "ivfflat.iterative_scan: relaxed_order (and re-sort its rows)"
    return f"{wider}, or set {iterative} (pgvector >= 0.8)" if filtered else wider


def _settings_text(check: SearchCheck) -> str:
    return ", ".join(f"{k} = {v}" for k, v in check.settings.items()) or "default settings"


def judge_results(check: SearchCheck, target: IndexTarget, report: Any) -> None:
    """Raise GuardFailure (with the fix) when the results report breaks a rule or misses min_recall."""
    n = len(report.outcomes)
    settings = dict(check.settings)
    if report.problems:
        raise fail(_problems(check.name, report.problems))
    recall = ""
    if report.recall < check.min_recall:
        recall = f"recall@{check.k} = {report.recall:.3f} < min_recall {check.min_recall}"
    if report.short:
        worst = min(report.short, key=lambda o: o.returned)
        also = f" ({recall})" if recall else ""
        raise fail(
            f"search check {check.name}: the index returned fewer rows than exist for {len(report.short)} of "
            f"{n} query vectors (e.g. {worst.returned} instead of {worst.expected}): the filter is applied "
            f"after the index scan, which stops early{also}; {_tuning_hint(target, settings, True)}"
        )
    if recall:
        raise fail(
            f"search check {check.name}: {recall} over {n} query vectors on {check.rows} clustered rows; "
            f"{_tuning_hint(target, settings, False)}"
        )


def collect(manifest: Manifest, settings: PluginSettings) -> Iterable[GuardSpec]:
    """Three items per search check: shape (static), plan and results (each on its own seeded clone)."""
    for position, check in enumerate(manifest.search):
        yield GuardSpec(id=f"search_shape[{check.name}]", run=_shape_item(check), needs_database=False)
        yield GuardSpec(id=f"search_plan[{check.name}]", run=_plan_item(position, check), needs_database=True)
        yield GuardSpec(
            id=f"search_results[{check.name}]", run=_results_item(position, check), needs_database=True
        )


def _shape_item(check: SearchCheck) -> Any:
    def run(ctx: GuardContext) -> None:
        prepared = check_shape(ctx.manifest, check)
        ctx.summary(
            SECTION,
            f"{check.name}: shape ok (ORDER BY {prepared.target.column} "
            f"{prepared.shape.operator} ... LIMIT {prepared.shape.limit}, {prepared.target.opclass})",
        )

    return run


def _seeded_clone(ctx: GuardContext, position: int, check: SearchCheck) -> Any:
    from pytest_tzurot.search.seeded_template import seeded_clone

    return seeded_clone(
        ctx.run_state, position, check.name, lambda dsn: seed_database(ctx.manifest, check, dsn)
    )


def _plan_item(position: int, check: SearchCheck) -> Any:
    def run(ctx: GuardContext) -> None:
        with _seeded_clone(ctx, position, check) as dsn:
            facts = check_plan(ctx.manifest, check, dsn, seeded=True)
        ctx.summary(SECTION, f"{check.name}: plan {facts.outline}")

    return run


def _results_item(position: int, check: SearchCheck) -> Any:
    def run(ctx: GuardContext) -> None:
        with _seeded_clone(ctx, position, check) as dsn:
            check_results(
                ctx.manifest, check, dsn, on_summary=lambda line: ctx.summary(SECTION, line), seeded=True
            )

    return run


@pytest.fixture
def tzurot_vectors() -> VectorFactory:
    """The search guard's deterministic vector generator and safe vector literal, for your own tests."""
    from pytest_tzurot.search.vectors import VectorFactory

    return VectorFactory()
