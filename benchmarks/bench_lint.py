"""Benchmark the migration lint (issue 5): a generated corpus of 500 migrations, ~5 statements each.

Prints a table: statements per second for `tzurot lint`'s engine and for sqlglot's bare parse
(postgres dialect) of the same files, their ratio (target: lint <= 1.3x the bare parse), and the
wall time of `tzurot lint <one file>` as a process, interpreter start included (the pre-commit
case; target <= 0.2 s), next to `python -c pass` and `python -c "import sqlglot"` for scale.
Timings are the best of several rounds, measured in one run (the machine is shared: read ratios).

    .venv/bin/python benchmarks/bench_lint.py [--files 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TEMPLATES = [
    'CREATE TABLE IF NOT EXISTS "t{n}" (\n    "id" UUID NOT NULL DEFAULT gen_random_uuid(),\n'
    '    "name" TEXT NOT NULL,\n    "score" INTEGER NOT NULL DEFAULT 0,\n'
    '    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),\n    CONSTRAINT "t{n}_pkey" PRIMARY KEY ("id")\n);',
    'CREATE INDEX IF NOT EXISTS "t{n}_name_idx" ON "t{n}" ("name");',
    'CREATE UNIQUE INDEX "t{n}_name_key" ON "t{n}"("name");',
    'ALTER TABLE "t{n}" ADD COLUMN "note{k}" TEXT;',
    'ALTER TABLE "t{n}" ADD CONSTRAINT "t{n}_fk{k}" FOREIGN KEY ("id") REFERENCES "personalities"("id") '
    "ON DELETE CASCADE ON UPDATE CASCADE;",
    'DROP INDEX IF EXISTS "t{n}_old{k}_idx";',
    'ALTER TABLE "t{n}" DROP COLUMN IF EXISTS "legacy{k}";',
    "INSERT INTO t{n} (name, score) VALUES ('row {k}; -- not a comment', {k});",
    "UPDATE t{n} SET score = score + 1 WHERE name LIKE 'x%' AND created_at < now() - interval '1 day';",
    "COMMENT ON TABLE t{n} IS 'generated table {k}';",
    "CREATE INDEX IF NOT EXISTS idx_t{n}_embedding ON t{n} USING hnsw (embedding vector_cosine_ops) "
    "WITH (m = 16, ef_construction = 64);",
    "ALTER TABLE t{n} ALTER COLUMN score SET DEFAULT {k};",
    "DROP TABLE IF EXISTS t{n}_archive{k};",
]


def generate(directory: Path, files: int, seed: int = 5) -> int:
    """Write `files` Prisma-layout migrations; return the number of statements."""
    rng = random.Random(seed)
    statements = 0
    for i in range(files):
        count = rng.randint(3, 7)
        body = [f"-- generated migration {i}"]
        for _ in range(count):
            body.append(rng.choice(TEMPLATES).format(n=rng.randint(1, 60), k=rng.randint(1, 999)))
        folder = directory / f"2025{i:010d}_m{i}"
        folder.mkdir(parents=True)
        (folder / "migration.sql").write_text("\n\n".join(body) + "\n", encoding="utf-8")
        statements += count
    return statements


def interleaved(functions: dict[str, object], rounds: int) -> dict[str, float]:
    """Best time of each function, rounds interleaved so that load changes hit all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def walls(commands: dict[str, list[str]], runs: int, cwd: Path) -> dict[str, tuple[float, float, float]]:
    """(best wall, median wall, best CPU) seconds per command, interpreter start included, runs
    interleaved across the commands.

    CPU time (user + system of the child) is less disturbed by other load on a shared machine.
    With a bytecode cache, as an installed package has (pip compiles on install): this sandbox sets
    PYTHONDONTWRITEBYTECODE, so the cache goes to a temporary PYTHONPYCACHEPREFIX, filled by a
    first, untimed run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cwd / "pycache")
    env.pop("GITHUB_ACTIONS", None)

    def run(argv: list[str]) -> None:
        subprocess.run(
            argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
        )

    for argv in commands.values():
        run(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            run(argv)
            times[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {name: (min(times[name]), statistics.median(times[name]), min(cpus[name])) for name in commands}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=15, help="process runs for the single-file wall time")
    args = parser.parse_args()

    import sqlglot

    from pytest_tzurot import config
    from pytest_tzurot.sql import dialect
    from pytest_tzurot.sql.lint import lint_files

    indexes = config.load(REPO / "ci.yml").protected_indexes
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        statements = generate(root / "migrations", args.files)
        paths = sorted((root / "migrations").glob("*/migration.sql"))
        texts = [p.read_text(encoding="utf-8") for p in paths]

        errors = 0
        for text in texts:  # the corpus must be parseable by sqlglot for a fair comparison
            try:
                sqlglot.parse(text, read="postgres")
            except sqlglot.errors.ParseError:
                errors += 1
        findings = lint_files(paths, indexes)
        best = interleaved(
            {
                "lint": lambda: lint_files(paths, indexes),
                "bare": lambda: [sqlglot.parse(t, read="postgres") for t in texts],
                "pgvector": lambda: [dialect.parse(t) for t in texts],
            },
            args.rounds,
        )
        lint, bare, pgvector = best["lint"], best["bare"], best["pgvector"]

        one = paths[-1]  # the newest migration: the lint reads the history before it
        (root / "ci.yml").write_text((REPO / "ci.yml").read_text().split("\nsearch:")[0], encoding="utf-8")
        python = sys.executable
        script = Path(python).with_name("tzurot")
        measured = walls(
            {
                "script": [str(script), "lint", str(one)]
                if script.exists()
                else [python, "-m", "pytest_tzurot", "lint", str(one)],
                "module": [python, "-m", "pytest_tzurot", "lint", str(one)],
                "empty": [python, "-c", "pass"],
                "sqlglot": [python, "-c", "import sqlglot"],
            },
            args.runs,
            root,
        )

    print(
        f"corpus: {len(paths)} files, {statements} statements, {len(findings)} findings, "
        f"{errors} files sqlglot cannot parse"
    )
    print()
    print("| measurement | time | statements/s | ratio |")
    print("|---|---|---|---|")
    print(
        f"| tzurot lint engine, {len(paths)} files | {lint:.3f} s | {statements / lint:,.0f} | "
        f"{lint / bare:.2f}x bare parse (target <= 1.3x) |"
    )
    print(f"| sqlglot bare parse (postgres) | {bare:.3f} s | {statements / bare:,.0f} | 1.00x |")
    print(
        f"| sqlglot parse, pgvector dialect | {pgvector:.3f} s | {statements / pgvector:,.0f} | "
        f"{pgvector / bare:.2f}x |"
    )
    print()
    print("| process | wall, best | wall, median | CPU, best |")
    print("|---|---|---|---|")
    rows = [
        ("`tzurot lint <one file>` (console script; target <= 0.2 s)", measured["script"]),
        ("`python -m pytest_tzurot lint <one file>`", measured["module"]),
        ("`python -c pass`", measured["empty"]),
        ("`python -c 'import sqlglot'`", measured["sqlglot"]),
    ]
    for label, (low, median, cpu) in rows:
        print(f"| {label} | {low:.3f} s | {median:.3f} s | {cpu:.3f} s |")


if __name__ == "__main__":
    main()
