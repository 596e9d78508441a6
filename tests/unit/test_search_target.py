"""Where the search check's index definition comes from without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tzurot import config
from pytest_tzurot.errors import GuardFailure
from pytest_tzurot.search.target import static_target


def project(tmp_path: Path, migrations: dict[str, str], protected: str = "") -> config.Manifest:
    for name, sql in migrations.items():
        folder = tmp_path / "migrations" / name
        folder.mkdir(parents=True)
        (folder / "migration.sql").write_text(sql, encoding="utf-8")
    (tmp_path / "q.sql").write_text("SELECT 1", encoding="utf-8")
    (tmp_path / "ci.yml").write_text(
        f"migrations: {{dir: migrations}}\n{protected}search:\n  - {{name: s, query: q.sql, index: idx_e}}\n",
        encoding="utf-8",
    )
    return config.load(tmp_path / "ci.yml")


CREATE = (
    '-- vector index\nCREATE INDEX IF NOT EXISTS "idx_e" ON "app"."docs" USING hnsw ("emb" vector_ip_ops) '
    "WITH (m = 8, ef_construction = 32);"
)


def test_manifest_protected_index_wins(tmp_path: Path) -> None:
    manifest = project(
        tmp_path,
        {"001_a": CREATE},
        protected=(
            "protected_indexes:\n  - {name: idx_e, table: docs, column: emb, method: ivfflat, "
            "opclass: vector_cosine_ops, with: {lists: 7}}\n"
        ),
    )
    target = static_target(manifest, "idx_e")
    assert (target.method, target.opclass, target.options["lists"]) == ("ivfflat", "vector_cosine_ops", "7")
    assert "protected_indexes" in target.source


def test_definition_is_parsed_from_the_migrations(tmp_path: Path) -> None:
    target = static_target(project(tmp_path, {"001_a": CREATE}), "idx_e")
    assert (target.schema, target.table, target.column) == ("app", "docs", "emb")
    assert (target.method, target.opclass) == ("hnsw", "vector_ip_ops")
    assert target.options == {"m": "8", "ef_construction": "32"}
    assert target.source == "migrations/001_a/migration.sql:2"


def test_default_opclass_and_later_recreation(tmp_path: Path) -> None:
    manifest = project(
        tmp_path,
        {
            "001_a": "CREATE INDEX idx_e ON docs USING ivfflat (emb);",
            "002_b": "DROP INDEX idx_e; CREATE INDEX idx_e ON docs USING ivfflat (emb vector_cosine_ops);",
        },
    )
    assert static_target(manifest, "idx_e").opclass == "vector_cosine_ops"


@pytest.mark.parametrize(
    "later", ["DROP INDEX IF EXISTS public.idx_e CASCADE;", 'ALTER INDEX "idx_e" RENAME TO idx_other;']
)
def test_dropped_or_renamed_index_is_a_clear_failure(tmp_path: Path, later: str) -> None:
    manifest = project(tmp_path, {"001_a": CREATE, "002_b": later})
    with pytest.raises(GuardFailure, match=r"idx_e: not declared under protected_indexes .* no migration"):
        static_target(manifest, "idx_e")
