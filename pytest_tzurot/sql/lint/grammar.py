"""Recognise the DDL statements the lint reasons about, from lexer tokens.

Only the statement forms that can lose, rename, redefine or recreate an
index (and the idempotency / transaction facts) are modelled, with
PostgreSQL's full syntax for them: `DROP INDEX a, b`, `ON ONLY`, `RENAME`
without `COLUMN`, `SET SCHEMA`, `DROP EXTENSION ... CASCADE`, and the like.
Every other statement is `Other`. A modelled statement that does not follow
the grammar raises `Unparseable` at the offending token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_tzurot.sql.lint.lexer import Token

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# First words of every PostgreSQL command; anything else cannot run.
COMMANDS = frozenset(
    [
        "ABORT",
        "ALTER",
        "ANALYSE",
        "ANALYZE",
        "BEGIN",
        "CALL",
        "CHECKPOINT",
        "CLOSE",
        "CLUSTER",
        "COMMENT",
        "COMMIT",
        "COPY",
        "CREATE",
        "DEALLOCATE",
        "DECLARE",
        "DELETE",
        "DISCARD",
        "DO",
        "DROP",
        "END",
        "EXECUTE",
        "EXPLAIN",
        "FETCH",
        "GRANT",
        "IMPORT",
        "INSERT",
        "LISTEN",
        "LOAD",
        "LOCK",
        "MERGE",
        "MOVE",
        "NOTIFY",
        "PREPARE",
        "REASSIGN",
        "REFRESH",
        "REINDEX",
        "RELEASE",
        "RESET",
        "REVOKE",
        "ROLLBACK",
        "SAVEPOINT",
        "SECURITY",
        "SELECT",
        "SET",
        "SHOW",
        "START",
        "TABLE",
        "TRUNCATE",
        "UNLISTEN",
        "UPDATE",
        "VACUUM",
        "VALUES",
        "WITH",
    ]
)

# First words of the object types CREATE / ALTER / DROP accept.
OBJECT_KINDS = frozenset(
    [
        "ACCESS",
        "AGGREGATE",
        "CAST",
        "COLLATION",
        "CONVERSION",
        "DATABASE",
        "DEFAULT",
        "DOMAIN",
        "EVENT",
        "EXTENSION",
        "FOREIGN",
        "FUNCTION",
        "GROUP",
        "INDEX",
        "LANGUAGE",
        "LARGE",
        "MATERIALIZED",
        "OPERATOR",
        "OWNED",
        "POLICY",
        "PROCEDURE",
        "PUBLICATION",
        "ROLE",
        "ROUTINE",
        "RULE",
        "SCHEMA",
        "SEQUENCE",
        "SERVER",
        "STATISTICS",
        "SUBSCRIPTION",
        "SYSTEM",
        "TABLE",
        "TABLESPACE",
        "TEXT",
        "TRANSFORM",
        "TRIGGER",
        "TYPE",
        "USER",
        "VIEW",
    ]
)


class Unparseable(Exception):
    """The statement does not follow PostgreSQL's grammar at `token` (None: at its end)."""

    def __init__(self, expected: str, token: Token | None) -> None:
        got = f"{token.value!r}" if token else "the end of the statement"
        super().__init__(f"expected {expected}, got {got}")
        self.token = token


def fold(token: Token) -> str:
    """PostgreSQL identifier folding: unquoted names to lower case (ASCII), quoted names exact."""
    return token.value if token.kind == "ident" else token.value.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Name:
    """A possibly qualified name, folded; `token` is where its last part is."""

    parts: tuple[str, ...]
    token: Token

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def schema(self) -> str | None:
        return self.parts[-2] if len(self.parts) >= 2 else None

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class IndexElement:
    column: str | None  # the column when the element is a plain column, else None (an expression)
    opclass: str | None
    text: str


@dataclass
class CreateIndex:
    name: Name | None
    table: Name
    unique: bool = False
    concurrently: bool = False
    if_not_exists: bool = False
    method: str = "btree"
    elements: list[IndexElement] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    partial: bool = False
    include: bool = False


@dataclass
class Drop:
    kind: str  # INDEX, TABLE, SCHEMA, EXTENSION, FUNCTION, TRIGGER, ... (upper case, words joined)
    names: list[Name]
    if_exists: bool
    cascade: bool
    concurrently: bool = False
    on_table: Name | None = None  # DROP TRIGGER/POLICY/RULE name ON table


@dataclass
class AlterIndex:
    name: Name
    action: str  # rename, set_schema, set, reset, other
    new_name: Token | None = None
    options: dict[str, str] = field(default_factory=dict)
    reset: list[str] = field(default_factory=list)


@dataclass
class TableAction:
    # rename_table, rename_column, set_schema, add_column, drop_column, drop_constraint, alter_type, other
    kind: str
    token: Token
    column: str | None = None
    new_name: str | None = None
    guarded: bool = False  # IF [NOT] EXISTS given
    start: Token | None = None  # where the action starts (ADD / DROP / ALTER), for TZ010


@dataclass
class AlterTable:
    name: Name
    actions: list[TableAction]


@dataclass
class AlterSchema:
    name: Name
    new_name: str | None


@dataclass
class CreateObject:
    kind: (
        str  # TABLE, FUNCTION, PROCEDURE, TRIGGER, SCHEMA, EXTENSION, SEQUENCE, VIEW, MATERIALIZED VIEW, ...
    )
    name: Name | None
    or_replace: bool
    if_not_exists: bool
    on_table: Name | None = None
    body: str | None = None  # function/procedure bodies (opaque)


@dataclass
class Opaque:
    kind: str  # DO, PREPARE, EXECUTE
    body: str


@dataclass
class Transaction:
    kind: str  # begin, commit, rollback


@dataclass
class SearchPath:
    schemas: list[str]


@dataclass
class Other:
    pass


Node = (
    CreateIndex
    | Drop
    | AlterIndex
    | AlterTable
    | AlterSchema
    | CreateObject
    | Opaque
    | Transaction
    | SearchPath
    | Other
)


class Cursor:
    """Walks one statement's tokens."""

    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text  # the whole file
        self.i = 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, k: int = 0) -> str:
        token = self.peek(k)
        return token.upper if token else ""

    def accept(self, *words: str) -> bool:
        """Consume `words` if they come next (all of them), else nothing."""
        for k, w in enumerate(words):
            if self.word(k) != w:
                return False
        self.i += len(words)
        return True

    def accept_punct(self, value: str) -> bool:
        token = self.peek()
        if token and token.kind == "punct" and token.value == value:
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> Token:
        token = self.peek()
        if not token or token.upper != word:
            raise Unparseable(word, token)
        self.i += 1
        return token

    def identifier(self, what: str = "a name") -> Token:
        token = self.peek()
        if not token or token.kind not in ("word", "ident"):
            raise Unparseable(what, token)
        self.i += 1
        return token

    def name(self, what: str = "a name") -> Name:
        parts = [self.identifier(what)]
        while self.accept_punct("."):
            parts.append(self.identifier(what))
        return Name(tuple(fold(t) for t in parts), parts[-1])

    def names(self, what: str = "a name", skip_args: bool = False) -> list[Name]:
        result = [self.name(what)]
        if skip_args:
            self.skip_parens()
        while self.accept_punct(","):
            result.append(self.name(what))
            if skip_args:
                self.skip_parens()
        return result

    def skip_parens(self) -> str:
        """Skip a balanced `( ... )` if one comes next; return its inner text."""
        token = self.peek()
        if not token or token.value != "(" or token.kind != "punct":
            return ""
        depth = 0
        start = token.end
        while True:
            token = self.peek()
            if token is None:
                raise Unparseable("')'", None)
            self.i += 1
            if token.kind == "punct" and token.value == "(":
                depth += 1
            elif token.kind == "punct" and token.value == ")":
                depth -= 1
                if depth == 0:
                    return self.text[start : token.start]

    def accept_op(self, value: str) -> bool:
        token = self.peek()
        if token and token.kind == "op" and token.value == value:
            self.i += 1
            return True
        return False

    def seek_atomic_body(self) -> bool:
        """Move to just after `BEGIN ATOMIC` (an SQL-standard function body) if there is one."""
        for j in range(self.i, len(self.tokens) - 1):
            if self.tokens[j].upper == "BEGIN" and self.tokens[j + 1].upper == "ATOMIC":
                self.i = j + 2
                return True
        return False

    def rest(self) -> list[Token]:
        return self.tokens[self.i :]

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)


def _split_top_level(tokens: list[Token]) -> list[list[Token]]:
    """Split on commas outside parentheses."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "punct":
            if token.value == "(":
                depth += 1
            elif token.value == ")":
                depth -= 1
            elif token.value == "," and depth == 0:
                parts.append([])
                continue
        parts[-1].append(token)
    return [p for p in parts if p]


def _options(text_tokens: list[Token]) -> dict[str, str]:
    """`name = value, ...` from a WITH (...) / SET (...) list."""
    options: dict[str, str] = {}
    for part in _split_top_level(text_tokens):
        key = fold(part[0])
        values = [t for t in part[1:] if not (t.kind == "op" and t.value == "=")]
        options[key] = " ".join(fold(t) if t.kind == "word" else t.value for t in values)
    return options


def _inner_tokens(cursor: Cursor) -> list[Token]:
    """Consume a parenthesised list and return the tokens inside."""
    start = cursor.i
    cursor.skip_parens()
    return cursor.tokens[start + 1 : cursor.i - 1]


def parse_statement(tokens: list[Token], text: str) -> Node:
    """Recognise one statement; raises Unparseable for a malformed modelled statement."""
    c = Cursor(tokens, text)
    first = c.word()
    if first in ("BEGIN", "START"):
        return Transaction("begin")
    if first in ("COMMIT", "END"):
        return Other() if c.word(1) == "PREPARED" else Transaction("commit")
    if first in ("ROLLBACK", "ABORT"):
        if c.word(1) in ("TO", "PREPARED") or c.word(2) == "TO":
            return Other()
        return Transaction("rollback")
    if first == "SET":
        return _set(c)
    if first == "DO":
        return Opaque("DO", _bodies(tokens))
    if first in ("PREPARE", "EXECUTE"):
        return Opaque(first, text[tokens[0].start : tokens[-1].end])
    if first == "DROP":
        c.i = 1
        return _drop(c)
    if first == "CREATE":
        c.i = 1
        return _create(c)
    if first == "ALTER":
        c.i = 1
        if c.word() not in OBJECT_KINDS:
            raise Unparseable("an object type after ALTER", c.peek())
        if c.accept("INDEX"):
            return _alter_index(c)
        if c.accept("TABLE"):
            return _alter_table(c)
        if c.accept("SCHEMA"):
            name = c.name("a schema name")
            if c.accept("RENAME", "TO"):
                return AlterSchema(name, fold(c.identifier("the new schema name")))
            return AlterSchema(name, None)
    return Other()


def _bodies(tokens: list[Token]) -> str:
    return "\n".join(t.value for t in tokens if t.kind in ("dollar", "string"))


def _set(c: Cursor) -> Node:
    c.i = 1
    c.accept("SESSION") or c.accept("LOCAL")
    token = c.peek()
    if not token or fold(token) != "search_path":
        return Other()
    c.i += 1
    if not (c.accept("TO") or c.accept_op("=")):
        raise Unparseable("TO or =", c.peek())
    schemas: list[str] = []
    for part in _split_top_level(c.rest()):
        token = part[0]
        if token.upper == "DEFAULT":
            return SearchPath(["public"])
        value = token.value if token.kind in ("string", "ident") else fold(token)
        if value != "$user":
            schemas.append(value)
    return SearchPath(schemas)


_DROP_WITH_ON = ("TRIGGER", "POLICY", "RULE")


def _drop(c: Cursor) -> Node:
    kind_words: list[str] = []
    concurrently = False
    while True:
        w = c.word()
        if w == "CONCURRENTLY":
            concurrently = True
            c.i += 1
            continue
        if w in ("IF", "") or (kind_words and not _is_kind_word(kind_words, w)):
            break
        kind_words.append(w)
        c.i += 1
        if len(kind_words) >= 3:
            break
    kind = " ".join(kind_words)
    if kind_words and kind_words[0] not in OBJECT_KINDS:
        raise Unparseable("an object type after DROP", c.tokens[c.i - len(kind_words)])
    if kind in ("OWNED", "OWNED BY"):
        return Other()
    if not kind:
        raise Unparseable("an object type after DROP", c.peek())
    if_exists = c.accept("IF", "EXISTS")
    if c.word() == "CONCURRENTLY":
        concurrently = True
        c.i += 1
    skip_args = kind in ("FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE")
    names = c.names(f"the name of the {kind.lower()} to drop", skip_args=skip_args)
    on_table = None
    if kind in _DROP_WITH_ON and c.accept("ON"):
        on_table = c.name("a table name")
    cascade = False
    while not c.at_end():
        w = c.word()
        if w == "CASCADE":
            cascade = True
        elif w not in ("RESTRICT",):
            raise Unparseable("CASCADE, RESTRICT or the end of the statement", c.peek())
        c.i += 1
    return Drop(kind, names, if_exists, cascade, concurrently, on_table)


_MULTIWORD_KINDS = {
    ("MATERIALIZED",): {"VIEW"},
    ("FOREIGN",): {"TABLE", "DATA"},
    ("FOREIGN", "DATA"): {"WRAPPER"},
    ("TEXT",): {"SEARCH"},
    ("TEXT", "SEARCH"): {"CONFIGURATION", "DICTIONARY", "PARSER", "TEMPLATE"},
    ("OPERATOR",): {"CLASS", "FAMILY"},
    ("EVENT",): {"TRIGGER"},
    ("ACCESS",): {"METHOD"},
    ("USER",): {"MAPPING"},
    ("OWNED",): {"BY"},
}


def _is_kind_word(kind_words: list[str], w: str) -> bool:
    return w in _MULTIWORD_KINDS.get(tuple(kind_words), set())


def _create(c: Cursor) -> Node:
    or_replace = c.accept("OR", "REPLACE")
    unique = False
    while c.word() in (
        "UNIQUE",
        "TEMP",
        "TEMPORARY",
        "UNLOGGED",
        "GLOBAL",
        "LOCAL",
        "CONSTRAINT",
        "RECURSIVE",
        "TRUSTED",
        "PROCEDURAL",
        "DEFAULT",
    ):
        unique = unique or c.word() == "UNIQUE"
        c.i += 1
    if c.accept("INDEX"):
        return _create_index(c, unique)
    kind = c.word()
    if kind not in OBJECT_KINDS:
        raise Unparseable("an object type after CREATE", c.peek())
    if kind == "MATERIALIZED" and c.word(1) == "VIEW":
        c.i += 2
        kind = "MATERIALIZED VIEW"
    elif kind:
        c.i += 1
    if_not_exists = c.accept("IF", "NOT", "EXISTS")
    if kind in ("FUNCTION", "PROCEDURE"):
        name = c.name(f"a {kind.lower()} name")
        body = _bodies(c.rest())
        if c.seek_atomic_body() and not c.at_end():
            body = c.text[c.tokens[c.i].start : c.tokens[-1].end]
        return CreateObject(kind, name, or_replace, if_not_exists, body=body)
    if kind == "TRIGGER":
        name = c.name("a trigger name")
        on_table = None
        while not c.at_end():
            if c.accept("ON"):
                on_table = c.name("a table name")
                break
            c.i += 1
        return CreateObject(kind, name, or_replace, if_not_exists, on_table=on_table)
    if kind in ("TABLE", "SCHEMA", "EXTENSION", "SEQUENCE", "VIEW", "MATERIALIZED VIEW", "TYPE"):
        token = c.peek()
        if kind == "SCHEMA" and c.word() == "AUTHORIZATION":
            return CreateObject(kind, None, or_replace, if_not_exists)
        name = c.name(f"a {kind.lower()} name") if token else None
        return CreateObject(kind, name, or_replace, if_not_exists)
    return Other()


def _create_index(c: Cursor, unique: bool) -> CreateIndex:
    concurrently = c.accept("CONCURRENTLY")
    if_not_exists = c.accept("IF", "NOT", "EXISTS")
    name = None
    if c.word() != "ON":
        name = c.name("an index name or ON")
    c.expect("ON")
    c.accept("ONLY")
    table = c.name("a table name")
    c.accept_punct("*")
    method = "btree"
    if c.accept("USING"):
        method = fold(c.identifier("an index method"))
    token = c.peek()
    if not token or token.value != "(":
        raise Unparseable("'(' and the indexed columns", token)
    elements = [_index_element(part, c.text) for part in _split_top_level(_inner_tokens(c))]
    index = CreateIndex(name, table, unique, concurrently, if_not_exists, method, elements)
    while not c.at_end():
        if c.accept("INCLUDE"):
            index.include = True
            c.skip_parens()
        elif c.accept("NULLS"):
            c.accept("NOT")
            c.expect("DISTINCT")
        elif c.accept("WITH"):
            index.options = _options(_inner_tokens(c))
        elif c.accept("TABLESPACE"):
            c.identifier("a tablespace name")
        elif c.accept("WHERE"):
            index.partial = True
            break
        else:
            raise Unparseable("INCLUDE, WITH, TABLESPACE, WHERE or the end of the statement", c.peek())
    return index


def _index_element(tokens: list[Token], text: str) -> IndexElement:
    source = text[tokens[0].start : tokens[-1].end]
    first = tokens[0]
    column = None
    rest = tokens[1:]
    if first.kind in ("word", "ident") and not (rest and rest[0].kind == "punct" and rest[0].value in "(."):
        column = fold(first)
    else:
        # an expression: skip to the end of its parentheses / call
        depth, end = 0, len(tokens) - 1
        for k, token in enumerate(tokens):
            if token.kind == "punct" and token.value == "(":
                depth += 1
            elif token.kind == "punct" and token.value == ")":
                depth -= 1
                if depth == 0:
                    end = k
                    break
        rest = tokens[end + 1 :]
        if end == 2 and tokens[1].kind in ("word", "ident"):
            column = fold(tokens[1])  # `(embedding)`: PostgreSQL stores a plain column
    opclass = None
    words = [t for t in rest if t.kind in ("word", "ident")]
    j = 0
    if j < len(words) and words[j].upper == "COLLATE":
        j += 2
    if j < len(words) and words[j].upper not in ("ASC", "DESC", "NULLS"):
        # an operator class, possibly schema-qualified: take the last part
        k = rest.index(words[j])
        opclass = fold(words[j])
        while k + 2 < len(rest) and rest[k + 1].value == "." and rest[k + 2].kind in ("word", "ident"):
            opclass = fold(rest[k + 2])
            k += 2
    return IndexElement(column, opclass, source)


def _alter_index(c: Cursor) -> Node:
    if c.word() == "ALL":
        return Other()
    c.accept("IF", "EXISTS")
    name = c.name("an index name")
    if c.accept("RENAME", "TO"):
        return AlterIndex(name, "rename", new_name=c.identifier("the new index name"))
    if c.accept("SET", "SCHEMA"):
        return AlterIndex(name, "set_schema", new_name=c.identifier("a schema name"))
    if c.accept("SET"):
        token = c.peek()
        if token and token.value == "(":
            return AlterIndex(name, "set", options=_options(_inner_tokens(c)))
        return AlterIndex(name, "other")
    if c.accept("RESET"):
        return AlterIndex(name, "reset", reset=[fold(p[0]) for p in _split_top_level(_inner_tokens(c))])
    return AlterIndex(name, "other")


_CONSTRAINT_WORDS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE")


def _alter_table(c: Cursor) -> Node:
    if c.word() == "ALL":
        return Other()
    c.accept("IF", "EXISTS")
    c.accept("ONLY")
    name = c.name("a table name")
    c.accept_punct("*")
    start = c.peek()
    if start is None:
        raise Unparseable("an ALTER TABLE action", None)
    if c.accept("RENAME"):
        if c.accept("TO"):
            return AlterTable(name, [TableAction("rename_table", start, new_name=fold(c.identifier()))])
        if c.accept("CONSTRAINT"):
            return AlterTable(name, [TableAction("other", start)])
        c.accept("COLUMN")
        old = c.identifier("a column name")
        c.expect("TO")
        new = c.identifier("the new column name")
        return AlterTable(name, [TableAction("rename_column", old, column=fold(old), new_name=fold(new))])
    if c.accept("SET", "SCHEMA"):
        return AlterTable(name, [TableAction("set_schema", start, new_name=fold(c.identifier()))])
    actions = [_table_action(part) for part in _split_top_level(c.rest())]
    return AlterTable(name, actions)


def _table_action(tokens: list[Token]) -> TableAction:
    a = Cursor(tokens, "")
    first = tokens[0]
    if a.accept("ADD"):
        if a.word() in _CONSTRAINT_WORDS:
            return TableAction("other", first)
        a.accept("COLUMN")
        guarded = a.accept("IF", "NOT", "EXISTS")
        column = a.identifier("a column name")
        return TableAction("add_column", column, column=fold(column), guarded=guarded, start=first)
    if a.accept("DROP"):
        if a.accept("CONSTRAINT"):
            guarded = a.accept("IF", "EXISTS")
            return TableAction(
                "drop_constraint", a.identifier("a constraint name"), guarded=guarded, start=first
            )
        if a.word() in ("NOT", "DEFAULT", "EXPRESSION", "IDENTITY"):
            return TableAction("other", first)
        a.accept("COLUMN")
        guarded = a.accept("IF", "EXISTS")
        column = a.identifier("a column name")
        return TableAction("drop_column", column, column=fold(column), guarded=guarded, start=first)
    if a.accept("ALTER"):
        a.accept("COLUMN")
        column = a.identifier("a column name")
        if a.accept("TYPE") or a.accept("SET", "DATA", "TYPE"):
            return TableAction("alter_type", column, column=fold(column))
        return TableAction("other", column, column=fold(column))
    return TableAction("other", first)
