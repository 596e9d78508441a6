"""Apply pending migrations, Prisma-compatible, exactly once under concurrency.

`deploy()` reads and checks every pending file first (a bad one stops it
before anything is written), then, holding Prisma's advisory lock, applies the
pending migrations in name order:

- a transactional migration runs in one transaction together with its history
  row, so a crash or an error leaves no trace of it;
- a migration holding a statement that cannot run in a transaction (or whose
  first line is `-- tzurot: no-transaction`) runs statement by statement: its
  row is written first, `applied_steps_count` follows each statement, and a
  failure leaves the row failed (finished_at NULL, logs = the error), which
  blocks later deploys until `resolve`.

The semantic fingerprints of the applied migrations (`_tzurot_fingerprints`)
are computed while the server works and written in one statement at the end
of the deploy, also when a migration failed. A deploy killed before that
leaves some applied migrations without one: the next deploy records them,
from their files, whenever a file's checksum proves it is the applied version.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from pytest_tzurot import dsn as dsn_mod
from pytest_tzurot.config import DEFAULT_HISTORY_TABLE
from pytest_tzurot.connect import connect
from pytest_tzurot.errors import MigrationError, ServerError
from pytest_tzurot.migrations import fingerprints, history
from pytest_tzurot.migrations.background import fingerprinter
from pytest_tzurot.migrations.discovery import Migration, discover
from pytest_tzurot.migrations.history import HistoryRow
from pytest_tzurot.migrations.lock import PRISMA_LOCK_KEY, migration_lock
from pytest_tzurot.migrations.prisma_url import to_libpq
from pytest_tzurot.migrations.status import DRIFTED, MISSING, compare
from pytest_tzurot.migrations.transactions import (
    is_transaction_abort,
    is_transaction_control,
    leading_words,
    non_transactional,
)
from pytest_tzurot.sql.fingerprint import is_current
from pytest_tzurot.sql.split import Statement

APPLICATION_NAME = "tzurot migrate"
_ONE_QUERY_PREFIX = "BEGIN;\n"  # before the file's text in a one-query migration
_RECORD_STATEMENT = "tzurot_record"  # the prepared history-row insert (`_setup_sql`)
_QUOTED = re.compile(r'"([^"]+)"')
__all__ = ["PRISMA_LOCK_KEY", "AppliedMigration", "DeployResult", "PlannedMigration", "deploy"]


@dataclass(frozen=True)
class PlannedMigration:
    """A pending migration and how it will run."""

    name: str
    path: Path
    transactional: bool
    statements: int
    reason: str | None = None  # why it runs outside a transaction


@dataclass(frozen=True)
class AppliedMigration:
    """A migration this deploy applied, and how long it took (seconds)."""

    name: str
    path: Path
    transactional: bool
    statements: int
    duration: float


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: `applied` in order; `planned` is what it set out to apply (the
    plan itself for a dry run); `warnings` name drifted or missing applied migrations."""

    applied: tuple[AppliedMigration, ...] = ()
    planned: tuple[PlannedMigration, ...] = ()
    warnings: tuple[str, ...] = ()
    dry_run: bool = False
    already_applied: int = 0
    remaining: tuple[str, ...] = field(default=())  # pending after a `target`

    @property
    def applied_names(self) -> list[str]:
        return [m.name for m in self.applied]


def deploy(
    dsn: str,
    directory: str | Path,
    *,
    history_table: str = DEFAULT_HISTORY_TABLE,
    lock_timeout: float = 10.0,
    target: str | None = None,
    dry_run: bool = False,
    progress: Callable[[AppliedMigration], None] | None = None,
    application_name: str = APPLICATION_NAME,
) -> DeployResult:
    """Apply every pending migration in order (up to and including `target` if given).

    With `dry_run`, only plan: nothing is written, not even the history table.
    Raises ConfigError (bad DSN), ServerError (cannot connect / connection lost),
    LockTimeout, or MigrationError (bad file, failed migration in history, SQL
    error naming migration, file:line, statement and PostgreSQL's message).
    """
    url = to_libpq(dsn)  # a Prisma DATABASE_URL works as-is (`?schema=` sets the search path)
    dsn = url.dsn
    dsn_mod.parse(dsn)
    migrations = discover(directory, validate=False)
    if target is not None and target not in {m.name for m in migrations}:
        raise MigrationError(f"target {target!r} is not a migration in {directory}; check the name")
    with connect(dsn, autocommit=True, application_name=application_name) as conn:
        try:
            _watch_client(conn)
            if dry_run:
                return _plan(conn, migrations, history_table, target, dry_run=True)[0]
            with migration_lock(conn, lock_timeout):
                return _apply_plan(conn, migrations, url.schema, history_table, target, progress)
        except psycopg.Error as exc:
            if conn.broken or conn.closed:
                raise ServerError(f"lost the connection to {dsn_mod.mask(dsn)}: {_pg_line(exc)}") from None
            raise MigrationError(f"deploy failed around the history table {history_table!r}: "
                                 f"{_pg_line(exc)}; check the role's privileges") from None


def _apply_plan(
    conn: psycopg.Connection,
    migrations: Sequence[Migration],
    schema: str | None,
    history_table: str,
    target: str | None,
    progress: Callable[[AppliedMigration], None] | None,
) -> DeployResult:
    """Under the lock: plan (validating every pending file before anything is written), apply,
    then record the fingerprints of what was applied (also after a failure)."""
    plan, rows = _plan(conn, migrations, history_table, target, dry_run=False)
    conn.execute(sql.SQL(";\n").join(_setup_sql(history_table, schema)))
    # Every later statement names the tables with their schema: a migration may change the
    # search_path (pg_dump's output empties it) and must not lose them.
    history_table = _qualified(conn, history_table)
    by_name = {m.name: m for m in migrations}
    pending = [by_name[step.name] for step in plan.planned]
    steps = list(zip(pending, plan.planned, strict=True))
    resets = [_resets_session(m) for m in pending]
    one_query = [_one_query(m, step) and not reset for (m, step), reset in zip(steps, resets, strict=True)]
    _bind_plan(conn, [m for (m, _), whole in zip(steps, one_query, strict=True) if whole], history_table,
               prepare=True)
    # Stable while the lock is held: only deploy, resolve and drift fix write it, all under it.
    have = {(r.migration_name, r.checksum): r.fingerprint for r in fingerprints.read(conn, history_table)}
    unprinted = _unprinted(migrations, rows, have)
    applied: list[AppliedMigration] = []

    def record_fingerprints() -> None:
        recorded = [by_name[m.name] for m in applied] + unprinted
        found = prints.results([m.name for m in recorded])
        rows = [(m.name, m.checksum, found[m.name]) for m in recorded]
        fingerprints.record_many(conn, rows, have.keys(), history_table)

    with fingerprinter(pending + unprinted) as prints:
        try:
            reset = False  # a migration reset the session: the plan must be bound again
            for i, (migration, step) in enumerate(steps):
                if reset and one_query[i]:
                    rest = [m for (m, _), whole in zip(steps[i:], one_query[i:], strict=True) if whole]
                    _bind_plan(conn, rest, history_table, prepare=False)
                    reset = False
                done = _apply(conn, migration, step, history_table, one_query[i], prints.server_busy)
                reset = reset or resets[i]
                applied.append(done)
                if progress is not None:
                    progress(done)
        except Exception:
            # The migrations applied before the failure keep their fingerprints; the failure
            # itself is what the caller must see, so recording them is best effort here.
            if not (conn.broken or conn.closed):
                with suppress(psycopg.Error):
                    record_fingerprints()
            raise
        record_fingerprints()
    return DeployResult(
        applied=tuple(applied), planned=plan.planned, warnings=plan.warnings,
        already_applied=plan.already_applied, remaining=plan.remaining,
    )


def _setup_sql(history_table: str, schema: str | None) -> list[sql.Composable]:
    """The statements every deploy runs before applying anything, sent as one query (they hold
    no value): the URL's schema (as Prisma creates it) and both tables."""
    statements: list[sql.Composable] = []
    if schema:
        statements.append(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    return [*statements, history.create_sql(history_table), fingerprints.create_sql(history_table)]


def _qualified(conn: psycopg.Connection, history_table: str) -> str:
    """`schema.table` for the history table as the session's search_path finds it now."""
    if "." in history_table:
        return history_table
    row = conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = to_regclass(%s)", (history.regclass_name(history_table),)
    ).fetchone()
    return f"{row[0]}.{history_table}" if row else history_table


def _unprinted(migrations: Sequence[Migration], rows: Sequence[HistoryRow],
               have: dict[tuple[str, str], str | None]) -> list[Migration]:
    """Applied migrations whose file is byte for byte the applied version (same checksum) but
    that have no fingerprint yet, or one of an older algorithm (`have`): applied by Prisma, by
    a deploy killed before it recorded them, or by an older tzurot. Their fingerprints are
    recorded with this deploy's."""
    applied = {(r.migration_name, r.checksum) for r in rows if r.is_applied}
    return [
        m for m in migrations
        if (key := (m.name, m.checksum)) in applied and (key not in have or _stale(have[key]))
    ]


def _stale(value: str | None) -> bool:
    """A fingerprint of another algorithm (None, SQL that could not be read, stays as it is)."""
    return value is not None and not is_current(value)


def _watch_client(conn: psycopg.Connection) -> None:
    # If this process dies mid-migration, the server notices within a second instead of
    # finishing a long statement first, rolls back and releases the lock for the next deploy.
    if conn.info.server_version >= 140000:
        with suppress(psycopg.Error):
            conn.execute("SET client_connection_check_interval = 1000")


def _plan(conn: psycopg.Connection, migrations: Sequence[Migration], history_table: str,
          target: str | None, *, dry_run: bool) -> tuple[DeployResult, list[HistoryRow]]:
    """The plan (and the history rows it came from); MigrationError for a failed migration in the
    history or a pending migration that cannot be applied (checked before anything runs)."""
    rows = history.read(conn, history_table)
    failed = [r for r in rows if r.is_failed]
    if failed:
        row = failed[0]
        logs = " ".join((row.logs or "no logs recorded").split())
        raise MigrationError(
            f"migration {row.migration_name} failed earlier (started {row.started_at:%Y-%m-%d %H:%M:%S}, "
            f"{row.applied_steps_count} statement(s) applied) and blocks deploys: {logs}; "
            f"repair the database by hand, then run `tzurot migrate resolve --rolled-back "
            f"{row.migration_name}` to apply it again, or `--applied {row.migration_name}` if it is complete"
        )
    applied = {r.migration_name for r in rows if r.is_applied}
    pending = [m for m in migrations if m.name not in applied]
    remaining: list[str] = []
    if target is not None:
        names = [m.name for m in migrations]
        cut = names.index(target)
        remaining = [m.name for m in pending if names.index(m.name) > cut]
        pending = [m for m in pending if names.index(m.name) <= cut]
    warnings = tuple(
        f"migration {s.name} is applied but its file changed since (checksum drift); "
        "run `tzurot drift check`" if s.state == DRIFTED else
        f"migration {s.name} is applied but missing from the migrations directory"
        for s in compare(migrations, rows) if s.state in (DRIFTED, MISSING)
    )
    return DeployResult(
        planned=tuple(_planned(m) for m in pending), warnings=warnings, dry_run=dry_run,
        already_applied=len(applied & {m.name for m in migrations}), remaining=tuple(remaining),
    ), rows


def _planned(migration: Migration) -> PlannedMigration:
    migration.validate()
    statements = migration.statements
    if migration.no_transaction_directive:
        return PlannedMigration(migration.name, migration.path, False, len(statements),
                                "-- tzurot: no-transaction directive")
    found = non_transactional(statements)
    if found:
        return PlannedMigration(migration.name, migration.path, False, len(statements),
                                f"{found[0].what} at line {found[0].line}")
    executable = 0
    for stmt in statements:
        words = leading_words(stmt.text, 2)
        if is_transaction_abort(words):
            raise MigrationError(
                f"{migration.path}:{stmt.line}: {words[0]} inside a migration would undo the runner's "
                "transaction; remove it (each migration already runs in its own transaction)"
            )
        executable += not is_transaction_control(words)
    return PlannedMigration(migration.name, migration.path, True, executable)


def _executable(statements: Sequence[Statement]) -> list[Statement]:
    """The statements to run inside the runner's transaction: a file's own BEGIN/COMMIT are
    dropped (running them would end the runner's transaction early)."""
    return [s for s in statements if not is_transaction_control(leading_words(s.text, 2))]


def _apply(
    conn: psycopg.Connection,
    migration: Migration,
    step: PlannedMigration,
    history_table: str,
    one_query: bool,
    server_busy: Callable[[], AbstractContextManager[object]],
) -> AppliedMigration:
    """Apply one migration, as one query when `one_query` (decided in `_apply_plan`);
    `server_busy` wraps the calls that wait on the server (the fingerprint worker runs only
    inside it)."""
    started = time.perf_counter()
    if not step.transactional:
        with server_busy():
            _apply_statement_by_statement(conn, migration, history_table)
    elif one_query:
        _apply_as_one_query(conn, migration, server_busy)
    else:  # the file has its own BEGIN/COMMIT: they must be dropped, statement by statement
        with server_busy():
            _apply_in_transaction(conn, migration, history_table)
    return AppliedMigration(step.name, step.path, step.transactional, step.statements,
                            time.perf_counter() - started)


def _one_query(migration: Migration, step: PlannedMigration) -> bool:
    """Whether the migration can be sent as one query: transactional and without BEGIN/COMMIT
    of its own (`_planned` counted every statement as executable). A file that also resets the
    session (`_resets_session`) is not: it runs statement by statement, its row bound as
    parameters."""
    return step.transactional and step.statements == len(migration.statements)


def _resets_session(migration: Migration) -> bool:
    """Whether the file holds `RESET ...` or `DISCARD ...`, which can drop the bound plan
    (`_bind_plan`) or the prepared `tzurot_record`."""
    lowered = migration.sql.lower()
    if "reset" not in lowered and "discard" not in lowered:  # the common case, decided cheaply
        return False
    for stmt in migration.statements:
        words = leading_words(stmt.text, 1)
        if words in (["RESET"], ["DISCARD"]):
            return True
    return False


def _apply_as_one_query(
    conn: psycopg.Connection,
    migration: Migration,
    server_busy: Callable[[], AbstractContextManager[object]],
) -> None:
    """BEGIN, the file as written, the history row and COMMIT, sent as one simple-protocol
    query: one round trip and one parse, as `psql -1 -f` would do.

    Only for files without transaction control of their own (they could end the runner's
    transaction early). The query holds no value at all: `EXECUTE tzurot_record` takes this
    migration's row from the plan bound into the session beforehand (`_bind_plan`). On an
    error the transaction is rolled back: nothing of the migration stays (the plan's counter
    included), and `_locate_failure` names the statement.
    """
    text = migration.sql
    # The newline ends a trailing `--` comment; the `;` a last statement written without one.
    query = f"{_ONE_QUERY_PREFIX}{text}\n;\nEXECUTE {_RECORD_STATEMENT};\nCOMMIT"
    try:
        with server_busy():
            conn.execute(query)
    except psycopg.Error as exc:
        _roll_back(conn, migration, exc)
        failure = _locate_failure(conn, migration, exc, len(_ONE_QUERY_PREFIX))
        if failure is not None:
            stmt, offset, error = failure
            raise MigrationError(
                f"{statement_error(migration, stmt, error, offset)}; nothing of {migration.name} "
                "was applied: fix the migration and deploy again"
            ) from None
        raise MigrationError(
            f"migration {migration.name} ({migration.path}) failed when recording its history row or "
            f"committing: {_pg_line(exc)}; nothing of it was applied (a deferred constraint, or the "
            "history table: check it)"
        ) from None


def _roll_back(conn: psycopg.Connection, migration: Migration, exc: psycopg.Error) -> None:
    """After a failed migration: roll its transaction back, or raise ServerError when the
    connection itself is gone (the server then rolled it back)."""
    if conn.broken or conn.closed:
        raise ServerError(
            f"lost the connection while applying {migration.name}: {_pg_line(exc)}; the server rolled "
            "it back, deploy again"
        ) from None
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute("ROLLBACK")


def _locate_failure(
    conn: psycopg.Connection, migration: Migration, exc: psycopg.Error, prefix: int
) -> tuple[Statement, int | None, psycopg.Error] | None:
    """The statement of `migration` that made its one-query run fail: (statement, offset of the
    error in it or None, the error), or None if the statements themselves all succeed.

    PostgreSQL gives the error's position in the whole query when it has one; otherwise the
    statements are replayed one by one in a transaction that is rolled back (the error path
    only, so the normal path keeps its single round trip)."""
    position = exc.diag.statement_position
    text = migration.sql
    if position and position.isdigit():
        offset = int(position) - 1 - prefix
        if 0 <= offset < len(text):
            stmt = _statement_at(migration.statements, offset)
            return stmt, max(0, offset - stmt.start), exc
        if offset >= len(text):
            return None
    conn.execute("BEGIN")
    try:
        for stmt in migration.statements:
            try:
                conn.execute(stmt.text)
            except psycopg.Error as replayed:
                return stmt, None, replayed
        return None
    finally:
        if not conn.broken:
            conn.execute("ROLLBACK")


def _statement_at(statements: Sequence[Statement], offset: int) -> Statement:
    """The statement holding `offset` of the file (the first one for a leading comment)."""
    found = statements[0]
    for stmt in statements:
        if stmt.start > offset:
            break
        found = stmt
    return found


def _apply_in_transaction(
    conn: psycopg.Connection,
    migration: Migration,
    history_table: str,
) -> None:
    """BEGIN, the statements (without the file's own BEGIN/COMMIT), the history row with the
    fingerprint and COMMIT, sent as one pipeline (one round trip); the first command without
    a result is the one that failed."""
    statements = _executable(migration.statements)
    cursors: list[psycopg.Cursor] = []
    try:
        with conn.pipeline():
            cursors.append(conn.execute("BEGIN"))
            cursors.extend(conn.execute(stmt.text) for stmt in statements)
            cursors.append(conn.execute(
                _record_sql(history_table),
                (str(uuid.uuid4()), migration.checksum, migration.name, len(statements)),
            ))
            conn.execute("COMMIT")
    except psycopg.Error as exc:
        _roll_back(conn, migration, exc)
        failed = next((k for k, cur in enumerate(cursors) if cur.pgresult is None), len(cursors))
        if 1 <= failed <= len(statements):
            raise MigrationError(
                f"{statement_error(migration, statements[failed - 1], exc)}; nothing of {migration.name} "
                "was applied: fix the migration and deploy again"
            ) from None
        raise MigrationError(
            f"migration {migration.name} ({migration.path}) failed when committing: {_pg_line(exc)}; "
            "nothing of it was applied (a deferred constraint, or the history table: check it)"
        ) from None


_PLAN_PREFIX = "tzurot.plan_"  # session settings holding each one-query migration's history row
_PLAN_NEXT = "tzurot.next"  # how many of them have been recorded (committed with each one)


def _planned_record_sql(history_table: str) -> sql.Composed:
    """The next planned history row (`_bind_plan`), inserted, the counter advanced: one row or
    an error (a missing setting raises), never a silent nothing. The counter is a session
    setting changed inside the migration's transaction, so a rolled-back migration rolls it
    back too."""
    return sql.SQL(
        "INSERT INTO {history} (id, checksum, finished_at, migration_name, logs, started_at,"
        " applied_steps_count)"
        " SELECT r->>'id', r->>'checksum', clock_timestamp(), r->>'name', NULL, now(), (r->>'steps')::int"
        " FROM (SELECT current_setting({prefix} || set_config({next},"
        " (current_setting({next})::int + 1)::text, false))::json AS r) AS planned"
    ).format(history=history.table_identifier(history_table), prefix=sql.Literal(_PLAN_PREFIX),
             next=sql.Literal(_PLAN_NEXT))


def _bind_plan(conn: psycopg.Connection, migrations: Sequence[Migration], history_table: str, *,
               prepare: bool) -> None:
    """Bind the history rows of the migrations sent as one query, in order, into session
    settings (one statement, values as bound parameters), for `EXECUTE tzurot_record`; with
    `prepare`, or when a migration discarded it, prepare `tzurot_record` too."""
    names = [_PLAN_NEXT] + [f"{_PLAN_PREFIX}{n}" for n in range(1, len(migrations) + 1)]
    rows = ["0"] + [
        json.dumps({"id": str(uuid.uuid4()), "checksum": m.checksum, "name": m.name,
                    "steps": len(m.statements)})
        for m in migrations
    ]
    conn.execute("SELECT count(set_config(k, v, false)) FROM unnest(%s::text[], %s::text[]) AS t(k, v)",
                 (names, rows))
    if not prepare:
        prepare = conn.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s",
                               (_RECORD_STATEMENT,)).fetchone() is None
    if prepare:
        conn.execute(sql.SQL("PREPARE {} AS {}").format(
            sql.Identifier(_RECORD_STATEMENT), _planned_record_sql(history_table)))


@functools.lru_cache(maxsize=8)
def _record_sql(history_table: str) -> sql.Composed:
    """The finished history row, Prisma's columns only, taking the parameters (id, checksum,
    migration_name, applied_steps_count): for migrations sent statement by statement."""
    return sql.SQL(
        "INSERT INTO {history} (id, checksum, finished_at, migration_name, logs, started_at,"
        " applied_steps_count) VALUES (%s, %s, clock_timestamp(), %s, NULL, now(), %s)"
    ).format(history=history.table_identifier(history_table))


def _apply_statement_by_statement(
    conn: psycopg.Connection, migration: Migration, history_table: str
) -> None:
    table = history.table_identifier(history_table)
    row_id = str(uuid.uuid4())
    statements = migration.statements
    # The row comes first, so a crash half-way leaves a failed row that blocks later deploys.
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (id, checksum, migration_name, started_at, applied_steps_count)"
            " VALUES (%s, %s, %s, now(), 0)"
        ).format(table),
        (row_id, migration.checksum, migration.name),
    )
    update_steps = sql.SQL("UPDATE {} SET applied_steps_count = %s WHERE id = %s").format(table)
    for done, stmt in enumerate(statements):
        try:
            conn.execute(stmt.text)
        except psycopg.Error as exc:
            if not conn.broken:
                _fail(conn, migration, stmt, exc, row_id, table, done, len(statements))
            raise ServerError(
                f"lost the connection while applying {migration.name} at {migration.path}:{stmt.line}: "
                f"{_pg_line(exc)}; it stays recorded as failed after {done} of {len(statements)} "
                f"statement(s): check the database, then `tzurot migrate resolve --rolled-back "
                f"{migration.name}` (or --applied)"
            ) from None
        conn.execute(update_steps, (done + 1, row_id))
    conn.execute(
        sql.SQL("UPDATE {} SET finished_at = clock_timestamp() WHERE id = %s").format(table), (row_id,)
    )


def _fail(conn: psycopg.Connection, migration: Migration, stmt: Statement, exc: psycopg.Error,
          row_id: str, table: sql.Composable, done: int, total: int) -> None:
    """Record a non-transactional migration's failure in its row's logs; raise MigrationError."""
    message = statement_error(migration, stmt, exc)
    with suppress(psycopg.Error):
        conn.execute(sql.SQL("UPDATE {} SET logs = %s WHERE id = %s").format(table), (message, row_id))
    raise MigrationError(
        f"{message}; {migration.name} runs outside a transaction: {done} of {total} "
        "statement(s) were applied and it is recorded as failed, which blocks deploys: undo or "
        f"finish it by hand, then `tzurot migrate resolve --rolled-back {migration.name}` "
        "(or --applied)"
    )


def statement_error(
    migration: Migration, stmt: Statement, exc: psycopg.Error, offset: int | None = None
) -> str:
    """`migration NAME failed at FILE:LINE: STATEMENT: PostgreSQL: MESSAGE (SQLSTATE)`, one line;
    `offset` is where in the statement the error is, when the caller knows it."""
    if offset is None:
        offset = _error_offset(stmt.text, exc)
    line = stmt.line + stmt.text.count("\n", 0, offset)
    return (
        f"migration {migration.name} failed at {migration.path}:{line}: {excerpt(stmt.text)}: "
        f"PostgreSQL: {_pg_line(exc)}"
    )


def _name_offsets(text: str, name: str) -> list[int]:
    """Where `name` appears in `text` as a whole identifier (bare or double-quoted)."""
    pattern = rf'(?<![\w$"]){re.escape(name)}(?![\w$])|"{re.escape(name)}"'
    return [m.start() for m in re.finditer(pattern, text, re.I)]


def _error_offset(text: str, exc: psycopg.Error) -> int:
    """Where in `text` the error is: PostgreSQL's position, else the one place the object its
    message names (`relation "x" does not exist`) appears, else the statement's start."""
    position = exc.diag.statement_position
    if position and position.isdigit():
        return max(0, int(position) - 1)
    for name in _QUOTED.findall(exc.diag.message_primary or ""):
        hits = _name_offsets(text, name)
        if len(hits) == 1:
            return hits[0]
    return 0


def excerpt(text: str, limit: int = 80) -> str:
    """A statement on one line, cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _pg_line(exc: psycopg.Error) -> str:
    diag = exc.diag
    primary = diag.message_primary or (str(exc).strip().splitlines() or ["unknown error"])[0]
    text = " ".join(primary.split())
    if diag.sqlstate:
        text += f" ({diag.sqlstate})"
    if diag.message_hint:
        text += f"; hint: {' '.join(diag.message_hint.split())}"
    return dsn_mod.mask(text)
