"""Benchmark the search guard on the example schema: 20,000 rows of 384 dimensions.

Run: `python benchmarks/bench_search.py [--rows 20000] [--queries 20] [--repeat 3]`.
Prints Markdown tables, measured in one run on this machine (compare ratios across machines):

1. the three items of `ci.yml`'s `memory_similarity` check (the repository's own
   query: one personality's memories by cosine distance, ivfflat lists = 50,
   probes = 10), each on its own migrated database as the plugin runs them, with
   the seeding broken down (COPY + INSERT, REINDEX). Server start and the
   migrated template are per run, shared by every item, and reported apart.
   Each item is run `--repeat` times; the median is shown.
2. recall@10 and median latency of the indexed query vs exact search
   (`enable_indexscan = off`) for ivfflat.probes 1, 5, 10, 20 on one seeded database.
3. the wall time of `pytest -p pytest_tzurot ci.yml -k search` (a fresh process:
   interpreter, server start, template, the three items).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_tzurot import config, server  # noqa: E402
from pytest_tzurot.databases import Janitor, new_run_id  # noqa: E402
from pytest_tzurot.guards import search as guard  # noqa: E402
from pytest_tzurot.migrations import deploy  # noqa: E402
from pytest_tzurot.search import results, seed  # noqa: E402
from pytest_tzurot.server.base import ServerSettings  # noqa: E402


def timed(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = func(*args, **kwargs)
    return value, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    manifest = config.load(ROOT / "ci.yml")
    check = dataclasses.replace(manifest.search[0], rows=args.rows, queries=args.queries)
    srv, start_s = timed(server.start, ServerSettings())
    janitor = Janitor(srv.dsn, new_run_id(), srv.server_version_num)
    created: list[str] = []

    def fresh(label: str) -> str:
        name = janitor.create(f"{label}_{len(created)}")
        created.append(name)
        dsn = janitor.dsn(name)
        deploy(dsn, manifest.migrations.dir, history_table=manifest.migrations.history_table)
        return dsn

    # Seeding breakdown: wrap seed() to keep its timings.
    seed_runs: list[seed.SeedResult] = []
    original = seed.seed

    def recording_seed(*a, **kw):  # type: ignore[no-untyped-def]
        result = original(*a, **kw)
        seed_runs.append(result)
        return result

    seed.seed = recording_seed  # type: ignore[assignment]
    try:
        shape_t, plan_t, results_t, migrate_t = [], [], [], []
        report = None
        for _ in range(args.repeat):
            _, s = timed(guard.check_shape, manifest, check)
            shape_t.append(s)
            dsn, m = timed(fresh, "plan")
            migrate_t.append(m)
            _, s = timed(guard.check_plan, manifest, check, dsn)
            plan_t.append(s)
            dsn = fresh("results")
            report, s = timed(guard.check_results, manifest, check, dsn)
            results_t.append(s)
        med = statistics.median
        load = med(r.load_seconds for r in seed_runs)
        rebuild = med(r.rebuild_seconds for r in seed_runs)
        total = med(shape_t) + med(plan_t) + med(results_t)
        print(
            f"PostgreSQL {srv.server_version}, pgvector {srv.pgvector_version}, rows {args.rows}, "
            f"dim 384, {max(args.queries, guard.MIN_QUERY_VECTORS)} query vectors, median of {args.repeat}\n"
        )
        print("| step | seconds |\n|---|---|")
        print(f"| server start (once per run) | {start_s:.2f} |")
        print(f"| migrated database (template clone in the plugin; here: deploy) | {med(migrate_t):.2f} |")
        print(f"| search_shape | {med(shape_t):.3f} |")
        print(f"| search_plan (seed + rebuild + EXPLAIN) | {med(plan_t):.2f} |")
        print(
            f"| search_results (seed + rebuild + {2 * len(report.outcomes)} queries) | {med(results_t):.2f} |"
        )
        print(f"| of which: load 20k rows (COPY binary + INSERT ... SELECT) | {load:.2f} |")
        print(f"| of which: REINDEX + ANALYZE | {rebuild:.2f} |")
        print(f"| **three items together** | **{total:.2f}** |\n")

        # Recall / latency per probes on one seeded database.
        prepared = guard.prepare(manifest, check)
        conn, live, seeded = guard._seeded(fresh("probes"), prepared, check)
        bind = guard._bind(prepared, live, check)
        vectors = seeded.dataset.queries(max(args.queries, guard.MIN_QUERY_VECTORS))
        print(
            "| ivfflat.probes (lists = 50) | recall@10 | worst query | median indexed ms | "
            "median exact ms | speed-up |\n|---|---|---|---|---|---|"
        )
        for probes in (1, 5, 10, 20):
            rep = results.evaluate(
                conn,
                sql_text=prepared.query.psycopg_sql(),
                bind=bind,
                vectors=vectors,
                operator="<=>",
                schema=live.schema,
                table=live.table,
                column=live.column,
                k=check.k,
                labelled=prepared.shape.labelled,
                settings={"ivfflat.probes": probes},
            )
            ratio = rep.median_exact_ms / rep.median_indexed_ms
            print(
                f"| {probes} | {rep.recall:.3f} | {rep.min_recall:.2f} | {rep.median_indexed_ms:.2f} | "
                f"{rep.median_exact_ms:.2f} | {ratio:.1f}x |"
            )
        conn.close()
    finally:
        seed.seed = original  # type: ignore[assignment]
        for name in created:
            janitor.drop(name)
        server.stop(srv)

    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "pytest_tzurot",
            "ci.yml",
            "-k",
            "search",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    status = "passed" if done.returncode == 0 else f"exit {done.returncode}"
    print(
        f"\n`pytest -p pytest_tzurot ci.yml -k search` wall time: {wall:.2f} s ({status}; "
        "includes interpreter, server start and template)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
