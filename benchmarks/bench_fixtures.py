"""Benchmark the database fixtures: server start, template build, per-test clone vs re-migrate.

Run: `python benchmarks/bench_fixtures.py [--clones 60] [--remigrations 10] [--migrations 100]`.
Prints a Markdown table. The figures are medians (and p95 where stated) measured in
one run on this machine; compare the ratios, not the absolute times, across machines.

What is measured, with the embedded backend:
- cold start: the first server start with an empty initdb cache (runs initdb), and a
  start with the cache warm (copies the cached cluster); both include the first connect.
- template build: CREATE DATABASE + CREATE EXTENSION vector + applying a generated
  corpus of N migrations (the one-off cost per run).
- clone: what `tzurot_db` does per test (`Janitor.create(..., template=...)`), for
  `STRATEGY FILE_COPY` and `STRATEGY WAL_LOG`, and the DROP after the test.
- re-migrate: the alternative without a template, per test: an empty database plus
  all N migrations applied.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_tzurot import server
from pytest_tzurot.connect import connect
from pytest_tzurot.databases import Janitor, new_run_id
from pytest_tzurot.migrations import deploy
from pytest_tzurot.server import embedded
from pytest_tzurot.server.base import ServerSettings

EXAMPLE_MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def write_corpus(directory: Path, count: int) -> None:
    """`count` migrations in flat layout, shaped like an application's history: tables with
    foreign keys and indexes, added columns, a vector column with an ivfflat index, a function."""
    for i in range(count):
        kind = i % 5
        if kind == 0 or i < 5:
            body = (
                f"CREATE TABLE t{i} (id bigserial PRIMARY KEY, name text NOT NULL,\n"
                f"  created_at timestamptz NOT NULL DEFAULT now(), payload jsonb);\n"
                f"CREATE INDEX t{i}_created_at_idx ON t{i} (created_at);\n"
            )
        elif kind == 1:
            body = (
                f"ALTER TABLE t{i - 1 - (i - 1) % 5} ADD COLUMN c{i} integer DEFAULT 0;\n"
                f"CREATE INDEX c{i}_idx ON t{i - 1 - (i - 1) % 5} (c{i});\n"
            )
        elif kind == 2:
            body = (
                f"CREATE TABLE v{i} (id bigserial PRIMARY KEY, owner bigint REFERENCES t{i - 2} (id),\n"
                f"  embedding vector(384));\n"
                f"CREATE INDEX v{i}_embedding_idx ON v{i} USING ivfflat (embedding vector_cosine_ops)"
                f" WITH (lists = 10);\n"
            )
        elif kind == 3:
            body = (
                f"CREATE OR REPLACE FUNCTION f{i}(x integer) RETURNS integer\n"
                f"  LANGUAGE sql IMMUTABLE AS $$ SELECT x + {i} $$;\n"
                f"COMMENT ON FUNCTION f{i}(integer) IS 'generated migration {i}';\n"
            )
        else:
            body = (
                f"CREATE TYPE s{i} AS ENUM ('new', 'active', 'archived');\n"
                f"ALTER TABLE t{i - 4} ADD COLUMN state{i} s{i} NOT NULL DEFAULT 'new';\n"
                f"CREATE UNIQUE INDEX u{i}_idx ON t{i - 4} (name, state{i});\n"
            )
        (directory / f"{i:04d}_generated_{i}.sql").write_text(body)


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def shared_folder() -> Path:
    """An empty cache folder on the same file system as the default cache (so a cold start is
    measured as users get it), that the server's unprivileged user can enter."""
    path = Path(tempfile.mkdtemp(prefix="tzurot-bench-", dir=embedded.cache_root().parent))
    path.chmod(0o755)
    return path


def bench_start(cold_runs: int, warm_runs: int) -> tuple[list[float], list[float], list[float]]:
    """Start times with an empty initdb cache and with a warm one, and stop times."""
    cold: list[float] = []
    warm: list[float] = []
    stops: list[float] = []
    previous = os.environ.get("TZUROT_CACHE_DIR")
    folder = shared_folder()
    try:
        for i in range(cold_runs):
            os.environ["TZUROT_CACHE_DIR"] = str(folder / f"cache{i}")
            start = time.perf_counter()
            srv = server.start(ServerSettings())
            cold.append(time.perf_counter() - start)
            stops.append(timed(lambda srv=srv: server.stop(srv)))
        os.environ["TZUROT_CACHE_DIR"] = str(folder / "cache0")
        for _ in range(warm_runs):
            start = time.perf_counter()
            srv = server.start(ServerSettings())
            warm.append(time.perf_counter() - start)
            stops.append(timed(lambda srv=srv: server.stop(srv)))
    finally:
        if previous is None:
            os.environ.pop("TZUROT_CACHE_DIR", None)
        else:
            os.environ["TZUROT_CACHE_DIR"] = previous
        shutil.rmtree(folder, ignore_errors=True)
    return cold, warm, stops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=int, default=60, help="clones per strategy (>= 50)")
    parser.add_argument("--remigrations", type=int, default=10, help="re-migrate samples")
    parser.add_argument("--migrations", type=int, default=100, help="size of the generated corpus")
    parser.add_argument("--cold", type=int, default=3, help="starts with an empty initdb cache")
    parser.add_argument("--warm", type=int, default=10, help="starts with the initdb cache warm")
    args = parser.parse_args()

    inst = embedded.installation()
    pg_version, pgvector = embedded.installed_versions()
    scratch = embedded.scratch_root() or tempfile.gettempdir()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# embedded PostgreSQL {pg_version}, pgvector {pgvector}; data dir under {scratch}; "
          f"server user {inst.run_as or 'current'}; {os.cpu_count()} CPUs; load average {load}")

    cold, warm, stops = bench_start(args.cold, args.warm)

    corpus = Path(tempfile.mkdtemp(prefix="tzurot-corpus-"))
    write_corpus(corpus, args.migrations)
    srv = server.start(ServerSettings())
    janitor = Janitor(srv.dsn, new_run_id(), srv.server_version_num)
    rows: list[tuple[str, str, str]] = []
    try:
        def build_template() -> str:
            name = janitor.create("template")
            with connect(janitor.dsn(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            deploy(janitor.dsn(name), corpus)
            janitor.freeze_template(name)
            return name

        start = time.perf_counter()
        template = build_template()
        template_s = time.perf_counter() - start
        with connect(srv.dsn, autocommit=True) as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", (template,)).fetchone()[0]

        example = janitor.create("example")
        with connect(janitor.dsn(example), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        deploy(janitor.dsn(example), EXAMPLE_MIGRATIONS)
        janitor.freeze_template(example)
        with connect(srv.dsn, autocommit=True) as conn:
            example_size = conn.execute(
                "SELECT pg_size_pretty(pg_database_size(%s))", (example,)).fetchone()[0]
        # FILE_COPY clones, example clones and re-migrations in interleaved rounds, so the
        # ratio sees one load on a shared machine; WAL_LOG clones in their own block after, as
        # they leave 12 MB of dirty buffers that the next FILE_COPY checkpoint would pay for.
        example_clones: list[float] = []
        clone_create: dict[str, list[float]] = {"file_copy": [], "wal_log": []}
        clone_drop: dict[str, list[float]] = {"file_copy": [], "wal_log": []}
        remigrate: list[float] = []
        every = max(1, args.clones // args.remigrations)

        def clone_once(strategy: str, i: int) -> None:
            start = time.perf_counter()
            name = janitor.create(f"{strategy}_{i}", template=template, strategy=strategy)
            clone_create[strategy].append(time.perf_counter() - start)
            clone_drop[strategy].append(timed(lambda: janitor.drop(name)))

        for i in range(args.clones):
            clone_once("file_copy", i)
            start = time.perf_counter()
            name = janitor.create(f"example_{i}", template=example)
            example_clones.append(time.perf_counter() - start)
            janitor.drop(name)
            if i % every == 0 and len(remigrate) < args.remigrations:
                def migrate_fresh(i: int = i) -> None:
                    name = janitor.create(f"remigrate_{i}")
                    with connect(janitor.dsn(name), autocommit=True) as conn:
                        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                    deploy(janitor.dsn(name), corpus)

                remigrate.append(timed(migrate_fresh))
                janitor.drop(f"{janitor.prefix}remigrate_{i}")
        for i in range(args.clones):
            clone_once("wal_log", i)
    finally:
        janitor.close()
        server.stop(srv)
        shutil.rmtree(corpus, ignore_errors=True)

    best = min(clone_create, key=lambda s: median_ms(clone_create[s]))
    ratio = median_ms(remigrate) / median_ms(clone_create[best])
    rows = [
        ("server cold start, empty initdb cache (runs initdb)",
         f"{median_ms(cold):.0f} ms", f"median of {len(cold)}"),
        ("server start, initdb cache warm", f"{median_ms(warm):.0f} ms",
         f"median of {len(warm)}, p95 {p95_ms(warm):.0f} ms"),
        ("server stop", f"{median_ms(stops):.0f} ms", f"median of {len(stops)}"),
        (f"template build ({args.migrations} migrations, template {size})", f"{template_s * 1000:.0f} ms",
         "once per run"),
    ]
    for strategy in ("file_copy", "wal_log"):
        rows.append((f"clone per test, STRATEGY {strategy.upper()} ({args.migrations}-migration template)",
                     f"{median_ms(clone_create[strategy]):.1f} ms",
                     f"median of {args.clones}, p95 {p95_ms(clone_create[strategy]):.1f} ms"))
        rows.append((f"drop after test ({strategy.upper()} clone)",
                     f"{median_ms(clone_drop[strategy]):.1f} ms",
                     f"median of {args.clones}, p95 {p95_ms(clone_drop[strategy]):.1f} ms"))
    rows.append((f"clone per test, FILE_COPY, example schema (migrations/, template {example_size})",
                 f"{median_ms(example_clones):.1f} ms",
                 f"median of {args.clones}, p95 {p95_ms(example_clones):.1f} ms"))
    rows.append((f"re-migrate per test ({args.migrations} migrations on an empty database)",
                 f"{median_ms(remigrate):.0f} ms", f"median of {len(remigrate)}"))
    rows.append((f"clone ({best.upper()}) vs re-migrate", f"{ratio:.0f}x faster", "ratio of medians"))

    width = max(len(r[0]) for r in rows)
    print(f"| {'measurement'.ljust(width)} | result | samples |")
    print(f"|{'-' * (width + 2)}|--------|---------|")
    for label, value, note in rows:
        print(f"| {label.ljust(width)} | {value} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
