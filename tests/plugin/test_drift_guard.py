"""The `migration_edit[...]` guard items in a temporary git repository, as a pre-push hook runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

INIT = (
    "-- the first migration\n"
    'CREATE TABLE "memories" ("id" UUID PRIMARY KEY, "content" TEXT NOT NULL, "embedding" vector(384));\n'
)
INDEX = (
    'CREATE INDEX IF NOT EXISTS "idx_memories_embedding"\n'
    '    ON "memories" USING ivfflat ("embedding" vector_cosine_ops) WITH (lists = 50);\n'
)
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True,
                          text=True, check=True)
    return done.stdout


def migration(root: Path, name: str) -> Path:
    return root / "migrations" / name / "migration.sql"


def write(root: Path, name: str, sql: str) -> None:
    path = migration(root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    """A git checkout on `main` with two committed migrations and a manifest."""
    root = pytester.path
    (root / "ci.yml").write_text("migrations:\n  dir: migrations\n")
    write(root, "20250101000000_init", INIT)
    write(root, "20250102000000_index", INDEX)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial schema")
    return root


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "pytest_tzurot", "ci.yml", "-p", "no:cacheprovider",
                              "-k", "migration_edit", "-rs", *args)


def test_unchanged_migrations_pass(pytester: pytest.Pytester, project: Path) -> None:
    result = run(pytester, "-v")
    result.stdout.fnmatch_lines(["*migration_edit[[]20250101000000_init[]] PASSED*",
                                 "*migration_edit[[]20250102000000_index[]] PASSED*"])
    assert result.ret == 0
    assert "migration edits:" not in result.stdout.str()


def test_cosmetic_edit_passes_with_a_note(pytester: pytest.Pytester, project: Path) -> None:
    write(project, "20250102000000_index",
          "-- reformatted\ncreate index if not exists idx_memories_embedding on memories\n"
          "using ivfflat (embedding vector_cosine_ops)\nwith (lists = 50)\r\n")
    result = run(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "migration edits:",
        "*20250102000000_index: cosmetic edit since main (*)*`tzurot drift fix 20250102000000_index`",
    ])


def test_semantic_edit_committed_on_a_branch_fails(pytester: pytest.Pytester, project: Path) -> None:
    git(project, "checkout", "-q", "-b", "feature")
    write(project, "20250102000000_index", INDEX.replace("lists = 50", "lists = 100"))
    write(project, "20250103000000_new", "ALTER TABLE memories ADD COLUMN note text;\n")
    git(project, "commit", "-q", "-am", "tune the index")
    result = run(pytester, "-v")
    assert result.ret == 1
    out = result.stdout.str()
    assert "migration_edit[20250103000000_new]" not in out  # new on the branch: not applied anywhere yet
    result.stdout.fnmatch_lines([
        "*migration_edit[[]20250101000000_init[]] PASSED*",
        "*migration_edit[[]20250102000000_index[]] FAILED*",
    ])
    assert "20250102000000_index: migrations/20250102000000_index/migration.sql changed since main" in out
    assert "statement 1 differs" in out and "WITH (lists = 50)" in out and "WITH (lists = 100)" in out
    assert "add a new migration instead" in out
    assert "Traceback" not in out


def test_deleted_migration_fails(pytester: pytest.Pytester, project: Path) -> None:
    migration(project, "20250102000000_index").unlink()
    result = run(pytester)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*20250102000000_index: migrations/20250102000000_index/migration.sql was "
                                 "deleted since main*Restore it*"])


def test_renamed_migration_fails(pytester: pytest.Pytester, project: Path) -> None:
    old = migration(project, "20250102000000_index").parent
    old.rename(old.with_name("20250102000000_vector_index"))
    result = run(pytester)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*20250102000000_index: renamed to 20250102000000_vector_index since main*"
                                 "restore the original name*"])


def test_explicit_base_ref(pytester: pytest.Pytester, project: Path) -> None:
    write(project, "20250101000000_init", INIT.replace("TEXT NOT NULL", "VARCHAR(200) NOT NULL"))
    git(project, "commit", "-q", "-am", "edit on main")
    assert run(pytester).ret == 0  # on main the base is HEAD: the committed edit is the baseline
    result = run(pytester, "--tzurot-base-ref", "HEAD~1")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*20250101000000_init:*changed since HEAD~1*statement 1 differs*"])
    bad = run(pytester, "--tzurot-base-ref", "no-such-ref")
    assert bad.ret == 1
    bad.stdout.fnmatch_lines(["*--tzurot-base-ref 'no-such-ref' names no commit*"])


def test_no_migrations_at_the_base_ref_is_one_passing_item(pytester: pytest.Pytester) -> None:
    root = pytester.path
    (root / "ci.yml").write_text("migrations:\n  dir: migrations\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "ci.yml")
    git(root, "commit", "-q", "-m", "manifest only")
    write(root, "20250101000000_init", INIT)  # the first migration, not committed yet
    result = run(pytester, "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "*migration_edit[[]none-at-base[]] PASSED*",
        "migration edits:",
        "*no migrations under migrations at main (*): nothing applied to protect yet",
    ])


def test_outside_a_git_checkout_one_item_is_skipped(pytester: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (pytester.path / "ci.yml").write_text("migrations:\n  dir: migrations\n")
    write(pytester.path, "20250101000000_init", INIT)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(pytester.path.parent))
    result = run(pytester, "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*migration_edit[[]no-git[]] SKIPPED*", "*is not in a git checkout*"])
