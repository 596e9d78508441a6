"""`tzurot hooks install` and the pre-push hook it writes, in throwaway git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tzurot.cli import main

REPO = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository holding the example schema and its manifest (without the search section)."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "migrations", root / "migrations")
    manifest = (REPO / "ci.yml").read_text().split("\nsearch:")[0]
    (root / "ci.yml").write_text(manifest)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "init")
    monkeypatch.chdir(root)
    return root


def _push(repo: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed pre-push hook as git would for a push to origin (not under Actions)."""
    return subprocess.run([str(_hook(repo)), "origin", "x"], cwd=repo, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, "GITHUB_ACTIONS": ""})


def _hook(root: Path) -> Path:
    return root / ".git" / "hooks" / "pre-push"


def test_install_writes_an_executable_hook_running_lint_and_drift_guard(repo, capsys):
    assert main(["hooks", "install"]) == 0
    hook = _hook(repo)
    text = hook.read_text()
    assert os.access(hook, os.X_OK)
    assert text.startswith("#!/bin/sh\n")
    assert "-m pytest_tzurot lint --config ci.yml" in text
    assert "-m pytest -p pytest_tzurot ci.yml -q -k migration_edit" in text
    assert sys.executable in text
    assert "installed .git/hooks/pre-push" in capsys.readouterr().out
    # installing again updates our own hook
    assert main(["hooks", "install"]) == 0


def test_an_existing_hook_is_kept_unless_force(repo, capsys):
    hook = _hook(repo)
    hook.write_text("#!/bin/sh\necho mine\n")
    assert main(["hooks", "install"]) == 2
    err = capsys.readouterr().err
    assert "already exists; not replacing it (rerun with --force" in err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert main(["hooks", "install", "--force"]) == 0
    assert "tzurot pre-push hook" in hook.read_text()
    assert (hook.parent / "pre-push.tzurot-backup").read_text() == "#!/bin/sh\necho mine\n"


def test_errors_exit_2(tmp_path, monkeypatch, capsys, repo):
    assert main(["hooks", "install", "--config", "nope.yml"]) == 2
    assert "nope.yml: manifest not found" in capsys.readouterr().err
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert main(["hooks", "install"]) == 2
    assert "not inside a git work tree" in capsys.readouterr().err


def test_the_hook_blocks_a_push_that_drops_the_protected_index_and_passes_a_clean_one(repo):
    assert main(["hooks", "install"]) == 0
    bad = repo / "migrations" / "20250103000000_drop" / "migration.sql"
    bad.parent.mkdir()
    bad.write_text('DROP INDEX "idx_memories_embedding";\n')
    blocked = _push(repo)
    assert blocked.returncode == 1
    assert "TZ001" in blocked.stdout
    assert "push blocked" in blocked.stderr
    bad.write_text(
        'DROP INDEX IF EXISTS "idx_memories_embedding";\n'
        "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories USING ivfflat "
        "(embedding vector_cosine_ops) WITH (lists = 50);\n"
    )
    passed = _push(repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "drift guard" in passed.stderr
