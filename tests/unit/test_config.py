"""The guard manifest: every section parses into typed settings, every mistake is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tzurot import config
from pytest_tzurot.errors import ConfigError

FULL = """\
migrations:
  dir: db/migrations
  history_table: schema_history
  idempotent: true
  lock_timeout: 2.5
protected_indexes:
  - name: idx_memories_embedding
    table: memories
    column: embedding
    method: ivfflat
    opclass: vector_cosine_ops
    with: {lists: 50}
  - name: idx_hnsw
    table: docs
    column: emb
    method: hnsw
    opclass: vector_l2_ops
    schema: app
pool:
  max_connections: 100
  reserved: 10
  services:
    api-gateway: 20
    ai-worker: {size: 10, replicas: 2, min_size: 2}
search:
  - name: memory_similarity
    query: queries/similar.sql
    index: idx_memories_embedding
    k: 5
    rows: 1000
    min_recall: 0.95
    settings: {ivfflat.probes: 10}
    params: {persona_id: 7}
    queries: 3
"""

# A valid base that each bad case below changes in one place.
BASE = """\
migrations:
  dir: db/migrations
protected_indexes:
  - name: idx_a
    table: t
    column: c
    method: ivfflat
    opclass: vector_cosine_ops
pool:
  max_connections: 100
  services: {api: 20}
search:
  - name: s
    query: queries/similar.sql
    index: idx_a
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "db" / "migrations").mkdir(parents=True)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "similar.sql").write_text("SELECT 1")
    return tmp_path


def write(project: Path, text: str | bytes, name: str = "ci.yml") -> Path:
    path = project / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def error_of(project: Path, text: str | bytes) -> str:
    with pytest.raises(ConfigError) as excinfo:
        config.load(write(project, text))
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_full_manifest_is_typed(project: Path) -> None:
    m = config.load(write(project, FULL))
    assert m.path == (project / "ci.yml").resolve()
    assert m.root == project.resolve()
    assert m.migrations == config.MigrationsSettings(
        dir=(project / "db" / "migrations").resolve(), history_table="schema_history",
        idempotent=True, lock_timeout=2.5,
    )
    first, second = m.protected_indexes
    assert (first.name, first.table, first.column, first.method, first.opclass, first.schema) == (
        "idx_memories_embedding", "memories", "embedding", "ivfflat", "vector_cosine_ops", "public")
    assert first.effective_options() == {"lists": "50"}
    assert second.schema == "app"
    assert second.effective_options() == {"m": "16", "ef_construction": "64"}
    assert m.pool == config.PoolSettings(
        max_connections=100, reserved=10,
        services=(config.PoolService("api-gateway", 20), config.PoolService("ai-worker", 10, 2, 2)),
    )
    assert m.pool.services[1].total == 20
    (search,) = m.search
    assert search.query == (project / "queries" / "similar.sql").resolve()
    assert (search.index, search.k, search.rows, search.min_recall, search.queries) == (
        "idx_memories_embedding", 5, 1000, 0.95, 3)
    assert dict(search.settings) == {"ivfflat.probes": 10}
    assert dict(search.params) == {"persona_id": 7}


def test_defaults(project: Path) -> None:
    m = config.load(write(project, ""))
    assert m.migrations.dir == (project / "migrations").resolve()
    assert m.migrations.history_table == "_prisma_migrations"
    assert m.migrations.idempotent is False
    assert m.migrations.lock_timeout == 10.0
    assert m.protected_indexes == () and m.pool is None and m.search == ()
    m = config.load(write(project, BASE))
    assert m.pool is not None and m.pool.reserved == 0
    assert m.pool.services == (config.PoolService("api", 20, 1, 0),)
    s = m.search[0]
    assert (s.k, s.rows, s.min_recall, s.queries, dict(s.settings), dict(s.params)) == (
        10, 20000, 0.9, 20, {}, {})


def test_repository_manifest_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    m = config.load(root / "ci.yml")
    assert m.protected_indexes[0].name == "idx_memories_embedding"
    assert m.migrations.dir == root / "migrations"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # top level and file-level problems
        ("migrations:\n  dir: db/migrations\n", "migration:\n  dir: db/migrations\n",
         "ci.yml: migration: unknown key (known keys: migrations, pool, protected_indexes, search)"),
        # migrations
        ("  dir: db/migrations\n", "  dir: nowhere\n",
         "ci.yml: migrations.dir: directory not found: nowhere"),
        ("  dir: db/migrations\n", "  dir: 3\n",
         "ci.yml: migrations.dir: expected a non-empty string, got 3"),
        ("  dir: db/migrations\n", "  dir: db/migrations\n  history_table: bad-name\n",
         "ci.yml: migrations.history_table: expected an SQL identifier (letters, digits, _), got 'bad-name'"),
        ("  dir: db/migrations\n", "  dir: db/migrations\n  idempotent: 1\n",
         "ci.yml: migrations.idempotent: expected true or false, got 1"),
        ("  dir: db/migrations\n", "  dir: db/migrations\n  lock_timeout: soon\n",
         "ci.yml: migrations.lock_timeout: expected a number, got 'soon'"),
        ("  dir: db/migrations\n", "  dir: db/migrations\n  lock_timeout: -1\n",
         "ci.yml: migrations.lock_timeout: expected a number from 0 to 86400, got -1"),
        ("  dir: db/migrations\n", "  dir: db/migrations\n  folder: x\n",
         "ci.yml: migrations.folder: unknown key"),
        ("migrations:\n  dir: db/migrations\n", "migrations: [db/migrations]\n",
         "ci.yml: migrations: expected a mapping, got ['db/migrations']"),
        # protected_indexes
        ("    method: ivfflat\n", "    method: btree\n",
         "ci.yml: protected_indexes[0].method: expected one of hnsw, ivfflat, got 'btree'"),
        ("    column: c\n", "", "ci.yml: protected_indexes[0].column: required key is missing"),
        ("    column: c\n", "    column: c\n    colour: red\n",
         "ci.yml: protected_indexes[0].colour: unknown key"),
        ("    table: t\n", "    table: ''\n",
         "ci.yml: protected_indexes[0].table: expected a non-empty string"),
        ("    opclass: vector_cosine_ops\n", "    opclass: vector_cosine_ops\n    with: {m: 8}\n",
         "ci.yml: protected_indexes[0].with.m: expected an option of ivfflat (lists)"),
        ("    opclass: vector_cosine_ops\n", "    opclass: vector_cosine_ops\n    with: {lists: 0}\n",
         "ci.yml: protected_indexes[0].with.lists: expected an integer >= 1, got 0"),
        ("    opclass: vector_cosine_ops\n", "    opclass: vector_cosine_ops\n    with: {lists: many}\n",
         "ci.yml: protected_indexes[0].with.lists: expected an integer, got 'many'"),
        ("    opclass: vector_cosine_ops\n", "    opclass: vector_cosine_ops\n    with: [lists]\n",
         "ci.yml: protected_indexes[0].with: expected a mapping of names to values"),
        ("    opclass: vector_cosine_ops\n", "    opclass: vector_cosine_ops\n    with: {lists: [1]}\n",
         "ci.yml: protected_indexes[0].with.lists: expected a number, string or boolean"),
        ("    opclass: vector_cosine_ops\n",
         "    opclass: vector_cosine_ops\n  - {name: idx_a, table: t, column: c, method: hnsw, opclass: o}\n",
         "ci.yml: protected_indexes[1].name: expected a name not used by another protected index"),
        # pool
        ("  max_connections: 100\n", "", "ci.yml: pool.max_connections: required key is missing"),
        ("  max_connections: 100\n", "  max_connections: true\n",
         "ci.yml: pool.max_connections: expected an integer, got True"),
        ("  max_connections: 100\n", "  max_connections: 100\n  reserved: -5\n",
         "ci.yml: pool.reserved: expected an integer >= 0, got -5"),
        ("  services: {api: 20}\n", "  services: [api]\n",
         "ci.yml: pool.services: expected a mapping of service names to pool sizes"),
        ("  services: {api: 20}\n", "  services: {api: 0}\n",
         "ci.yml: pool.services.api: expected an integer >= 1, got 0"),
        ("  services: {api: 20}\n", "  services: {api: {replicas: 2}}\n",
         "ci.yml: pool.services.api.size: required key is missing"),
        ("  services: {api: 20}\n", "  services: {api: {size: 5, replicas: 0}}\n",
         "ci.yml: pool.services.api.replicas: expected an integer >= 1, got 0"),
        ("  services: {api: 20}\n", "  services: {api: {size: 5, min_size: 6}}\n",
         "ci.yml: pool.services.api.min_size: expected at most size (5), got 6"),
        ("  services: {api: 20}\n", "  services: {api: {size: 5, max: 6}}\n",
         "ci.yml: pool.services.api.max: unknown key"),
        # search
        ("    query: queries/similar.sql\n", "    query: queries/missing.sql\n",
         "ci.yml: search[0].query: file not found: queries/missing.sql"),
        ("    index: idx_a\n", "", "ci.yml: search[0].index: required key is missing"),
        ("    index: idx_a\n", "    index: idx_a\n    k: 0\n",
         "ci.yml: search[0].k: expected an integer >= 1, got 0"),
        ("    index: idx_a\n", "    index: idx_a\n    rows: 1.5\n",
         "ci.yml: search[0].rows: expected an integer, got 1.5"),
        ("    index: idx_a\n", "    index: idx_a\n    min_recall: 1.5\n",
         "ci.yml: search[0].min_recall: expected a number from 0.0 to 1.0, got 1.5"),
        ("    index: idx_a\n", "    index: idx_a\n    queries: 0\n",
         "ci.yml: search[0].queries: expected an integer >= 1, got 0"),
        ("    index: idx_a\n", "    index: idx_a\n    settings: {ivfflat.probes: {a: 1}}\n",
         "ci.yml: search[0].settings.ivfflat.probes: expected a number, string or boolean"),
        ("    index: idx_a\n", "    index: idx_a\n    params: probes\n",
         "ci.yml: search[0].params: expected a mapping of names to values, got 'probes'"),
        ("    index: idx_a\n", "    index: idx_a\n    settings: {1: 2}\n",
         "ci.yml: search[0].settings: expected string keys, got 1"),
        ("    index: idx_a\n", "    index: idx_a\n  - {name: s, query: queries/similar.sql, index: i}\n",
         "ci.yml: search[1].name: expected a name not used by another search check, got 's'"),
        ("    index: idx_a\n", "    index: idx_a\n    top: 3\n", "ci.yml: search[0].top: unknown key"),
    ],
)
def test_bad_manifest_names_file_and_key(project: Path, old: str, new: str, expected: str) -> None:
    assert old in BASE
    message = error_of(project, BASE.replace(old, new, 1))
    assert message.startswith(expected), message


def test_top_level_must_be_a_mapping(project: Path) -> None:
    assert error_of(project, "- a\n- b\n") == "ci.yml: expected a mapping, got ['a', 'b']"


def test_sections_must_be_lists(project: Path) -> None:
    assert error_of(project, "protected_indexes: idx_a\n") == (
        "ci.yml: protected_indexes: expected a list, got 'idx_a'")
    assert error_of(project, "search: {name: s}\n") == "ci.yml: search: expected a list, got {'name': 's'}"
    assert error_of(project, "pool: 100\n") == "ci.yml: pool: expected a mapping, got 100"


def test_invalid_yaml_names_line_and_column(project: Path) -> None:
    message = error_of(project, "migrations:\n  dir: [unclosed\n")
    assert message.startswith("ci.yml:3:1: invalid YAML: "), message


def test_tab_indentation_is_invalid_yaml(project: Path) -> None:
    message = error_of(project, "migrations:\n\tdir: migrations\n")
    assert message.startswith("ci.yml:2:1: invalid YAML: found character '\\t'"), message


def test_not_utf8(project: Path) -> None:
    message = error_of(project, b"migrations:\n  dir: \xff\n")
    assert message.startswith("ci.yml: not UTF-8 text"), message


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yml: manifest not found \(set --tzurot-config"):
        config.load(tmp_path / "nope.yml")


def test_relative_paths_are_relative_to_the_manifest(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = project / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    m = config.load(write(project, BASE))
    assert m.migrations.dir == (project / "db" / "migrations").resolve()
