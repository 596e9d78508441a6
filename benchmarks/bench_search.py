"""Benchmark the search guard on the example schema: 20,000 rows of 384 dimensions.

Run: `python benchmarks/bench_search.py [--rows 20000] [--queries 20] [--repeat 3]`.
Prints Markdown tables, measured in one run on this machine (compare ratios across machines):

1. the three items of `ci.yml`'s `memory_similarity` check (the repository's own
   query: one personality's memories by cosine distance, ivfflat lists = 50,
   probes = 10) as the plugin runs them: `pytest -p pytest_tzurot ci.yml -k search
   --durations=0` in a fresh process, `--repeat` times; the item times are pytest's
   call durations (the first of plan/results seeds the shared seeded template),
   the wall time includes interpreter start, server start and the migrated template.
2. where seeding's time goes (one database, in-process): generating the vectors,
   COPY + INSERT ... SELECT, REINDEX + ANALYZE.
3. recall@10 and median latency of the indexed query vs exact search
   (`enable_indexscan = off`) for ivfflat.probes 1, 5, 10, 20 on one seeded database.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_tzurot import config, server  # noqa: E402
from pytest_tzurot.connect import connect  # noqa: E402
from pytest_tzurot.databases import Janitor, new_run_id  # noqa: E402
from pytest_tzurot.guards import search as guard  # noqa: E402
from pytest_tzurot.migrations import deploy  # noqa: E402
from pytest_tzurot.search import results, seed, target, vectors  # noqa: E402
from pytest_tzurot.server.base import ServerSettings  # noqa: E402


def timed(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = func(*args, **kwargs)
    return value, time.perf_counter() - started


def pytest_items(repeat: int) -> None:
    """Table 1: the items' call durations and the wall time of the whole pytest process."""
    pattern = re.compile(r"([0-9.]+)s call\s+ci\.yml::(search_\w+)\[")
    times: dict[str, list[float]] = {"search_shape": [], "search_plan": [], "search_results": []}
    walls = []
    for _ in range(repeat):
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
                "--durations=0",
                "--durations-min=0",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(done.stdout[-2000:])
            raise SystemExit(f"pytest failed with exit {done.returncode}")
        for seconds, item in pattern.findall(done.stdout):
            times[item].append(float(seconds))
    med = statistics.median
    print("| item (pytest call duration) | seconds |\n|---|---|")
    for item, values in times.items():
        print(f"| {item}[memory_similarity] | {med(values):.2f} |")
    total = sum(med(v) for v in times.values())
    print(f"| **three items together** | **{total:.2f}** |")
    print(f"| whole `pytest ci.yml -k search` process (wall) | {med(walls):.2f} |\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    manifest = config.load(ROOT / "ci.yml")
    check = dataclasses.replace(manifest.search[0], rows=args.rows, queries=args.queries)
    print(
        f"rows {args.rows}, dim 384, {max(args.queries, guard.MIN_QUERY_VECTORS)} query vectors, "
        f"median of {args.repeat}\n"
    )
    pytest_items(args.repeat)

    srv = server.start(ServerSettings())
    janitor = Janitor(srv.dsn, new_run_id(), srv.server_version_num)
    created: list[str] = []

    def fresh(label: str) -> str:
        name = janitor.create(f"{label}_{len(created)}")
        created.append(name)
        dsn = janitor.dsn(name)
        deploy(dsn, manifest.migrations.dir, history_table=manifest.migrations.history_table)
        return dsn

    try:
        print(f"PostgreSQL {srv.server_version}, pgvector {srv.pgvector_version}\n")
        gen, load, rebuild = [], [], []
        prepared = guard.prepare(manifest, check)
        for _ in range(args.repeat):
            _, seconds = timed(vectors.generate, check.rows, 384)
            gen.append(seconds)
            dsn = fresh("seed")
            with connect(dsn) as conn:
                live = target.live_target(conn, check.index)
                conn.rollback()
                result = seed.seed(
                    conn, live, check.rows, filters={"personality_id": check.params["personality_id"]}
                )
            load.append(result.load_seconds)
            rebuild.append(result.rebuild_seconds)
        med = statistics.median
        print("| seeding step | seconds |\n|---|---|")
        print(f"| generate 20k x 384 vectors (numpy) | {med(gen):.2f} |")
        print(f"| load: COPY binary into a temp table + INSERT ... SELECT | {med(load):.2f} |")
        print(f"| REINDEX + ANALYZE | {med(rebuild):.2f} |\n")

        # Recall / latency per probes on the last seeded database.
        conn, live = guard._open(dsn, prepared, check)
        bind = guard._bind(prepared, live, check)
        queries = guard._query_vectors(live, check, max(args.queries, guard.MIN_QUERY_VECTORS))
        print(
            "| ivfflat.probes (lists = 50) | recall@10 | worst query | median indexed ms | "
            "median exact ms | speed-up |\n|---|---|---|---|---|---|"
        )
        for probes in (1, 5, 10, 20):
            rep = results.evaluate(
                conn,
                sql_text=prepared.query.psycopg_sql(),
                bind=bind,
                vectors=queries,
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
        for name in created:
            janitor.drop(name)
        server.stop(srv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
