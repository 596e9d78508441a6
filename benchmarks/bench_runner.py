"""Benchmark: `deploy()` of a generated corpus vs. the same files executed by a plain psycopg loop.

Usage: .venv/bin/python benchmarks/bench_runner.py [--migrations 200] [--rounds 15] [--dsn ADMIN_DSN]

Starts the embedded PostgreSQL (unless --dsn names a server), generates N
migrations shaped like an application's (tables, indexes, added columns,
seed rows, a trigger function), and for each round deploys them into a fresh
database twice: once with the runner (lock, history table, one transaction per
migration, non-transactional detection, fingerprint) and once with a loop that
sends each file as one query on an autocommit connection (PostgreSQL runs a
multi-statement query as one implicit transaction: the cheapest safe baseline).
Prints the median times and their ratio (target: runner <= 1.3x the loop), a
diagnostic run with the worker thread that processes with other threads get
instead of the forked fingerprint child, and the machine's parallel CPU
capacity at the time: the child overlaps the server's work only when a
second core is really free (a shared VM may give less than its core count).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_tzurot import server as server_mod  # noqa: E402
from pytest_tzurot.connect import connect  # noqa: E402
from pytest_tzurot.databases import Janitor, new_run_id  # noqa: E402
from pytest_tzurot.migrations import deploy, discover  # noqa: E402
from pytest_tzurot.server.base import ServerSettings  # noqa: E402


def migration_sql(n: int) -> str:
    """The n-th generated migration: a mix of DDL and data, like a real schema history."""
    kind = n % 5
    if n < 5 or kind == 0:
        return (
            f"-- CreateTable\nCREATE TABLE \"entity_{n}\" (\n    \"id\" BIGSERIAL NOT NULL,\n"
            f"    \"name\" TEXT NOT NULL,\n    \"created_at\" TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
            f"    \"payload\" JSONB,\n    CONSTRAINT \"entity_{n}_pkey\" PRIMARY KEY (\"id\")\n);\n\n"
            f"-- CreateIndex\nCREATE INDEX \"entity_{n}_name_idx\" ON \"entity_{n}\"(\"name\");\n"
        )
    base = n - kind
    if kind == 1:
        return (
            f"-- AlterTable\nALTER TABLE \"entity_{base}\"\n"
            f"    ADD COLUMN \"status_{n}\" TEXT NOT NULL DEFAULT 'new';\n"
            f"CREATE INDEX \"entity_{base}_status_{n}_idx\" ON \"entity_{base}\"(\"status_{n}\");\n"
        )
    if kind == 2:
        rows = ", ".join(f"('seed {n}-{i}', '{{\"i\": {i}}}')" for i in range(20))
        return f"-- Seed\nINSERT INTO \"entity_{base}\" (\"name\", \"payload\") VALUES {rows};\n"
    if kind == 3:
        return (
            f"CREATE OR REPLACE FUNCTION touch_{n}() RETURNS trigger AS $$\nBEGIN\n"
            f"  NEW.created_at := now();\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n\n"
            f"CREATE TRIGGER entity_{base}_touch_{n} BEFORE UPDATE ON \"entity_{base}\"\n"
            f"  FOR EACH ROW EXECUTE FUNCTION touch_{n}();\n"
        )
    return (
        f"CREATE TABLE \"link_{n}\" (\"entity_id\" BIGINT NOT NULL REFERENCES \"entity_{base}\"(\"id\")"
        f" ON DELETE CASCADE, \"note\" TEXT);\nCOMMENT ON TABLE \"link_{n}\" IS 'links; generated';\n"
    )


def generate(directory: Path, count: int, salt: str = "") -> None:
    """Write the corpus; `salt` (a leading comment) makes each round's files new bytes, so no
    content-keyed cache carries over from one round to the next."""
    for n in range(count):
        folder = directory / f"{20250101000000 + n:014d}_step_{n}"
        folder.mkdir(parents=True)
        (folder / "migration.sql").write_text(f"-- generated {salt}\n{migration_sql(n)}")


def plain_loop(dsn: str, directory: Path) -> float:
    """The baseline: find the files in name order, send each as one query, nothing else."""
    started = time.perf_counter()
    files = sorted(directory.glob("*/migration.sql"))
    with connect(dsn, autocommit=True) as conn:
        for path in files:
            conn.execute(path.read_bytes())
    return time.perf_counter() - started


def runner(dsn: str, directory: Path) -> float:
    started = time.perf_counter()
    result = deploy(dsn, directory)
    elapsed = time.perf_counter() - started
    assert len(result.applied) == len(discover(directory))
    return elapsed


def runner_with_thread(dsn: str, directory: Path) -> float:
    """Diagnostic: the runner as a process with other threads runs it (pytest-xdist workers, a
    threaded service): fingerprints in a worker thread instead of a forked child."""
    import pytest_tzurot.migrations.background as background

    real = background._fork_is_safe
    background._fork_is_safe = lambda: False
    try:
        return runner(dsn, directory)
    finally:
        background._fork_is_safe = real


def fingerprint_only(directory: Path) -> float:
    from pytest_tzurot.sql.fingerprint import fingerprint

    texts = [m.sql for m in discover(directory)]
    started = time.perf_counter()
    for text in texts:
        fingerprint(text)
    return time.perf_counter() - started


def settle(admin_dsn: str) -> None:
    """Start each timed run from the same server state: the WAL of the previous run and of
    CREATE DATABASE checkpointed, and the background writers idle again."""
    with connect(admin_dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    time.sleep(0.2)


_SPIN = (
    "import time\nstarted = time.perf_counter()\ntotal = 0\nfor i in range(4_000_000):\n    total += i\n"
    "print(time.perf_counter() - started)"
)


def parallel_capacity() -> float:
    """How many CPU-bound processes this machine runs at full speed at once (up to 2): the
    runner's fingerprints overlap the server's work only when this is near 2."""
    import subprocess

    def spin(count: int) -> float:
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
                 for _ in range(count)]
        return max(float(proc.communicate()[0]) for proc in procs)

    alone = min(spin(1) for _ in range(2))
    together = min(spin(2) for _ in range(2))
    return min(2.0, 2 * alone / together)


PLAIN = "plain psycopg loop (1 query per file)"
METHODS = {
    PLAIN: plain_loop,
    "tzurot deploy()": runner,
    "  diagnostic: deploy(), worker thread, no fork": runner_with_thread,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--dsn", help="admin DSN of a server to use instead of the embedded one")
    args = parser.parse_args()

    srv = server_mod.start(ServerSettings(backend="external", dsn=args.dsn) if args.dsn else ServerSettings())
    janitor = Janitor(srv.dsn, new_run_id(), srv.server_version_num)
    times: dict[str, list[float]] = {label: [] for label in METHODS}
    extra: dict[str, list[float]] = {"fingerprint() alone": [], "discover() alone": []}
    try:
        with tempfile.TemporaryDirectory(prefix="tzurot-bench-") as tmp:
            warm = Path(tmp) / "warm"
            generate(warm, args.migrations, "warm-up")
            statements = sum(len(m.statements) for m in discover(warm))
            for i, fn in enumerate(METHODS.values()):  # imports, first connections, catalog caches
                name = janitor.create(f"warm_{i}")
                fn(janitor.dsn(name), warm)
                janitor.drop(name)
            for r in range(args.rounds):
                directory = Path(tmp) / f"round_{r}"
                generate(directory, args.migrations, f"round {r}")
                order = list(METHODS.items())
                # rotate the order so no method always runs first or last on a busy machine
                order = order[r % len(order):] + order[: r % len(order)]
                for i, (label, fn) in enumerate(order):
                    name = janitor.create(f"r{r}_{i}")
                    settle(srv.dsn)
                    times[label].append(fn(janitor.dsn(name), directory))
                    janitor.drop(name)
                extra["fingerprint() alone"].append(fingerprint_only(directory))
                started = time.perf_counter()
                discover(directory)
                extra["discover() alone"].append(time.perf_counter() - started)
    finally:
        for name in janitor.existing():
            janitor.drop(name)
        if not args.dsn:
            server_mod.stop(srv)

    n = args.migrations
    capacity = parallel_capacity()
    median = {label: statistics.median(values) for label, values in {**times, **extra}.items()}
    plain = median[PLAIN]
    print(f"server: {srv.backend} PostgreSQL {srv.server_version}; {n} migrations, {statements} statements; "
          f"median of {args.rounds} rounds; parallel CPU capacity {capacity:.1f} of 2 cores")
    print(f"{'method':<46} {'total s':>8} {'ms/migration':>13} {'vs plain':>9}")
    for label, value in median.items():
        print(f"{label:<46} {value:>8.3f} {value / n * 1000:>13.2f} {value / plain:>8.2f}x")
    ratio = median["tzurot deploy()"] / plain
    # Each round runs both back to back, so its own ratio cancels the machine's slow drifts.
    paired = sorted(r / p for r, p in zip(times["tzurot deploy()"], times[PLAIN], strict=True))
    print(f"per-round ratios runner/plain: median {statistics.median(paired):.2f}x, "
          f"range {paired[0]:.2f}-{paired[-1]:.2f}x")
    print(f"ratio runner/plain: {ratio:.2f}x (target <= 1.30x) -> {'OK' if ratio <= 1.3 else 'ABOVE TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
