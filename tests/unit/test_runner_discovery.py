"""Discovery: layouts, ordering, and every bad input as one MigrationError naming the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_tzurot.errors import MigrationError
from pytest_tzurot.migrations import discover
from pytest_tzurot.migrations.create import create, snake_case


def folder(root: Path, name: str, body: bytes | str = "SELECT 1;\n") -> Path:
    (root / name).mkdir(parents=True)
    path = root / name / "migration.sql"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def test_prisma_layout_ordered_by_folder_name_ignoring_other_entries(tmp_path: Path):
    folder(tmp_path, "20250102000000_b")
    folder(tmp_path, "20250101000000_a", "-- tzurot: no-transaction\nVACUUM;\n")
    (tmp_path / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (tmp_path / "README.md").write_text("notes\n")
    (tmp_path / ".hidden").mkdir()
    found = discover(tmp_path)
    assert [m.name for m in found] == ["20250101000000_a", "20250102000000_b"]
    assert found[0].no_transaction_directive and not found[1].no_transaction_directive
    assert [s.line for s in found[0].statements] == [2]


def test_flat_layout_named_by_stem(tmp_path: Path):
    (tmp_path / "0002_second.sql").write_text("SELECT 2;")
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    assert [m.name for m in discover(tmp_path)] == ["0001_first", "0002_second"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda r: folder(r, "001_a", b"SELECT '\xff\xfe';\n"), r"001_a/migration.sql:1: not UTF-8"),
        (lambda r: folder(r, "001_a", "  \n-- only a comment\n/* and another */\n"), "empty migration"),
        (lambda r: folder(r, "001_a", ""), "empty migration"),
        (lambda r: (r / "001_a").mkdir(), "001_a: migration folder has no migration.sql"),
        (lambda r: (folder(r, "001_a"), (r / "001_a.sql").write_text("SELECT 1;")), "ambiguous"),
        (lambda r: (folder(r, "001_A"), folder(r, "001_a")), "differ only in case"),
        (lambda r: ((r / "1_a.sql").write_text("SELECT 1;"), (r / "01_b.sql").write_text("SELECT 1;")),
         None),
        (lambda r: ((r / "01_a.sql").write_text("SELECT 1;"), (r / "01_b.sql").write_text("SELECT 1;")),
         "share version 01"),
        (lambda r: (r / "notes.sql").write_text("SELECT 1;"), "must be named NNNN_name.sql"),
        (lambda r: folder(r, "001_a", "SELECT 'unterminated;\n"), r"001_a/migration.sql:1:8: unterminated"),
        (lambda r: ((r / "001_a").mkdir(), os.mkfifo(r / "001_a" / "migration.sql")), "not a regular file"),
        (lambda r: ((r / "001_a").mkdir(), (r / "001_a" / "migration.sql").mkdir()), "not a regular file"),
    ],
)
def test_bad_input_is_one_line_naming_the_path(tmp_path: Path, setup, expected):
    setup(tmp_path)
    if expected is None:
        assert len(discover(tmp_path)) == 2
        return
    with pytest.raises(MigrationError, match=expected) as raised:
        discover(tmp_path)
    assert "\n" not in str(raised.value)


def test_unusable_directory(tmp_path: Path):
    with pytest.raises(MigrationError, match="migrations directory not found"):
        discover(tmp_path / "nope")
    (tmp_path / "file").write_text("")
    with pytest.raises(MigrationError, match="is not a directory"):
        discover(tmp_path / "file")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(MigrationError, match="is not a directory"):
        discover(tmp_path / "fifo")


def test_create_makes_a_utc_timestamped_snake_case_folder_and_never_overwrites(tmp_path: Path):
    from datetime import datetime, timezone

    now = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    path = create(tmp_path / "migrations", "Add memoriesIndex!", now=now)
    assert path == tmp_path / "migrations" / "20250304050607_add_memories_index" / "migration.sql"
    assert path.read_text().startswith("-- ")
    with pytest.raises(MigrationError, match="already exists"):
        create(tmp_path / "migrations", "add memories index", now=now)
    assert snake_case("  Hello-World 2 ") == "hello_world_2"
