"""The live protected-index guard: after every migration, the vector indexes are still there.

Items (ids as pytest shows them):
- `protected_index[<name>]`, one per `protected_indexes` entry of the manifest:
  the index exists on the declared schema.table(column), is valid, ready and
  live, and its access method, opclass, WITH options (over pgvector's
  defaults) and lack of a predicate match. On failure the migrations are
  replayed one by one on an empty database to name the one that lost or
  changed it, and the message ends with the migration that restores it.
- `idempotent[<migration>]`, one per migration when `migrations.idempotent`
  is true: the migration re-applied on the migrated database, in a
  transaction that is rolled back, must not fail.
- `vector_columns` (when the manifest protects at least one index): warns about
  every vector/halfvec/sparsevec column without a usable ivfflat/hnsw index, and
  notes vector indexes the manifest does not protect (run summary). It never fails.

The passing path costs one migrated clone per process for all these items
together: the catalog snapshot is taken once and shared, and the
idempotency re-runs roll back on that same clone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg

from pytest_tzurot import catalog
from pytest_tzurot.catalog import IndexInfo, Snapshot
from pytest_tzurot.config import Manifest, ProtectedIndex
from pytest_tzurot.connect import connect
from pytest_tzurot.errors import TzurotError
from pytest_tzurot.guards.base import GuardContext, GuardSpec, PluginSettings, fail
from pytest_tzurot.migrations import deploy
from pytest_tzurot.migrations.discovery import Migration, discover
from pytest_tzurot.sql.split import Statement, UnterminatedError, split

SECTION = "indexes"


# -- collection ----------------------------------------------------------------
def collect(manifest: Manifest, settings: PluginSettings) -> Iterator[GuardSpec]:
    """One item per protected index, per migration (idempotency, if asked), and `vector_columns`
    when the manifest protects at least one index."""
    for index in manifest.protected_indexes:
        yield GuardSpec(id=f"protected_index[{index.name}]", run=_protected_index_check(index),
                        needs_database=True)
    if manifest.migrations.idempotent:
        try:
            migrations = discover(manifest.migrations.dir)
        except TzurotError as exc:
            yield GuardSpec(id="idempotent", run=_raise(str(exc)), needs_database=False)
        else:
            for migration in migrations:
                yield GuardSpec(id=f"idempotent[{migration.name}]", run=_idempotent_check(migration),
                                needs_database=True)
    if manifest.protected_indexes:
        # Index guarding is opted into by protecting an index; a pool- or drift-only manifest
        # gets no extra item (and no database) from this module.
        yield GuardSpec(id="vector_columns", run=check_vector_columns, needs_database=True)


def _raise(message: str) -> Callable[[GuardContext], None]:
    def run(ctx: GuardContext) -> None:
        raise fail(message)

    return run


def _protected_index_check(index: ProtectedIndex) -> Callable[[GuardContext], None]:
    def run(ctx: GuardContext) -> None:
        check_protected_index(ctx, index)

    return run


def _idempotent_check(migration: Migration) -> Callable[[GuardContext], None]:
    def run(ctx: GuardContext) -> None:
        check_idempotent(ctx, migration)

    return run


# -- one shared migrated clone per process -------------------------------------
_SHARED_DB: dict[tuple[str, str], str] = {}
_SNAPSHOTS: dict[tuple[str, str], Snapshot] = {}


def _shared_key(ctx: GuardContext) -> tuple[str, str]:
    return ctx.run_state.run_id, ctx.run_state.worker


def shared_database(ctx: GuardContext) -> str:
    """DSN of this process's migrated clone for the index guards (the run drops it at its end).

    Raises TzurotError (e.g. the template could not be built: a migration fails) as is.
    """
    key = _shared_key(ctx)
    if key not in _SHARED_DB:
        _SHARED_DB[key] = ctx.run_state.clone("indexes")
        if ctx.run_state.keep:  # listed with the other kept databases (--tzurot-keep)
            ctx.run_state.keep_database(_SHARED_DB[key])
    return ctx.run_state.janitor().dsn(_SHARED_DB[key])


def snapshot(ctx: GuardContext) -> Snapshot:
    """The migrated database's vector catalog, read once per process and shared by the items."""
    key = _shared_key(ctx)
    if key not in _SNAPSHOTS:
        wanted = [index.name for index in ctx.manifest.protected_indexes]
        with connect(shared_database(ctx), autocommit=True) as conn:
            _SNAPSHOTS[key] = catalog.read(conn, wanted)
    return _SNAPSHOTS[key]


# -- comparing one protected index with the catalog -----------------------------
@dataclass(frozen=True)
class Row:
    """One compared property: expected (from the manifest) vs actual (from the catalog)."""

    label: str
    expected: str
    actual: str
    ok: bool | None  # None: not compared (the index is missing)


@dataclass(frozen=True)
class Verdict:
    """How a protected index looks in one database: `ok`, `missing` or `differs`."""

    index: ProtectedIndex
    found: IndexInfo | None
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.found is None:
            return "missing"
        return "ok" if all(row.ok is not False for row in self.rows) else "differs"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def differences(self) -> list[str]:
        return [row.label for row in self.rows if row.ok is False]

    def describe(self) -> str:
        """`as declared`, `missing` or `differs (opclass, options)`."""
        if self.status == "differs":
            return f"differs ({', '.join(self.differences())})"
        return {"ok": "as declared", "missing": "missing"}[self.status]


def _options_text(options: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(options.items())) or "(none)"


def _state_text(found: IndexInfo) -> str:
    flags = [("valid" if found.valid else "INVALID"), ("ready" if found.ready else "NOT READY"),
             ("live" if found.live else "NOT LIVE")]
    return ", ".join(flags)


def compare(index: ProtectedIndex, snap: Snapshot) -> Verdict:
    """Compare the manifest's declaration of `index` with what `snap` holds."""
    declared_table = f"{index.schema}.{index.table}"
    expected_opts = index.effective_options()
    same_schema = [found for found in snap.named(index.name) if found.schema == index.schema]
    notes: list[str] = []
    if not same_schema:
        for other in snap.named(index.name):
            notes.append(f"an index named {index.name} exists in schema {other.schema} "
                         f"(on {other.qualified_table}); the manifest declares schema {index.schema}")
        for other in snap.ann_indexes_on(index.schema, index.table, index.column):
            if other.name == index.name:
                continue
            verdict = compare(_renamed(index, other.name, other.schema), snap)
            if verdict.ok:
                notes.append(f"an index with the declared definition exists as {other.qualified_name}: "
                             "renamed? restore the name with ALTER INDEX "
                             f"{_q(other.schema)}.{_q(other.name)} RENAME TO {_q(index.name)}")
            else:
                notes.append(f"{declared_table}({index.column}) has another vector index: {other.definition}")
        notes.extend(_column_notes(index, snap))
        rows = (
            Row("index", f"{index.schema}.{index.name}", "(missing)", False),
            Row("table", declared_table, "-", None),
            Row("column", index.column, "-", None),
            Row("method", index.method, "-", None),
            Row("opclass", index.opclass, "-", None),
            Row("options", _options_text(expected_opts), "-", None),
        )
        return Verdict(index=index, found=None, rows=rows, notes=tuple(notes))
    found = same_schema[0]
    columns = found.columns
    column_text = ", ".join(col.name if col.name is not None else col.definition for col in columns) or "-"
    single = len(columns) == 1
    rows = (
        Row("table", declared_table, found.qualified_table, found.qualified_table == declared_table),
        Row("column", index.column, column_text, single and columns[0].name == index.column),
        Row("method", index.method, found.method, found.method == index.method),
        Row("opclass", index.opclass, ", ".join(col.opclass for col in columns) or "-",
            single and columns[0].opclass == index.opclass),
        Row("options", _options_text(expected_opts), _options_text(found.effective_options()),
            found.effective_options() == expected_opts),
        Row("predicate", "(none)", f"WHERE {found.predicate}" if found.predicate else "(none)",
            found.predicate is None),
        Row("state", "valid, ready, live", _state_text(found), found.usable),
    )
    if not found.valid:
        notes.append("an INVALID index is left behind by a failed CREATE INDEX CONCURRENTLY or REINDEX; "
                     "the planner never uses it")
    if found.qualified_table != declared_table:
        notes.append(f"the index now belongs to {found.qualified_table}: table renamed or moved? rename it "
                     f"back (ALTER TABLE {_q(found.table_schema)}.{_q(found.table)} RENAME TO "
                     f"{_q(index.table)}) or, if intended, update the manifest's table")
    elif single and columns[0].name not in (None, index.column):
        notes.append(f"the index now covers column {columns[0].name}: column renamed? rename it back "
                     f"(ALTER TABLE {_q(index.schema)}.{_q(index.table)} RENAME COLUMN {_q(columns[0].name)} "
                     f"TO {_q(index.column)}) or, if intended, update the manifest's column")
    else:
        notes.extend(_column_notes(index, snap))
    return Verdict(index=index, found=found, rows=rows, notes=tuple(notes))


def _column_notes(index: ProtectedIndex, snap: Snapshot) -> list[str]:
    """Say so when the declared column is gone or no longer a pgvector column of the expected type."""
    matches = [col for col in snap.vector_columns
               if (col.schema, col.table, col.column) == (index.schema, index.table, index.column)]
    if not matches:
        return [f"column {index.schema}.{index.table}.{index.column} does not exist (or is not a pgvector "
                "column): restore it before the index can be recreated"]
    type_name = matches[0].type.split("(", 1)[0]
    wanted_type = index.opclass.split("_", 1)[0]
    if wanted_type in catalog.VECTOR_TYPES and wanted_type != type_name:
        return [f"column {matches[0].qualified} is now {matches[0].type}; opclass {index.opclass} "
                f"needs a {wanted_type} column"]
    return []


def _renamed(index: ProtectedIndex, name: str, schema: str) -> ProtectedIndex:
    return replace(index, name=name, schema=schema)


def render_rows(rows: Iterable[Row]) -> str:
    """The expected-vs-actual table, one property per line, differing rows marked."""
    rows = list(rows)
    head = Row("property", "expected (manifest)", "actual (database)", True)
    width_label = max(len(row.label) for row in [head, *rows])
    width_expected = max(len(row.expected) for row in [head, *rows])
    width_actual = max(len(row.actual) for row in [head, *rows])
    lines = []
    for row in [head, *rows]:
        line = (f"    {row.label:<{width_label}}  {row.expected:<{width_expected}}  "
                f"{row.actual:<{width_actual}}")
        lines.append(line + "  <-- differs" if row.ok is False else line.rstrip())
    return "\n".join(lines)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def restore_sql(index: ProtectedIndex, *, replace_existing: bool = False) -> str:
    """The SQL that (re)creates `index` exactly as the manifest declares it (the lint's fix hint
    too, so both layers print the same statement); with `replace_existing`, a DROP first."""
    # Imported here: only the failure path needs it.
    from pytest_tzurot.sql.lint.ddl import create_index_sql, quote

    create = create_index_sql(index)
    if not replace_existing:
        return create
    return f"DROP INDEX IF EXISTS {quote(index.schema)}.{quote(index.name)};\n{create}"


# -- finding the migration that lost it -----------------------------------------
@dataclass(frozen=True)
class Step:
    """The protected index right after one migration was applied."""

    migration: Migration
    verdict: Verdict


@dataclass(frozen=True)
class Loss:
    """Where, replaying the migrations one by one, the index went missing or changed."""

    steps: tuple[Step, ...]
    culprit: Step | None
    before: Step | None  # the last step at which the index was as declared, if any
    error: str | None = None  # the replay itself failed

    def describe(self, root: Path | None = None) -> str:
        """One or two lines naming the migration and what it did to the index."""
        if self.error:
            return f"could not replay the migrations one by one to find the culprit: {self.error}"
        if self.culprit is None:
            if self.steps and self.steps[-1].verdict.ok:
                return ("replaying the migrations one by one leaves the index as declared: the loss "
                        "depends on something outside the migrations")
            return "no migration was applied (the migrations directory is empty)"
        migration = self.culprit.migration
        where = _relative(migration.path, root)
        after = self.culprit.verdict.describe()
        if self.before is not None:
            verb = "lost" if self.culprit.verdict.status == "missing" else "changed"
            return (f"{verb} by migration {migration.name} ({where}): as declared after "
                    f"{self.before.migration.name}, {after} after {migration.name}")
        if self.culprit.verdict.status == "missing":
            return "no migration ever creates it"
        return f"created with a different definition by migration {migration.name} ({where}): {after}"


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def find_loss(empty_dsn: str, directory: Path, history_table: str, index: ProtectedIndex) -> Loss:
    """Apply the migrations one at a time to the empty database at `empty_dsn`, checking `index`.

    The culprit is the last migration after which the index went from as-declared
    to missing or different; if it never was as declared, the first one that
    created it differently. Never raises for a migration error: it is in `error`.
    """
    try:
        migrations = discover(directory)
        # The same start as the run's template: pgvector installed before the first migration.
        with connect(empty_dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        steps: list[Step] = []
        with connect(empty_dsn, autocommit=True) as conn:
            for migration in migrations:
                deploy(empty_dsn, directory, history_table=history_table, target=migration.name)
                steps.append(Step(migration, compare(index, catalog.read(conn, [index.name]))))
    except TzurotError as exc:
        return Loss(steps=(), culprit=None, before=None, error=str(exc))
    return locate(steps)


def locate(steps: list[Step]) -> Loss:
    """The culprit among the replayed steps (see `find_loss`)."""
    culprit: Step | None = None
    before: Step | None = None
    previous: Step | None = None
    for step in steps:
        if previous is not None and previous.verdict.ok and not step.verdict.ok:
            culprit, before = step, previous
        previous = step
    if culprit is None and steps and not steps[-1].verdict.ok:
        existing = [step for step in steps if step.verdict.status == "differs"]
        culprit = existing[0] if existing else steps[-1]
    if steps and steps[-1].verdict.ok:
        culprit, before = None, None
    return Loss(steps=tuple(steps), culprit=culprit, before=before)


# -- the protected_index item -----------------------------------------------------
def check_protected_index(ctx: GuardContext, index: ProtectedIndex) -> None:
    """Pass when `index` is as declared after all migrations; otherwise fail with the table,
    the losing migration and the restoring SQL."""
    verdict = compare(index, snapshot(ctx))
    if verdict.ok:
        found = verdict.found
        assert found is not None
        ctx.summary(SECTION, f"{index.name}: ok ({found.method} {index.opclass}, "
                             f"{_options_text(found.effective_options())}) on "
                             f"{found.qualified_table}({index.column})")
        return
    loss = find_loss(ctx.empty_db("bisect"), ctx.manifest.migrations.dir,
                     ctx.manifest.migrations.history_table, index)
    status = verdict.status.upper()
    if verdict.status == "differs":
        status += f" ({', '.join(verdict.differences())})"
    ctx.summary(SECTION, f"{index.name}: {status} after all migrations")
    raise fail(failure_message(index, verdict, loss, ctx.manifest.root))


def failure_message(index: ProtectedIndex, verdict: Verdict, loss: Loss, root: Path | None = None) -> str:
    """What broke (expected vs actual), which migration did it, and the SQL that restores it."""
    status = "is missing" if verdict.status == "missing" else "differs from the manifest"
    lines = [f"protected index {index.name} {status} after all migrations", render_rows(verdict.rows)]
    lines.extend(f"  note: {note}" for note in verdict.notes)
    lines.append(loss.describe(root))
    lines.append("fix: add a new migration (e.g. `tzurot migrate create restore_"
                 f"{index.name}`) that restores it:")
    restore = restore_sql(index, replace_existing=verdict.status == "differs")
    lines.extend(f"    {line}" for line in restore.splitlines())
    if loss.culprit is not None and loss.before is not None:
        lines.append(f"  or, if {loss.culprit.migration.name} is not deployed anywhere yet, remove what "
                     "drops or changes the index from it (an ORM diff often generates that DROP INDEX)")
    lines.append("  (if the change is intended, update the index's entry in protected_indexes)")
    return "\n".join(lines)


# -- idempotency --------------------------------------------------------------------
# A file's own transaction control would end the rolled-back transaction early: skipped.
_ABORT = re.compile(r"^\s*(ROLLBACK(?!\s+TO\b)|ABORT|PREPARE\s+TRANSACTION|COMMIT\s+PREPARED|"
                    r"ROLLBACK\s+PREPARED)\b", re.IGNORECASE)
# CONCURRENTLY only changes locking, not whether a second run succeeds: blanked for the re-run.
_CONCURRENTLY = re.compile(
    r"^(\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\s+(?:\(.*?\)\s*)?(?:INDEX|TABLE|SCHEMA))\s+)"
    r"CONCURRENTLY\b",
    re.IGNORECASE | re.DOTALL,
)


def _rerun_form(statement: Statement) -> tuple[str | None, bool]:
    """(text to run or None to skip, whether CONCURRENTLY was blanked) for the rolled-back re-run.

    Statements the runner would run outside a transaction are re-run without CONCURRENTLY when
    that makes them transactional, and skipped otherwise (VACUUM, ALTER SYSTEM, CREATE DATABASE...).
    """
    from pytest_tzurot.migrations.transactions import is_transaction_control, leading_words, non_transactional

    if is_transaction_control(leading_words(statement.text, 2)) or _ABORT.match(statement.text):
        return None, False
    if not non_transactional([statement]):
        return statement.text, False
    match = _CONCURRENTLY.match(statement.text)
    if match is None:
        return None, False
    # Blank the keyword (same length) so PostgreSQL's error positions still map to the file.
    body = statement.text
    return body[: match.end(1)] + " " * len("CONCURRENTLY") + body[match.end():], True


@dataclass(frozen=True)
class RerunResult:
    """The rolled-back second run of one migration."""

    executed: int
    skipped: tuple[Statement, ...]
    adjusted: tuple[Statement, ...]  # CONCURRENTLY dropped
    failed: Statement | None = None
    error: str | None = None
    sqlstate: str | None = None
    error_line: int | None = None


def rerun(dsn: str, migration: Migration) -> RerunResult:
    """Run `migration` statement by statement inside one transaction on `dsn`, then roll back.

    Raises MigrationError if the file cannot be read or split; SQL errors are in the result.
    """
    from pytest_tzurot.errors import MigrationError

    text = migration.sql
    try:
        statements = split(text)
    except UnterminatedError as exc:
        raise MigrationError(f"{migration.path}:{exc.line}:{exc.column}: {exc}") from None
    skipped: list[Statement] = []
    adjusted: list[Statement] = []
    executed = 0
    # A new session per re-run: session state (advisory locks, SET) never outlives it.
    with connect(dsn, autocommit=False) as conn:
        try:
            for statement in statements:
                body, blanked = _rerun_form(statement)
                if body is None:
                    skipped.append(statement)
                    continue
                if blanked:
                    adjusted.append(statement)
                try:
                    conn.execute(body.encode())
                except psycopg.Error as exc:
                    diag = exc.diag
                    line = statement.line
                    position = diag.statement_position
                    if position and position.isdigit():
                        line += body[: int(position) - 1].count("\n")
                    message = diag.message_primary or str(exc).strip().splitlines()[0]
                    return RerunResult(executed, tuple(skipped), tuple(adjusted), statement, message,
                                       diag.sqlstate, line)
                executed += 1
        finally:
            conn.rollback()
    return RerunResult(executed, tuple(skipped), tuple(adjusted))


_HINTS: tuple[tuple[str, str, str], ...] = (
    # (sqlstate prefix or exact, statement regex, hint)
    ("42P07", r"CREATE\s+(UNIQUE\s+)?INDEX", "write CREATE INDEX IF NOT EXISTS"),
    ("42P07", r"CREATE\s+(UNLOGGED\s+|TEMP\w*\s+)?TABLE", "write CREATE TABLE IF NOT EXISTS"),
    ("42P07", r"CREATE\s+SEQUENCE", "write CREATE SEQUENCE IF NOT EXISTS"),
    ("42P07", r"CREATE\s+(MATERIALIZED\s+)?VIEW", "write CREATE OR REPLACE VIEW (or ... IF NOT EXISTS)"),
    ("42P07", r"ALTER\s+TABLE", "guard it: e.g. ADD CONSTRAINT after DROP CONSTRAINT IF EXISTS"),
    ("42P06", r"CREATE\s+SCHEMA", "write CREATE SCHEMA IF NOT EXISTS"),
    ("42701", r"ALTER\s+TABLE", "write ADD COLUMN IF NOT EXISTS"),
    ("42723", r"CREATE\s+(FUNCTION|PROCEDURE)", "write CREATE OR REPLACE FUNCTION"),
    ("42710", r"CREATE\s+EXTENSION", "write CREATE EXTENSION IF NOT EXISTS"),
    ("42710", r"CREATE\s+TRIGGER", "write CREATE OR REPLACE TRIGGER (PostgreSQL 14+) or DROP TRIGGER IF "
                                   "EXISTS before it"),
    ("42710", r"CREATE\s+TYPE", "wrap it: DO $$ BEGIN CREATE TYPE ...; EXCEPTION WHEN duplicate_object "
                                "THEN NULL; END $$"),
    ("42710", r"ALTER\s+TABLE", "DROP CONSTRAINT IF EXISTS before ADD CONSTRAINT"),
    ("42710", r"CREATE\s+POLICY", "DROP POLICY IF EXISTS before CREATE POLICY"),
    ("42", r"DROP\s+", "write DROP ... IF EXISTS"),
    ("42703", r"ALTER\s+TABLE.*\bDROP\b", "write DROP COLUMN IF EXISTS"),
    ("42", r"ALTER\s+\w+.*\bRENAME\b", "guard the rename (e.g. a DO block that checks to_regclass / "
                                       "information_schema first)"),
    ("23505", r"INSERT", "write INSERT ... ON CONFLICT DO NOTHING"),
)


def idempotency_hint(statement: str, sqlstate: str | None) -> str:
    """How to make `statement` re-runnable, given the error PostgreSQL raised on the second run."""
    state = sqlstate or ""
    for prefix, pattern, hint in _HINTS:
        if state.startswith(prefix) and re.match(pattern, statement, re.IGNORECASE | re.DOTALL):
            return hint
    return "make the statement re-runnable (IF NOT EXISTS, IF EXISTS, OR REPLACE, ON CONFLICT DO NOTHING)"


def check_idempotent(ctx: GuardContext, migration: Migration) -> None:
    """Fail when `migration`, applied a second time on the migrated database, errors."""
    result = rerun(shared_database(ctx), migration)
    where = _relative(migration.path, ctx.manifest.root)
    if result.skipped or result.adjusted:
        parts = []
        if result.adjusted:
            parts.append(f"CONCURRENTLY dropped for the re-run at line(s) "
                         f"{', '.join(str(s.line) for s in result.adjusted)}")
        if result.skipped:
            parts.append(f"skipped (cannot run in a transaction) at line(s) "
                         f"{', '.join(str(s.line) for s in result.skipped)}")
        ctx.summary(SECTION, f"idempotent[{migration.name}]: {'; '.join(parts)}")
    if result.failed is None:
        return
    first_line = result.failed.text.strip().splitlines()[0]
    snippet = first_line if len(first_line) <= 100 else first_line[:97] + "..."
    raise fail(
        f"migration {migration.name} is not idempotent: applying it a second time on the migrated "
        f"database fails at {where}:{result.error_line}\n"
        f"    {snippet}\n"
        f"  PostgreSQL: {result.error} (SQLSTATE {result.sqlstate})\n"
        f"fix: {idempotency_hint(result.failed.text, result.sqlstate)} in {where} while it is not deployed "
        "anywhere yet (once deployed, its checksum is history); `tzurot lint` (TZ010) flags this before "
        "a commit"
    )


# -- vector columns without an ANN index; unlisted vector indexes --------------------------
def check_vector_columns(ctx: GuardContext) -> None:
    """Warn about vector columns no usable ivfflat/hnsw index covers; note unprotected vector indexes."""
    snap = snapshot(ctx)
    protected = {(index.schema, index.name) for index in ctx.manifest.protected_indexes}
    for column in snap.vector_columns:
        usable = [found for found in snap.ann_indexes_on(column.schema, column.table, column.column)
                  if found.usable]
        if usable:
            continue
        ctx.summary(SECTION, f"vector column {column.qualified} ({column.type}): no ANN index")
        ctx.warn(
            f"vector column {column.qualified} ({column.type}) has no usable ivfflat/hnsw index: "
            f"similarity searches on it scan the whole table; add one, e.g. CREATE INDEX ON "
            f"{_q(column.schema)}.{_q(column.table)} USING hnsw ({_q(column.column)} "
            f"{column.type.split('(', 1)[0]}_cosine_ops) (pick the opclass of your distance operator), "
            "and protect it in the manifest's protected_indexes"
        )
    manifest_name = ctx.manifest.path.name
    for found in snap.ann_indexes():
        if (found.schema, found.name) in protected:
            continue
        ctx.summary(SECTION, f"note: vector index {found.qualified_name} is not in {manifest_name} "
                             f"protected_indexes ({found.definition})")
