"""The lint rules over one migration file (TZ000-TZ005, TZ010, TZ011).

A migration must be self-contained: each file is checked on its own, from
the state where every protected index exists as the manifest declares it.
Statements are simulated in order, so a protected index that is dropped and
recreated with the manifest's definition later in the same file is fine,
and one restored by a later migration is still lost in this one.
Identifiers follow PostgreSQL (unquoted fold to lower case, quoted are
exact); unqualified names resolve through `search_path` (default `public`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from pytest_tzurot.config import PGVECTOR_DEFAULTS, ProtectedIndex
from pytest_tzurot.sql.lint import grammar as g
from pytest_tzurot.sql.lint.ddl import create_index_sql, quote
from pytest_tzurot.sql.lint.findings import Finding
from pytest_tzurot.sql.lint.lexer import (
    Chunk,
    Positions,
    Token,
    Unterminated,
    lex,
    statements,
    without_comments,
)

# The runner's directive (pytest_tzurot.migrations.discovery), matched the same way.
NO_TRANSACTION = re.compile(r"^\s*--\s*tzurot\s*:\s*no[-_ ]transaction\s*$", re.IGNORECASE)
_IDEMPOTENT_CREATE = {"TABLE", "SCHEMA", "EXTENSION", "SEQUENCE", "MATERIALIZED VIEW"}
_REPLACEABLE = {"FUNCTION", "PROCEDURE", "TRIGGER", "VIEW"}


def _pi(ix: ProtectedIndex) -> str:
    return f'protected index "{ix.name}"'


@dataclass
class _IndexState:
    """What the simulation knows about one protected index while walking a migration."""

    index: ProtectedIndex
    occupied: bool = True  # its name exists in its schema
    intact: bool = True  # it exists exactly as the manifest declares
    loss: Finding | None = None
    rename_back: tuple[str, str] | None = None  # (what, current name) a rename back restores
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedStatement:
    statement: Chunk
    tokens: list[Token]
    node: g.Node | None  # None when unparseable


class MigrationLint:
    """Lint one migration's text; `run()` returns its findings (before suppression)."""

    def __init__(
        self, text: str, path: str, indexes: tuple[ProtectedIndex, ...], absent: frozenset[str] = frozenset()
    ) -> None:
        """`absent`: names of protected indexes that no earlier migration has created yet (nothing to
        lose there); the others are assumed to exist as declared when the migration starts."""
        self.text = text
        self.path = path
        self.indexes = indexes
        self.findings: list[Finding] = []
        self.search_path = ["public"]
        self.states = [
            _IndexState(
                ix,
                occupied=ix.name not in absent,
                intact=ix.name not in absent,
                options=ix.effective_options(),
            )
            for ix in indexes
        ]
        self.dropped: set[tuple[str, str]] = set()  # (kind, name) dropped earlier in the file
        self.positions = Positions(text)
        self.comments: list = []
        self.parsed: list[ParsedStatement] = []

    def present_after(self) -> frozenset[str]:
        """Names of the protected indexes that exist (by name) once the migration has run."""
        return frozenset(state.index.name for state in self.states if state.occupied)

    # -- helpers -----------------------------------------------------------------------------
    def at(self, offset: int) -> tuple[int, int]:
        return self.positions.of(offset)

    def add(self, rule: str, offset: int, message: str, hint: str = "") -> Finding:
        line, column = self.at(offset)
        finding = Finding(rule, self.path, line, column, message, hint)
        self.findings.append(finding)
        return finding

    def make(self, rule: str, offset: int, message: str, hint: str = "") -> Finding:
        line, column = self.at(offset)
        return Finding(rule, self.path, line, column, message, hint)

    def refers(self, name: g.Name, schema: str, obj: str) -> bool:
        """Does `name` (as written, resolved through search_path) denote `schema.obj`?"""
        if name.name != obj:
            return False
        return name.schema == schema if name.schema is not None else schema in self.search_path

    def lose(
        self,
        state: _IndexState,
        finding: Finding,
        *,
        occupied: bool,
        rename_back: tuple[str, str] | None = None,
    ) -> None:
        state.occupied = occupied
        if state.intact:
            state.intact = False
            state.loss = finding
            state.rename_back = rename_back
        else:
            state.rename_back = None  # a second loss: renaming back no longer restores it

    def restore_by_rename(self, what: str, old: str, new: str, target: str) -> None:
        for state in self.states:
            if state.rename_back == (what, old) and new == target:
                state.intact, state.loss, state.rename_back, state.occupied = True, None, None, True

    # -- driver ------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        try:
            tokens, self.comments = lex(self.text)
        except Unterminated as exc:
            self.findings.append(
                Finding(
                    "TZ000",
                    self.path,
                    exc.line,
                    exc.column,
                    f"unparseable SQL: {exc}",
                    "close it; PostgreSQL rejects this file",
                )
            )
            return self.findings
        chunks = statements(tokens, len(self.text))
        self.parsed = [ParsedStatement(chunk, chunk.tokens, None) for chunk in chunks]
        no_transaction = bool(NO_TRANSACTION.match(self.text.split("\n", 1)[0]))
        block_start: int | None = None
        snapshot: list[_IndexState] | None = None
        concurrent: list[tuple[ParsedStatement, int | None]] = []
        for parsed in self.parsed:
            node = self.parse(parsed)
            if node is None:
                continue
            if isinstance(node, g.Transaction):
                if node.kind == "begin":
                    block_start, snapshot = parsed.statement.start, copy.deepcopy(self.states)
                elif node.kind == "rollback" and snapshot is not None:
                    self.states, block_start, snapshot = snapshot, None, None
                else:
                    block_start, snapshot = None, None
                continue
            if self.is_concurrent(parsed, node):
                concurrent.append((parsed, block_start))
            self.check(parsed, node)
        self.check_transactions(concurrent, no_transaction)
        for state in self.states:
            if state.loss is not None:
                self.findings.append(state.loss)
        return self.findings

    def parse(self, parsed: ParsedStatement) -> g.Node | None:
        tokens = parsed.tokens
        first = tokens[0]
        if first.upper not in g.COMMANDS and not (first.kind == "punct" and first.value == "("):
            self.add(
                "TZ000",
                first.start,
                f"unparseable SQL: {first.value!r} does not start a PostgreSQL statement",
                "fix the statement; PostgreSQL rejects it",
            )
            return None
        opened: list[Token] = []
        where = None
        for token in tokens:
            if token.kind == "punct" and token.value == "(":
                opened.append(token)
            elif token.kind == "punct" and token.value == ")":
                if not opened:
                    where = token
                    break
                opened.pop()
        if where is None and opened:
            where = opened[-1]
        if where is not None:
            self.add(
                "TZ000",
                where.start,
                "unparseable SQL: unbalanced parentheses in this statement",
                "fix the statement; PostgreSQL rejects it",
            )
            return None
        try:
            parsed.node = g.parse_statement(tokens, self.text)
        except g.Unparseable as exc:
            offset = exc.token.start if exc.token else tokens[-1].end
            self.add("TZ000", offset, f"unparseable SQL: {exc}", "fix the statement; PostgreSQL rejects it")
            return None
        return parsed.node

    @staticmethod
    def is_concurrent(parsed: ParsedStatement, node: g.Node) -> bool:
        if isinstance(node, (g.CreateIndex, g.Drop)):
            return node.concurrently
        return parsed.tokens[0].upper == "REINDEX" and any(t.upper == "CONCURRENTLY" for t in parsed.tokens)

    # -- per statement -----------------------------------------------------------------------
    def check(self, parsed: ParsedStatement, node: g.Node) -> None:
        start = parsed.statement.start
        if isinstance(node, g.SearchPath):
            self.search_path = node.schemas or ["public"]
        elif isinstance(node, g.CreateIndex):
            self.create_index(node, start)
        elif isinstance(node, g.Drop):
            self.drop(node, start)
        elif isinstance(node, g.AlterIndex):
            self.alter_index(node, start)
        elif isinstance(node, g.AlterTable):
            self.alter_table(node)
        elif isinstance(node, g.AlterSchema):
            for state in self.states:
                ix = state.index
                if node.name.name == ix.schema and node.new_name and node.new_name != ix.schema:
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            node.name.token.start,
                            f"{_pi(ix)} is lost: its schema {quote(ix.schema)} is renamed "
                            f"to {quote(node.new_name)}",
                            "keep the schema name, or update the manifest",
                        ),
                        occupied=False,
                        rename_back=("schema", node.new_name),
                    )
        elif isinstance(node, g.CreateObject):
            self.create_object(node, start)
        elif isinstance(node, g.Opaque):
            what = {"DO": "DO block", "PREPARE": "PREPARE", "EXECUTE": "EXECUTE"}[node.kind]
            self.opaque(what, node.body, start)

    def opaque(self, what: str, body: str, offset: int) -> None:
        if not body:
            return
        text = without_comments(body)
        for state in self.states:
            ix = state.index
            mentioned = [
                f"{quote(value)} ({role})"
                for value, role in (
                    (ix.name, "protected index"),
                    (ix.table, "its table"),
                    (ix.column, "its column"),
                )
                if re.search(rf"(?<![\w$]){re.escape(value)}(?![\w$])", text, re.IGNORECASE)
            ]
            if mentioned:
                self.add(
                    "TZ005",
                    offset,
                    f"{what} mentions {', '.join(mentioned)}; the lint cannot see what it does",
                    f"check it keeps {quote(ix.name)} as declared; if so, suppress with "
                    f"`-- tzurot: ignore TZ005 <reason>` on the line before",
                )

    def create_index(self, node: g.CreateIndex, offset: int) -> None:
        if not node.if_not_exists:
            if node.name is None:
                self.add(
                    "TZ010",
                    offset,
                    "CREATE INDEX without a name creates another index on every run",
                    "name the index and write CREATE INDEX IF NOT EXISTS <name>",
                )
            else:
                self.add(
                    "TZ010",
                    offset,
                    f"CREATE INDEX {quote(node.name.name)} without IF NOT EXISTS fails when the index exists",
                    "write CREATE INDEX IF NOT EXISTS",
                )
        if node.name is None:
            return
        for state in self.states:
            ix = state.index
            if node.name.name != ix.name:
                continue
            schema = node.table.schema
            if (schema is not None and schema != ix.schema) or (
                schema is None and ix.schema not in self.search_path
            ):
                continue
            diffs = self.differences(node, ix)
            token = node.name.token
            if state.occupied:
                if diffs:
                    self.add(
                        "TZ004",
                        token.start,
                        f"{_pi(ix)} is declared with {'; '.join(diffs)}",
                        create_index_sql(ix),
                    )
                continue
            state.occupied = True
            if diffs:
                # Built on another table that a later rename puts in place (a table rebuild): renaming
                # that table to the declared one restores the index.
                only_table = len(diffs) == 1 and node.table.name != ix.table
                state.intact = False
                state.rename_back = ("table", node.table.name) if only_table else None
                state.loss = self.make(
                    "TZ004",
                    token.start,
                    f"{_pi(ix)} is recreated with {'; '.join(diffs)}",
                    create_index_sql(ix),
                )
            else:
                state.intact, state.loss, state.rename_back = True, None, None
                state.options = ix.effective_options()

    def differences(self, node: g.CreateIndex, ix: ProtectedIndex) -> list[str]:
        diffs: list[str] = []
        if node.table.name != ix.table:
            diffs.append(f"table {node.table} (manifest: {ix.table})")
        if node.method != ix.method:
            diffs.append(f"method {node.method} (manifest: {ix.method})")
        if len(node.elements) != 1 or node.elements[0].column != ix.column:
            columns = ", ".join(e.text for e in node.elements)
            diffs.append(f"columns ({columns}) (manifest: ({ix.column}))")
        elif node.method in PGVECTOR_DEFAULTS:
            prefix = ix.opclass.rsplit("_", 2)[0] if ix.opclass.count("_") >= 2 else "vector"
            opclass = node.elements[0].opclass or f"{prefix}_l2_ops"
            if opclass != ix.opclass.lower():
                diffs.append(f"opclass {opclass} (manifest: {ix.opclass})")
        declared = dict(PGVECTOR_DEFAULTS.get(node.method, {}))
        options = {k: str(v) for k, v in declared.items()}
        options.update(node.options)
        if node.method == ix.method and options != ix.effective_options():
            shown = ", ".join(f"{k} = {v}" for k, v in sorted(options.items()))
            wanted = ", ".join(f"{k} = {v}" for k, v in sorted(ix.effective_options().items()))
            diffs.append(f"options {shown} (manifest: {wanted})")
        if node.unique:
            diffs.append("UNIQUE (manifest: not unique)")
        if node.partial:
            diffs.append("a WHERE predicate (manifest: the whole table)")
        if node.include:
            diffs.append("INCLUDE columns (manifest: none)")
        return diffs

    def drop(self, node: g.Drop, offset: int) -> None:
        if not node.if_exists:
            self.add(
                "TZ010",
                offset,
                f"DROP {node.kind} without IF EXISTS fails when it is already gone",
                f"write DROP {node.kind} IF EXISTS",
            )
        for name in node.names:
            self.dropped.add((node.kind, name.name))
        for state in self.states:
            ix = state.index
            hint = create_index_sql(ix)
            for name in node.names:
                if node.kind == "INDEX" and self.refers(name, ix.schema, ix.name):
                    self.lose(
                        state,
                        self.make(
                            "TZ001",
                            name.token.start,
                            f"{_pi(ix)} is dropped and not recreated in this migration "
                            "with the manifest's definition",
                            f"recreate it after the drop: {hint}",
                        ),
                        occupied=False,
                    )
                elif node.kind == "TABLE" and self.refers(name, ix.schema, ix.table):
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            name.token.start,
                            f"{_pi(ix)} is lost: its table {quote(ix.table)} is dropped",
                            f"recreate the table, then: {hint}",
                        ),
                        occupied=False,
                    )
                elif node.kind == "SCHEMA" and node.cascade and name.name == ix.schema:
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            name.token.start,
                            f"{_pi(ix)} is lost: DROP SCHEMA {quote(ix.schema)} CASCADE "
                            "drops it with its table",
                            f"recreate the schema and table, then: {hint}",
                        ),
                        occupied=False,
                    )
                elif node.kind == "EXTENSION" and node.cascade and name.name == "vector":
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            name.token.start,
                            f"{_pi(ix)} is lost: DROP EXTENSION vector CASCADE drops "
                            f"every vector column ({quote(ix.table)}.{quote(ix.column)}) and index",
                            f"do not drop the extension; to upgrade it use ALTER EXTENSION vector UPDATE; "
                            f"else recreate the column, then: {hint}",
                        ),
                        occupied=False,
                    )

    def alter_index(self, node: g.AlterIndex, offset: int) -> None:
        for state in self.states:
            ix = state.index
            if node.action == "rename" and node.new_name is not None:
                new = g.fold(node.new_name)
                self.restore_by_rename("index", node.name.name, new, ix.name)
            if not self.refers(node.name, ix.schema, ix.name):
                continue
            if node.action == "rename" and node.new_name is not None:
                new = g.fold(node.new_name)
                if new != ix.name:
                    self.lose(
                        state,
                        self.make(
                            "TZ003",
                            node.name.token.start,
                            f"{_pi(ix)} is renamed to {quote(new)}",
                            f"keep its name (rename it back: ALTER INDEX {quote(new)} RENAME TO "
                            f"{quote(ix.name)};), or rename it in the manifest too",
                        ),
                        occupied=False,
                        rename_back=("index", new),
                    )
            elif node.action == "set_schema" and node.new_name is not None:
                new = g.fold(node.new_name)
                if new != ix.schema:
                    self.lose(
                        state,
                        self.make(
                            "TZ003",
                            node.name.token.start,
                            f"{_pi(ix)} is moved to schema {quote(new)}",
                            f"keep it in {quote(ix.schema)}, or set schema: {new} in the manifest",
                        ),
                        occupied=False,
                    )
            elif node.action in ("set", "reset"):
                options = dict(state.options)
                options.update(node.options)
                for key in node.reset:
                    options.pop(key, None)
                    default = PGVECTOR_DEFAULTS.get(ix.method, {}).get(key)
                    if default is not None:
                        options[key] = str(default)
                state.options = options
                if options != ix.effective_options():
                    shown = ", ".join(f"{k} = {v}" for k, v in sorted(options.items()))
                    self.lose(
                        state,
                        self.make(
                            "TZ004",
                            node.name.token.start,
                            f"{_pi(ix)} gets options {shown} (manifest: "
                            f"{', '.join(f'{k} = {v}' for k, v in sorted(ix.effective_options().items()))})",
                            f"drop it and recreate it as declared: {create_index_sql(ix)}",
                        ),
                        occupied=True,
                    )

    def alter_table(self, node: g.AlterTable) -> None:
        for action in node.actions:
            if action.kind in ("add_column", "drop_column", "drop_constraint") and not action.guarded:
                verb = {
                    "add_column": ("ADD COLUMN", "IF NOT EXISTS"),
                    "drop_column": ("DROP COLUMN", "IF EXISTS"),
                    "drop_constraint": ("DROP CONSTRAINT", "IF EXISTS"),
                }[action.kind]
                self.add(
                    "TZ010",
                    (action.start or action.token).start,
                    f"ALTER TABLE ... {verb[0]} without {verb[1]} fails on a second run",
                    f"write {verb[0]} {verb[1]}",
                )
            if action.kind == "rename_table" and action.new_name:
                for state in self.states:
                    self.restore_by_rename("table", node.name.name, action.new_name, state.index.table)
            if action.kind == "rename_column" and action.new_name and action.column:
                for state in self.states:
                    if self.refers(node.name, state.index.schema, state.index.table):
                        self.restore_by_rename("column", action.column, action.new_name, state.index.column)
        for state in self.states:
            ix = state.index
            if not self.refers(node.name, ix.schema, ix.table):
                continue
            hint = create_index_sql(ix)
            for action in node.actions:
                if action.kind == "drop_column" and action.column == ix.column:
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            action.token.start,
                            f"{_pi(ix)} is lost: its column {quote(ix.column)} is dropped",
                            f"keep the column; if it must change, re-add it and then: {hint}",
                        ),
                        occupied=False,
                    )
                elif (
                    action.kind == "rename_column"
                    and action.column == ix.column
                    and action.new_name != ix.column
                ):
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            action.token.start,
                            f"{_pi(ix)} no longer indexes {quote(ix.column)}: the column is "
                            f"renamed to {quote(action.new_name or '')}",
                            "keep the column name, or update column: in the manifest",
                        ),
                        occupied=True,
                        rename_back=("column", action.new_name or ""),
                    )
                elif action.kind == "rename_table" and action.new_name != ix.table:
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            action.token.start,
                            f"{_pi(ix)} is no longer on {quote(ix.table)}: the table is "
                            f"renamed to {quote(action.new_name or '')}",
                            "keep the table name, or update table: in the manifest",
                        ),
                        occupied=True,
                        rename_back=("table", action.new_name or ""),
                    )
                elif action.kind == "set_schema" and action.new_name != ix.schema:
                    self.lose(
                        state,
                        self.make(
                            "TZ002",
                            action.token.start,
                            f"{_pi(ix)} leaves schema {quote(ix.schema)}: its table moves to "
                            f"{quote(action.new_name or '')}",
                            "keep the table's schema, or update schema: in the manifest",
                        ),
                        occupied=False,
                    )
                elif action.kind == "alter_type" and action.column == ix.column:
                    self.add(
                        "TZ005",
                        action.token.start,
                        f"the type of {quote(ix.table)}.{quote(ix.column)} changes: PostgreSQL rebuilds "
                        f"{quote(ix.name)}, and fails or loses it if {ix.opclass} does not fit the new type",
                        f"check the new type still matches {ix.opclass} (e.g. vector(N) with the same N as "
                        "the queries)",
                    )

    def create_object(self, node: g.CreateObject, offset: int) -> None:
        name = node.name.name if node.name else ""
        if node.kind in _IDEMPOTENT_CREATE and not node.if_not_exists:
            self.add(
                "TZ010",
                offset,
                f"CREATE {node.kind} without IF NOT EXISTS fails when it exists",
                f"write CREATE {node.kind} IF NOT EXISTS",
            )
        elif node.kind in _REPLACEABLE and not node.or_replace and (node.kind, name) not in self.dropped:
            self.add(
                "TZ010",
                offset,
                f"CREATE {node.kind} without OR REPLACE fails when it exists",
                f"write CREATE OR REPLACE {node.kind}, or DROP {node.kind} IF EXISTS first",
            )
        if node.kind in ("FUNCTION", "PROCEDURE") and node.body:
            self.opaque(f"{node.kind.lower()} {quote(name)} body", node.body, offset)

    # -- whole file --------------------------------------------------------------------------
    def check_transactions(self, concurrent: list[tuple[ParsedStatement, int | None]], no_tx: bool) -> None:
        """TZ011: CONCURRENTLY inside the file's own BEGIN ... COMMIT block fails under every runner.
        TZ012: CONCURRENTLY next to other statements without `-- tzurot: no-transaction`: tzurot's
        runner then runs the file statement by statement, but Prisma Migrate runs it as one
        transaction and fails."""
        others = len(self.parsed) - 1
        for parsed, block_start in concurrent:
            words = " ".join(t.upper for t in parsed.tokens[:3])
            what = (
                "REINDEX ... CONCURRENTLY"
                if words.startswith("REINDEX")
                else ("DROP INDEX CONCURRENTLY" if words.startswith("DROP") else "CREATE INDEX CONCURRENTLY")
            )
            if block_start is not None:
                line, _ = self.at(block_start)
                self.add(
                    "TZ011",
                    parsed.statement.start,
                    f"{what} cannot run inside a transaction block (BEGIN at line {line})",
                    "remove the BEGIN/COMMIT around it, or move it into a migration of its own",
                )
            elif others and not no_tx:
                self.add(
                    "TZ012",
                    parsed.statement.start,
                    f"{what} shares this migration with {others} other statement(s): Prisma Migrate runs "
                    "the file as one transaction, where it fails; tzurot's runner silently applies it "
                    "statement by statement (not atomically)",
                    "move it into a migration of its own, or make line 1 `-- tzurot: no-transaction`",
                )
